/**
 * Lock files. pyseal writes the exact set a build used, per app and target, as
 * a PEP 751 `pylock.<app>-<target>.toml` beside the project, and reuses it while
 * the inputs it was resolved from are unchanged. It also reads a user's own
 * `pylock.toml` or `uv.lock` as the source of the dependency set: choosing,
 * by markers and wheel tags, what the target needs from a lock made for many
 * platforms. Neither is resolving; both only select.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { parse as parseToml, stringify as stringifyToml, TomlError } from 'smol-toml';

import { checkFileName, checkSha256 } from './artifact.js';
import { stripCredentials } from './credentials.js';
import { UserError } from './errors.js';
import { evaluateMarker, type MarkerEnvironment, parseMarker } from './markers.js';
import type { Artifact } from './pip.js';
import { normalizeName, parseWheelName, type PythonVersion, wheelRank } from './tags.js';
import type { Target } from './targets/index.js';
import { VERSION } from './version.js';

/** Bumped when pyseal's own use of the lock changes meaning. */
export const LOCK_FORMAT = 1;

export interface OwnLock {
  target: string;
  python: string;
  /** Hash of everything the set was resolved from; a different hash means stale. */
  inputs: string;
  artifacts: Artifact[];
}

export function lockPath(projectDir: string, app: string, target: Target): string {
  return join(projectDir, `pylock.${normalizeName(app)}-${target.triple}.toml`);
}

type Table = Record<string, unknown>;

