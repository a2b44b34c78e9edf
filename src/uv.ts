/**
 * Resolution for other targets with uv: `uv pip compile --python-platform
 * <triple> --python-version <X.Y.Z>` evaluates markers for the target (pip,
 * given `--platform`, evaluates them for this machine) and writes a PEP 751
 * lock of the files that fit it. pyseal takes from each package the wheel an
 * installer on the target would choose (uv lists every compatible one).
 *
 * uv runs hermetic: `--no-config`, every `UV_*` variable removed, its cache
 * inside pyseal's build cache, wheels only, the macOS floor set explicitly
 * (it changes which wheels, even which versions, macOS targets get).
 */
import { basename, join } from 'node:path';

import { parse as parseToml } from 'smol-toml';

import { checkFileName, checkSha256 } from './artifact.js';
import { redact, redactAll, stripCredentials } from './credentials.js';
import { UserError } from './errors.js';
import { type Artifact, DEFAULT_INDEX, type IndexOptions, indexProbe } from './pip.js';
import { runCaptured } from './process.js';
import { pickWheel } from './lock.js';
import { abiTag, normalizeName, type PythonVersion } from './tags.js';
import type { Target } from './targets/index.js';

export interface UvRequest {
  /** The uv program. */
  uv: string;
  /** Any runnable CPython of this machine: uv insists on one, though it builds nothing. */
  hostPython: string;
  target: Target;
  /** The target distribution's full version (`3.12.8`: markers see the patch level). */
  python: PythonVersion & { version: string };
  /** Requirement lines: the app's own wheel (a path), `--from` requirements. */
  requirements: string[];
  requirementFiles: string[];
  index: IndexOptions;
  /** uv's cache, inside pyseal's build cache. */
  cacheDir: string;
  /** Working directory (relative paths in requirements). */
  cwd: string;
}

/** Runs uv's resolver and returns the chosen wheel of every package (the app's own excluded). */
export async function resolveWithUv(req: UvRequest): Promise<Artifact[]> {
  const args = ['--no-config', 'pip', 'compile', '-', '--python', req.hostPython, '--no-python-downloads'];
  args.push('--python-platform', req.target.triple, '--python-version', req.python.version, '--only-binary', ':all:');
  args.push('--format', 'pylock.toml', '--no-header', '--no-progress', '--color', 'never', '--quiet', '--cache-dir', req.cacheDir);
  const indexUrl = req.index.indexUrl ?? process.env.PIP_INDEX_URL;
  if (req.index.noIndex) args.push('--no-index');
  else if (indexUrl) args.push('--index-url', indexUrl);
  for (const url of req.index.extraIndexUrls) args.push('--extra-index-url', url);
  for (const link of req.index.findLinks) args.push('--find-links', link);
  for (const file of req.requirementFiles) args.push('-r', file);
  const env: NodeJS.ProcessEnv = {};
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('UV_') || ['MACOSX_DEPLOYMENT_TARGET', 'IPHONEOS_DEPLOYMENT_TARGET', 'ANDROID_API_LEVEL', 'VIRTUAL_ENV', 'CONDA_PREFIX', 'RUST_LOG', 'NO_COLOR', 'FORCE_COLOR'].includes(name)) env[name] = undefined;
  }
  if (req.target.floors.macos) env.MACOSX_DEPLOYMENT_TARGET = req.target.floors.macos.join('.');
  // One retry: an unreachable index should fail in seconds, not tens of them.
  env.UV_HTTP_RETRIES = '1';
  const r = await runCaptured(req.uv, args, {
    cwd: req.cwd,
    env,
    input: `${req.requirements.join('\n')}\n`,
    cannotStart: (err) => new UserError(`cannot run uv (${req.uv}): ${err.message}`, 'remove it from pyseal\'s tools directory to fetch it again, or set PYSEAL_UV'),
  });
  if (r.code !== 0) throw await diagnose(r.code, r.output, req);
  return artifactsOf(r.stdout, req);
}

