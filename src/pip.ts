/**
 * Resolution through the distribution's own pip (`pip install --dry-run
 * --report`): pyseal does not resolve anything itself. The report names every
 * artifact pip chose, with its URL and sha256; pyseal downloads, verifies and
 * locks them.
 *
 * For the host target pip runs as on the user's machine, so markers are right
 * and sdists may be built; a `_manylinux` module (PEP 600) keeps its wheel
 * choice within the target's manylinux floor. For other targets pip is told the
 * target's tags (`--platform`, `--python-version`, `--abi`, `--only-binary`);
 * markers are then still those of this machine, a pip limitation.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { UserError } from './errors.js';
import { checkFileName, checkSha256 } from './artifact.js';
import { Credentials, redact, redactAll, stripCredentials } from './credentials.js';
import { downloadError, fetchText } from './fetch.js';
import { CLEAN_PYTHON_ENV, runCaptured } from './process.js';
import { abiTag, normalizeName, type PythonVersion } from './tags.js';
import type { Target } from './targets/index.js';

export interface IndexOptions {
  indexUrl?: string;
  extraIndexUrls: string[];
  findLinks: string[];
  /** Only --find-links locations, no index at all. */
  noIndex: boolean;
}

export const DEFAULT_INDEX = 'https://pypi.org/simple';

/** One artifact pip chose. */
export interface Artifact {
  /** PEP 503-normalized project name. */
  name: string;
  version: string;
  kind: 'wheel' | 'sdist';
  url: string;
  sha256: string;
  filename: string;
  /** Named on pip's command line (rather than pulled in as a dependency). */
  requested: boolean;
}

export interface ResolveRequest {
  python: string;
  version: PythonVersion;
  target: Target;
  /** The target is this machine: resolve as pip would here, sdists allowed. */
  host: boolean;
  requirements: string[];
  requirementFiles: string[];
  index: IndexOptions;
  /** Wheels only, even on the host (build requirements). */
  binaryOnly?: boolean;
  /** Working directory for relative paths in requirements. */
  cwd: string;
}

interface ReportItem {
  download_info: { url: string; archive_info?: { hash?: string; hashes?: Record<string, string> }; dir_info?: unknown; vcs_info?: unknown };
  requested?: boolean;
  is_direct?: boolean;
  metadata: { name: string; version: string };
}

