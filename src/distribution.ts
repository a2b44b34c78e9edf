/**
 * The Python distribution: a python-build-standalone `install_only` (or
 * `install_only_stripped`) archive, from a local file or a URL.
 *
 * It is unpacked once per archive into the build cache, with the launcher's own
 * extractor, to learn its exact version and, on the host, to byte-compile wheels
 * with its interpreter. Its blob is the archive's tar stream as it is.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { type BuildCache, CACHE_LAYOUT, publishDir } from './cache.js';
import { type Credentials, redact } from './credentials.js';
import { native, UserError } from './errors.js';
import { fetchToCache, isHttpUrl } from './fetch.js';
import { nativeAddon, type BlobHash } from './native.js';
import type { Reporter } from './progress.js';
import type { PythonVersion } from './tags.js';
import type { Target } from './targets/index.js';

export interface Distribution extends PythonVersion {
  /** Local path of the archive. */
  archive: string;
  archiveSha256: string;
  /** Full version, e.g. `3.12.7`. */
  version: string;
  /** The interpreter, relative to the unpacked root (`python/bin/python3.12`). */
  interpreter: string;
  /** The unpacked tree (contains `python/`). */
  root: string;
  /** The blob: sha256 and size of the archive's tar stream. */
  blob: BlobHash;
  archiveSize: number;
  /** Where it was downloaded from, when it was (what a lazy build records). */
  origin?: { url: string; mirrorPath?: string };
}

export interface DistributionSpec {
  /** A local path (already absolute) or an http(s) URL. */
  location: string;
  sha256?: string;
  /** What to suggest when the download fails (e.g. the mirror flags). */
  hint?: string;
  /** The URL's part below the python-build-standalone base, which a runtime mirror keeps. */
  mirrorPath?: string;
  /** For a mirror behind credentials (in its URL, or in ~/.netrc). */
  credentials?: Credentials;
}

interface Meta {
  version: string;
  /** A free-threaded (PEP 703) build. */
  freethreaded?: boolean;
  interpreter: string;
  blob: BlobHash;
}

export async function prepareDistribution(spec: DistributionSpec, target: Target, cache: BuildCache, reporter: Reporter): Promise<Distribution> {
  let archive: string;
  let archiveSha256: string;
  if (isHttpUrl(spec.location)) {
    if (!spec.sha256) {
      throw new UserError(`the distribution ${redact(spec.location)} has no sha256 to check it against`, 'pass --distribution-sha256 HEX (or distribution-sha256 in [tool.pyseal])');
    }
    const label = decodeURIComponent(basename(new URL(spec.location).pathname));
    archive = await fetchToCache({ url: spec.location, sha256: spec.sha256, label }, { cache, reporter, ...(spec.hint ? { hint: spec.hint } : {}), ...(spec.credentials ? { credentials: spec.credentials } : {}) });
    archiveSha256 = spec.sha256.toLowerCase();
  } else {
    archive = spec.location;
    const info = await stat(archive).catch(() => undefined);
    if (!info?.isFile()) {
      throw new UserError(`distribution archive ${archive} does not exist`, 'pass --distribution with a python-build-standalone install_only archive (.tar.gz or .tar.zst)');
    }
    archiveSha256 = await native(() => nativeAddon().sha256File(archive));
    if (spec.sha256 && spec.sha256.toLowerCase() !== archiveSha256) {
      throw new UserError(`distribution archive ${archive} does not match its expected sha256 (expected ${spec.sha256.toLowerCase()}, got ${archiveSha256})`);
    }
  }

  const entry = cache.path('distributions', `${archiveSha256}-${CACHE_LAYOUT}`);
  const metaPath = join(entry, 'meta.json');
  const meta = existsSync(metaPath) ? (JSON.parse(await readFile(metaPath, 'utf8')) as Meta) : await unpack(archive, entry, target, cache, reporter);
  const root = join(entry, 'tree');
  const [major, minor] = meta.version.split('.').map((n) => parseInt(n, 10)) as [number, number];
  const origin = isHttpUrl(spec.location) ? { origin: { url: spec.location, ...(spec.mirrorPath ? { mirrorPath: spec.mirrorPath } : {}) } } : {};
  const archiveSize = (await stat(archive)).size;
  return { archive, archiveSha256, archiveSize, version: meta.version, major, minor, ...(meta.freethreaded ? { freethreaded: true } : {}), interpreter: meta.interpreter, root, blob: meta.blob, ...origin };
}

/** Unpacks into `entry/tree` and records `entry/meta.json`; both appear by one rename. */
async function unpack(archive: string, entry: string, target: Target, cache: BuildCache, reporter: Reporter): Promise<Meta> {
  const dir = await cache.ensureDir('distributions');
  const tmp = cache.temp(dir, 'unpack');
  const tree = join(tmp, 'tree');
  const task = reporter.task(`unpacking ${basename(archive)}`);
  try {
    const blob = await native(() => nativeAddon().extractArchive(archive, tree)).catch((err: unknown) => {
      if (err instanceof UserError) {
        const message = err.message.startsWith(archive) ? `distribution ${err.message}` : `cannot use distribution ${archive}: ${err.message}`;
        throw new UserError(message, 'pass a python-build-standalone install_only archive (.tar.gz or .tar.zst)');
      }
      throw err;
    });
    const { version, freethreaded } = await detectVersion(tree, archive);
    const [major, minor] = version.split('.').map((n) => parseInt(n, 10)) as [number, number];
    const interpreter = target.interpreter({ major, minor, freethreaded });
    if (!existsSync(join(tree, interpreter))) {
      throw new UserError(
        `${archive} is not a python-build-standalone install_only archive for ${target.triple}: it has no ${interpreter}`,
        'pass the install_only or install_only_stripped archive built for this target',
      );
    }
    const meta: Meta = { version, ...(freethreaded ? { freethreaded } : {}), interpreter, blob };
    await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta));
    await publishDir(tmp, entry);
    return meta;
  } finally {
    task.end();
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The full version from `patchlevel.h`, which every install_only tree carries
 * (`3.15.0rc1` stays a pre-release), and whether the build is free-threaded:
 * then its headers and standard library live in `python3.X` + `t`.
 */
async function detectVersion(tree: string, archive: string): Promise<{ version: string; freethreaded: boolean }> {
  const notPbs = () =>
    new UserError(`${archive} is not a python-build-standalone install_only archive: no python/include/.../patchlevel.h`, 'pass an install_only or install_only_stripped archive');
  const include = join(tree, 'python', 'include');
  const candidates: [string, boolean][] = [[join(include, 'patchlevel.h'), false]];
  for (const entry of await readdir(include).catch(() => [] as string[])) {
    if (/^python3\.\d+t?$/.test(entry)) candidates.push([join(include, entry, 'patchlevel.h'), entry.endsWith('t')]);
  }
  for (const [file, freethreaded] of candidates) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    const match = text && /#define\s+PY_VERSION\s+"(\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)/.exec(text);
    if (match?.[1]) return { version: match[1], freethreaded };
  }
  throw notPbs();
}