/** The chosen wheel of each package of uv's lock; the app's own (`archive.path`) is skipped. */
function artifactsOf(lock: string, req: UvRequest): Artifact[] {
  const doc = parseToml(lock) as { packages?: Record<string, unknown>[] };
  const requested = new Set(req.requirements.map((r) => /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(r)?.[1]).filter(Boolean).map((n) => normalizeName(n!)));
  const tags = req.target.platformTags(false);
  const artifacts: Artifact[] = [];
  for (const p of doc.packages ?? []) {
    if (p.archive || p.directory) continue; // the app's own wheel, or a local project
    const name = String(p.name);
    const wheels = ((p.wheels ?? []) as { url?: string; path?: string; hashes?: { sha256?: string } }[]).map((w) => {
      const url = stripCredentials(w.url ?? `file://${w.path}`);
      const filename = checkFileName(decodeURIComponent(basename(new URL(url).pathname)), 'uv\'s resolution');
      return { url, filename, sha256: checkSha256(w.hashes?.sha256 ?? '', `the sha256 uv gave for ${filename}`) };
    });
    const wheel = pickWheel(wheels, req.python, tags);
    if (!wheel) {
      throw new UserError(
        `${name} ${String(p.version)} has no wheel for CPython ${req.python.major}.${req.python.minor} on ${req.target.triple}`,
        wheels.length ? `its wheels there: ${wheels.map((w) => w.filename).join(', ')}` : undefined,
      );
    }
    artifacts.push({ name: normalizeName(name), version: String(p.version), kind: 'wheel', ...wheel, requested: requested.has(normalizeName(name)) });
  }
  return artifacts;
}

/**
 * One line for a failed resolution. Exit 1 is "no solution": the package that
 * has no wheel for the target, or that no index has, is looked up on the
 * index, so the message names its files; exit 2 is the network or the index.
 */
async function diagnose(code: number | null, output: string, req: UvRequest): Promise<UserError> {
  const text = redactAll(output);
  const target = `CPython ${req.python.major}.${req.python.minor} (${abiTag(req.python)}) on ${req.target.triple} (${req.target.platformTags(false).slice(0, 2).join(', ')}, ...)`;
  const noWheel = /Because (?:all versions of )?([A-Za-z0-9._-]+?)(?:[=<>!~][^ ]*)? has no (?:usable wheels|wheels with a matching)/.exec(text);
  const missing = /Because ([A-Za-z0-9._-]+) was not found in the (?:package registry|provided package locations)/.exec(text);
  const noVersion = /Because there (?:is|are) no versions? of ([A-Za-z0-9._-]+)([^ ,]*)/.exec(text);
  const unauthorized = /could not be queried due to a lack of valid authentication credentials/.exec(text);
  if (unauthorized) {
    return new UserError(`the package index wants credentials: ${lastCause(text)}`, 'put the user and password in the index URL (https://user:pass@host/simple) or in ~/.netrc');
  }
  if (noWheel?.[1] || missing?.[1]) {
    const name = (noWheel?.[1] ?? missing?.[1])!;
    const probe = await indexProbe(name, req.index);
    if (probe.kind === 'found') {
      const wheels = probe.files.filter((f) => f.endsWith('.whl'));
      return new UserError(
        `${name} has no wheel for ${target}`,
        wheels.length ? `its wheels: ${wheels.slice(0, 6).join(', ')}${wheels.length > 6 ? ', ...' : ''}` : 'it publishes no wheels at all, only sources, and pyseal builds sources only for this machine',
      );
    }
    if (probe.kind === 'unknown') return new UserError(`no package named ${name} on ${probe.urls.map(redact).join(' or ')}`, 'check the name, or add the index that has it with --index-url / --extra-index-url / --find-links');
    if (probe.kind === 'denied') return new UserError(`the package index ${redact(probe.url)} wants credentials (HTTP ${probe.status})`, 'put the user and password in the index URL or in ~/.netrc');
    return new UserError(`cannot reach the package index ${redact(probe.url)}: ${probe.detail}`, 'check --index-url / --extra-index-url, or the HTTPS_PROXY / NO_PROXY settings');
  }
  if (noVersion?.[1]) {
    return new UserError(`no version of ${noVersion[1]} satisfies ${noVersion[1]}${noVersion[2] ?? ''} for ${target}`, 'relax the version constraint, or pick another --python');
  }
  if (code === 2) {
    const index = redact(req.index.indexUrl ?? process.env.PIP_INDEX_URL ?? DEFAULT_INDEX);
    return new UserError(`resolving the dependencies for ${req.target.triple} failed: ${lastCause(text)}`, `check the index (${index}), the network, or the HTTPS_PROXY / NO_PROXY settings`);
  }
  return new UserError(`resolving the dependencies for ${req.target.triple} failed: ${lastCause(text)}`, "run again with PYSEAL_DEBUG=1 to see uv's output");
}

/** uv's most specific line: the last `cause:`, else the `error:` line. */
function lastCause(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const cause = lines.filter((l) => l.startsWith('cause:') || l.startsWith('Caused by:')).at(-1);
  const line = cause ?? lines.find((l) => l.startsWith('error:')) ?? lines.at(-1) ?? 'uv failed without saying why';
  return line.replace(/^(cause:|Caused by:|error:)\s*/, '').slice(0, 300);
}

/** uv's cache directory inside a build cache. */
export function uvCacheDir(buildCacheRoot: string): string {
  return join(buildCacheRoot, 'uv');
}