/** Runs pip's resolver and returns what it would install. */
export async function resolveWithPip(req: ResolveRequest): Promise<Artifact[]> {
  const work = await mkdtemp(join(tmpdir(), 'pyseal-pip-'));
  try {
    const report = join(work, 'report.json');
    const args = ['-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--quiet', '--no-input', '--disable-pip-version-check', '--no-color', '--retries', '1', '--timeout', '15', '--report', report];
    args.push(...indexArgs(req.index));
    const env: NodeJS.ProcessEnv = { ...CLEAN_PYTHON_ENV };
    if (process.env.SSL_CERT_FILE && !process.env.PIP_CERT) env.PIP_CERT = process.env.SSL_CERT_FILE;
    if (req.host) {
      const floor = manylinuxFloor(req.target);
      if (floor !== undefined) {
        await writeFile(join(work, '_manylinux.py'), `def manylinux_compatible(major, minor, arch):\n    return (major, minor) <= (2, ${floor})\n`);
        env.PYTHONPATH = work;
      }
      if (req.binaryOnly) args.push('--only-binary', ':all:');
      else args.push('--prefer-binary');
    } else {
      // A free-threaded CPython has no stable ABI: abi3 wheels do not load there.
      const abis = [abiTag(req.version), ...(req.version.freethreaded ? [] : ['abi3']), 'none'];
      args.push('--only-binary', ':all:', '--implementation', 'cp', '--python-version', `${req.version.major}.${req.version.minor}`, ...abis.flatMap((a) => ['--abi', a]));
      for (const tag of req.target.platformTags(false)) args.push('--platform', tag);
    }
    for (const file of req.requirementFiles) args.push('-r', file);
    args.push(...req.requirements);
    const result = await runCaptured(req.python, args, {
      cwd: req.cwd,
      env,
      cannotStart: (err) => new UserError(`cannot run pip with ${req.python}: ${err.message}`, "the Python distribution must include pip, as python-build-standalone's do"),
    });
    if (result.code !== 0) throw await diagnose(result.output, req);
    const parsed = JSON.parse(await readFile(report, 'utf8')) as { install: ReportItem[] };
    return parsed.install.map((item) => artifactOf(item));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function indexArgs(index: IndexOptions): string[] {
  const args: string[] = [];
  if (index.noIndex) args.push('--no-index');
  else if (index.indexUrl) args.push('--index-url', index.indexUrl);
  for (const url of index.extraIndexUrls) args.push('--extra-index-url', url);
  for (const link of index.findLinks) args.push('--find-links', link);
  return args;
}

/** The newest glibc minor version the target's manylinux tags allow. */
function manylinuxFloor(target: Target): number | undefined {
  const minors = target.platformTags(false).map((t) => /^manylinux_2_(\d+)_/.exec(t)?.[1]).filter((m): m is string => m !== undefined);
  return minors.length ? Math.max(...minors.map(Number)) : undefined;
}

function artifactOf(item: ReportItem): Artifact {
  const info = item.download_info;
  const name = normalizeName(item.metadata.name);
  // Credentials never go into a lock or an executable; downloads get them
  // from the index settings (pip's report shows them as `****` anyway).
  const url = stripCredentials(info.url);
  if (info.vcs_info || info.dir_info) {
    throw new UserError(
      `${item.metadata.name} comes from ${url}, a ${info.vcs_info ? 'version control' : 'directory'} requirement pyseal cannot lock by hash`,
      'build a wheel of it first and pass it with --wheel, or publish it to an index',
    );
  }
  const hashes = info.archive_info?.hashes ?? {};
  const sha256 = hashes.sha256 ?? (info.archive_info?.hash?.startsWith('sha256=') ? info.archive_info.hash.slice(7) : undefined);
  const filename = checkFileName(decodeURIComponent(new URL(url).pathname.split('/').pop() ?? ''), url);
  return {
    name,
    version: item.metadata.version,
    kind: filename.endsWith('.whl') ? 'wheel' : 'sdist',
    url,
    sha256: sha256 === undefined ? '' : checkSha256(sha256, `the sha256 pip reported for ${url}`),
    filename,
    requested: Boolean(item.requested),
  };
}

/**
 * Turns pip's failure into one line. When pip could not find a package, the
 * index is asked directly, to tell "unknown", "unreachable" and "no wheel for
 * this target" apart.
 */
async function diagnose(output: string, req: ResolveRequest): Promise<UserError> {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('ERROR:')).map((l) => l.slice(6).trim());
  const notFound = /Could not find a version that satisfies the requirement (\S+)(?: \(from versions: ([^)]*)\))?/.exec(output);
  if (notFound) {
    const requirement = notFound[1]!;
    const versions = notFound[2]?.trim();
    const name = /^[A-Za-z0-9._-]+/.exec(requirement)?.[0] ?? requirement;
    const found = await indexProbe(name, req.index);
    if (found.kind === 'unreachable') {
      return new UserError(`cannot reach the package index ${redact(found.url)}: ${found.detail}`, 'check --index-url / --extra-index-url, or the HTTPS_PROXY / NO_PROXY settings');
    }
    if (found.kind === 'denied') {
      return new UserError(`the package index ${redact(found.url)} wants credentials (HTTP ${found.status})`, 'put the user and password in the index URL (https://user:pass@host/simple) or in ~/.netrc');
    }
    if (found.kind === 'unknown') {
      return new UserError(`no package named ${name} on ${found.urls.map(redact).join(' or ')}`, 'check the name, or add the index that has it with --index-url / --extra-index-url / --find-links');
    }
    const tags = req.host ? `this machine's tags up to the target's floor (${req.target.platformTags(false)[0]})` : `${abiTag(req.version)} on ${req.target.platformTags(false).slice(0, 2).join(', ')}, ...`;
    if (!versions || versions === 'none') {
      return new UserError(
        `${name} has no ${req.host && !req.binaryOnly ? 'wheel or sdist' : 'wheel'} for CPython ${req.version.major}.${req.version.minor} on ${req.target.triple} (${tags})`,
        found.files.length ? `its files include: ${found.files.slice(0, 4).join(', ')}` : undefined,
      );
    }
    return new UserError(`no version of ${name} satisfies ${requirement} for CPython ${req.version.major}.${req.version.minor} on ${req.target.triple} (available: ${versions})`, 'relax the version constraint, or pick another --python');
  }
  const conflict = lines.find((l) => /conflict|ResolutionImpossible/i.test(l));
  if (conflict) {
    const detail = lines.filter((l) => /depends on|requested/.test(l)).slice(0, 3).join('; ');
    return new UserError(`the requirements conflict: ${redactAll(detail || conflict)}`, 'loosen the version constraints that disagree');
  }
  const message = redactAll(errors.at(-1) ?? lines.at(-1) ?? 'pip failed without saying why');
  return new UserError(`resolving the dependencies failed: ${message}`, 'run again with PYSEAL_DEBUG=1 to see pip\'s output');
}

export type Probe =
  | { kind: 'found'; files: string[] }
  | { kind: 'unknown'; urls: string[] }
  | { kind: 'unreachable'; url: string; detail: string }
  | { kind: 'denied'; url: string; status: number };

/** Looks the project up on each index (PEP 691 JSON or PEP 503 HTML), to tell "unknown", "unreachable" and "no fitting file" apart. */
export async function indexProbe(name: string, index: IndexOptions): Promise<Probe> {
  if (index.noIndex) return { kind: 'unknown', urls: index.findLinks.length ? index.findLinks : ['the --find-links locations'] };
  const indexes = [index.indexUrl ?? process.env.PIP_INDEX_URL ?? DEFAULT_INDEX, ...index.extraIndexUrls];
  const credentials = Credentials.from(index);
  for (const base of indexes) {
    const url = `${base.replace(/\/+$/, '')}/${normalizeName(name)}/`;
    try {
      const res = await fetchText(url, { accept: 'application/vnd.pypi.simple.v1+json, text/html;q=0.1', attempts: 1, credentials });
      if (res.status === 401 || res.status === 403) return { kind: 'denied', url: base, status: res.status };
      if (res.status === 200) {
        const files = res.contentType.includes('json')
          ? ((JSON.parse(res.text) as { files?: { filename: string }[] }).files ?? []).map((f) => f.filename)
          : [...res.text.matchAll(/<a [^>]*>([^<]+)<\/a>/g)].map((m) => m[1]!.trim());
        return { kind: 'found', files: files.reverse() };
      }
    } catch (err) {
      return { kind: 'unreachable', url: base, detail: downloadError(url, err).message.replace(/^cannot download \S+: /, '') };
    }
  }
  return { kind: 'unknown', urls: indexes };
}