async function readToml(path: string): Promise<Table> {
  try {
    return parseToml(await readFile(path, 'utf8')) as Table;
  } catch (err) {
    if (err instanceof TomlError) throw new UserError(`cannot parse ${path}: line ${err.line}: ${err.message.split('\n')[0]}`);
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** pyseal's lock for this app and target, if it exists and is pyseal's. */
export async function readOwnLock(path: string): Promise<OwnLock | undefined> {
  if (!existsSync(path)) return undefined;
  const doc = await readToml(path);
  const tool = ((doc.tool as Table | undefined)?.pyseal ?? {}) as Table;
  if (tool.format !== LOCK_FORMAT || typeof tool.inputs !== 'string') return undefined;
  const artifacts: Artifact[] = [];
  for (const p of (doc.packages ?? []) as Table[]) {
    const file = ((p.wheels as Table[] | undefined)?.[0] ?? p.sdist) as Table | undefined;
    if (!file) continue;
    const sha256 = ((file.hashes ?? {}) as Table).sha256;
    if (typeof file.url !== 'string' || typeof sha256 !== 'string') continue;
    const filename = checkFileName(typeof file.name === 'string' ? file.name : decodeURIComponent(basename(new URL(file.url).pathname)), path);
    artifacts.push({
      name: String(p.name),
      version: String(p.version),
      kind: p.wheels ? 'wheel' : 'sdist',
      url: stripCredentials(file.url),
      sha256: checkSha256(sha256, `the sha256 of ${filename} in ${path}`),
      filename,
      requested: tool.requested instanceof Array && tool.requested.includes(p.name),
    });
  }
  return { target: String(tool.target), python: String(tool.python), inputs: tool.inputs, artifacts };
}

/** Writes pyseal's lock (temp file, then rename). */
export async function writeOwnLock(path: string, lock: OwnLock, env: MarkerEnvironment): Promise<void> {
  const packages = [...lock.artifacts]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((a) => {
      const file = { name: a.filename, url: stripCredentials(a.url), hashes: { sha256: a.sha256 } };
      return { name: a.name, version: a.version, ...(a.kind === 'wheel' ? { wheels: [file] } : { sdist: file }) };
    });
  const doc = {
    'lock-version': '1.0',
    environments: [`sys_platform == '${env.sys_platform}' and platform_machine == '${env.platform_machine}'`],
    'requires-python': `==${lock.python}`,
    'created-by': 'pyseal',
    packages,
    tool: {
      pyseal: {
        format: LOCK_FORMAT,
        'pyseal-version': VERSION,
        target: lock.target,
        python: lock.python,
        inputs: lock.inputs,
        requested: lock.artifacts.filter((a) => a.requested).map((a) => a.name).sort(),
      },
    },
  };
  const header = '# Written by pyseal: the exact set of files a build used. Rebuilds reuse it;\n# `pyseal build --upgrade` resolves again.\n';
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, header + stringifyToml(doc) + '\n');
  await rename(tmp, path);
}

export interface Selection {
  env: MarkerEnvironment;
  target: Target;
  python: PythonVersion & { version: string };
  host: boolean;
}

/** The best wheel of a package for the target (as an installer would pick it), or undefined. */
export function pickWheel<F extends { filename: string }>(files: F[], python: PythonVersion, platformTags: readonly string[]): F | undefined {
  const ranked = files.map((f) => {
    const w = parseWheelName(f.filename);
    return { f, r: w ? wheelRank(w, python, platformTags) : undefined };
  });
  return ranked.filter((x) => x.r !== undefined).sort((a, b) => a.r! - b.r!)[0]?.f;
}

function fileOf(t: Table, lockFile: string, hashKey: 'pylock' | 'uv'): { url: string; sha256: string; filename: string } {
  const url = typeof t.url === 'string' ? t.url : typeof t.path === 'string' ? new URL(`file://${join(lockFile, '..', t.path)}`).href : undefined;
  let sha256: string | undefined;
  if (hashKey === 'pylock') sha256 = ((t.hashes ?? {}) as Table).sha256 as string | undefined;
  else if (typeof t.hash === 'string' && t.hash.startsWith('sha256:')) sha256 = t.hash.slice(7);
  if (!url || !sha256) throw new UserError(`${lockFile} lists a file without a URL and sha256 (${JSON.stringify(t).slice(0, 120)})`, 'pyseal needs every locked file pinned by sha256');
  const filename = checkFileName(typeof t.name === 'string' ? t.name : decodeURIComponent(basename(new URL(url).pathname)), lockFile);
  return { url: stripCredentials(url), sha256: checkSha256(sha256, `the sha256 of ${filename} in ${lockFile}`), filename };
}

function choose(name: string, version: string, wheels: ReturnType<typeof fileOf>[], sdist: ReturnType<typeof fileOf> | undefined, sel: Selection, lockFile: string): Artifact {
  const wheel = pickWheel(wheels, sel.python, sel.target.platformTags(sel.host));
  if (wheel) return { name: normalizeName(name), version, kind: 'wheel', ...wheel, requested: false };
  if (sdist && sel.host) return { name: normalizeName(name), version, kind: 'sdist', ...sdist, requested: false };
  throw new UserError(
    `${lockFile} has no wheel of ${name} ${version} for CPython ${sel.python.major}.${sel.python.minor} on ${sel.target.triple} (${sel.target.platformTags(sel.host).slice(0, 2).join(', ')}, ...)`,
    sdist ? 'only its sdist is locked, and sdists are built only for the host target' : 'lock for this platform too, or pick another --target',
  );
}

/** The packages of a PEP 751 lock that the target needs. */
export async function selectFromPylock(path: string, sel: Selection): Promise<{ artifacts: Artifact[]; directories: string[] }> {
  const doc = await readToml(path);
  const version = String(doc['lock-version'] ?? '');
  if (!/^1(\.|$)/.test(version)) throw new UserError(`${path} has lock-version ${JSON.stringify(version)}; pyseal reads PEP 751 version 1 locks`);
  const artifacts: Artifact[] = [];
  const directories: string[] = [];
  for (const p of (doc.packages ?? []) as Table[]) {
    const name = String(p.name);
    if (typeof p.marker === 'string' && !evaluateMarker(parseMarker(p.marker), sel.env)) continue;
    if (p.directory) {
      directories.push(join(path, '..', String((p.directory as Table).path)));
      continue;
    }
    if (p.vcs) throw new UserError(`${path} locks ${name} from version control, which pyseal cannot pin by hash`, 'lock a wheel or sdist of it instead');
    const wheels = ((p.wheels ?? []) as Table[]).map((w) => fileOf(w, path, 'pylock'));
    if (p.archive) wheels.push(fileOf(p.archive as Table, path, 'pylock'));
    const sdist = p.sdist ? fileOf(p.sdist as Table, path, 'pylock') : undefined;
    artifacts.push(choose(name, String(p.version ?? ''), wheels, sdist, sel, path));
  }
  return { artifacts, directories };
}

/**
 * The packages of a uv.lock that `project` (with `extras`) needs on the target:
 * its dependency edges followed from the project, markers evaluated.
 */
export async function selectFromUvLock(path: string, project: string, extras: string[], sel: Selection): Promise<{ artifacts: Artifact[]; directories: string[] }> {
  const doc = await readToml(path);
  const packages = (doc.package ?? []) as Table[];
  const byName = new Map<string, Table[]>();
  for (const p of packages) byName.set(normalizeName(String(p.name)), [...(byName.get(normalizeName(String(p.name))) ?? []), p]);
  const root = byName.get(normalizeName(project))?.[0];
  if (!root) throw new UserError(`${path} has no package named ${project}`, 'run `uv lock` in the project, or pass the right project directory');

  const find = (edge: Table): Table => {
    const candidates = byName.get(normalizeName(String(edge.name))) ?? [];
    const chosen =
      candidates.find((c) => edge.version !== undefined && c.version === edge.version) ??
      candidates.find((c) => !Array.isArray(c['resolution-markers']) || (c['resolution-markers'] as string[]).some((m) => evaluateMarker(parseMarker(m), sel.env))) ??
      candidates[0];
    if (!chosen) throw new UserError(`${path} names ${String(edge.name)} as a dependency but does not lock it`, 'run `uv lock` again');
    return chosen;
  };
  const seen = new Map<Table, Set<string>>();
  const queue: [Table, string[]][] = [[root, extras]];
  while (queue.length) {
    const [pkg, wanted] = queue.shift()!;
    const had = seen.get(pkg) ?? new Set<string>();
    const fresh = wanted.filter((e) => !had.has(e));
    if (seen.has(pkg) && fresh.length === 0) continue;
    const firstVisit = !seen.has(pkg);
    fresh.forEach((e) => had.add(e));
    seen.set(pkg, had);
    const edges: Table[] = firstVisit ? [...((pkg.dependencies ?? []) as Table[])] : [];
    const optional = (pkg['optional-dependencies'] ?? {}) as Record<string, Table[]>;
    for (const extra of fresh) edges.push(...(optional[extra] ?? []));
    for (const edge of edges) {
      if (typeof edge.marker === 'string' && !evaluateMarker(parseMarker(edge.marker), sel.env)) continue;
      queue.push([find(edge), (edge.extra as string[] | undefined) ?? []]);
    }
  }
  const artifacts: Artifact[] = [];
  const directories: string[] = [];
  for (const pkg of seen.keys()) {
    if (pkg === root) continue;
    const source = (pkg.source ?? {}) as Table;
    const name = String(pkg.name);
    if (source.git) throw new UserError(`${path} locks ${name} from git, which pyseal cannot pin by hash`, 'depend on a published version instead');
    const local = source.editable ?? source.directory ?? source.path ?? source.virtual;
    if (typeof local === 'string' && !pkg.wheels && !pkg.sdist) {
      if (!source.virtual) directories.push(join(path, '..', local));
      continue;
    }
    const wheels = ((pkg.wheels ?? []) as Table[]).map((w) => fileOf(w, path, 'uv'));
    const sdist = pkg.sdist ? fileOf(pkg.sdist as Table, path, 'uv') : undefined;
    artifacts.push(choose(name, String(pkg.version), wheels, sdist, sel, path));
  }
  return { artifacts, directories };
}
