/**
 * From "what the app needs" to verified wheel files for the target:
 *
 *   pyseal's lock, if it was made from the same inputs (no pip, no network)
 *   else a user's pylock.toml / uv.lock (selected for the target)
 *   else pip's resolver (the project's own wheel, --from, -r)
 *   -> lock written -> every file downloaded and checked against its sha256
 *   -> sdists (host only) built into wheels through their PEP 517 backend
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { CACHE_LAYOUT, publishDir } from './cache.js';
import { native, UserError } from './errors.js';
import { LOCK_FORMAT, lockPath, readOwnLock, selectFromPylock, selectFromUvLock, type Selection, writeOwnLock } from './lock.js';
import { markerEnvironment } from './markers.js';
import { nativeAddon } from './native.js';
import { fetchArtifacts, isHttpUrl } from './fetch.js';
import { buildWheel, type BuildContext } from './pep517.js';
import { type Artifact, type IndexOptions, resolveWithPip } from './pip.js';
import { findUv } from './toolchain/index.js';
import { resolveWithUv, uvCacheDir } from './uv.js';
import { normalizeName } from './tags.js';
import type { Target } from './targets/index.js';

export interface Requirements {
  projectDir: string;
  /** The app's name, for the lock file's name. */
  app: string;
  /** The project's freshly built wheel, when the app is the project. */
  appWheel?: { path: string; name: string; version: string; requiresDist: string[] };
  extras: string[];
  from: string[];
  requirementFiles: string[];
  /** A user's pylock.toml or uv.lock to take the set from. */
  lockInput?: string;
  index: IndexOptions;
  upgrade: boolean;
}

export interface ResolveContext extends BuildContext {
  target: Target;
  /** The target is this machine. */
  targetIsHost: boolean;
  /** The target distribution's full version. */
  pythonVersion: string;
  /** The target distribution is free-threaded (wheels need `cp3Xt`). */
  freethreaded?: boolean;
}

export interface Resolved {
  /** Wheel files for every dependency, in the lock's order; `artifact` when it was downloaded. */
  wheels: { path: string; artifact?: Artifact }[];
  artifacts: Artifact[];
  lockFile: string;
  /** The lock was fresh: nothing was resolved. */
  reused: boolean;
}

export async function resolveDependencies(req: Requirements, ctx: ResolveContext): Promise<Resolved> {
  const [major, minor] = ctx.pythonVersion.split('.').map((n) => parseInt(n, 10)) as [number, number];
  const sel: Selection = {
    env: markerEnvironment(ctx.target, { version: ctx.pythonVersion }, req.extras),
    target: ctx.target,
    python: { major, minor, version: ctx.pythonVersion, ...(ctx.freethreaded ? { freethreaded: true } : {}) },
    host: ctx.targetIsHost,
  };
  const lockFile = lockPath(req.projectDir, req.app, ctx.target);
  const inputs = await inputsKey(req, ctx);
  const own = await readOwnLock(lockFile);
  let artifacts: Artifact[];
  let directories: string[] = [];
  const reused = !req.upgrade && own !== undefined && own.inputs === inputs;
  if (reused) {
    artifacts = own.artifacts;
  } else if (req.lockInput) {
    const picked = req.lockInput.endsWith('uv.lock')
      ? await selectFromUvLock(req.lockInput, req.appWheel?.name ?? req.app, req.extras, sel)
      : await selectFromPylock(req.lockInput, sel);
    const own = req.appWheel ? normalizeName(req.appWheel.name) : undefined;
    artifacts = picked.artifacts.filter((a) => a.name !== own);
    directories = picked.directories.filter((d) => normalizeName(d) !== normalizeName(req.projectDir));
  } else {
    const requirements = [...req.from];
    if (req.appWheel) {
      const extras = req.extras.length ? `[${req.extras.join(',')}]` : '';
      requirements.unshift(`${req.appWheel.path}${extras}`);
    }
    const task = ctx.reporter.task(`resolving dependencies for ${ctx.target.triple}`);
    try {
      const pip = () =>
        resolveWithPip({
          python: ctx.host.python,
          version: sel.python,
          target: ctx.target,
          host: ctx.targetIsHost,
          requirements,
          requirementFiles: req.requirementFiles,
          index: req.index,
          cwd: process.cwd(),
        });
      // This machine: pip, as on the user's machine (sdists allowed, markers
      // exact). Another target: uv, whose markers are the target's.
      const uv = ctx.targetIsHost ? undefined : await findUv(ctx.reporter);
      if (ctx.targetIsHost) artifacts = await pip();
      else if (uv) {
        const uvRequirements = [...req.from];
        if (req.appWheel) {
          const extras = req.extras.length ? `[${req.extras.join(',')}]` : '';
          uvRequirements.unshift(`${req.appWheel.name}${extras} @ ${pathToFileURL(req.appWheel.path).href}`);
        }
        artifacts = await resolveWithUv({
          uv,
          hostPython: ctx.host.python,
          target: ctx.target,
          python: sel.python,
          requirements: uvRequirements,
          requirementFiles: req.requirementFiles,
          index: req.index,
          cacheDir: uvCacheDir(ctx.cache.root),
          cwd: process.cwd(),
        });
      } else {
        ctx.reporter.warn(`uv is out of reach, so pip resolves for ${ctx.target.triple}: environment markers are evaluated for this machine, not the target (approximate)`);
        artifacts = await pip();
      }
    } finally {
      task.end();
    }
    const appUrl = req.appWheel ? pathToFileURL(req.appWheel.path).href : undefined;
    artifacts = artifacts.filter((a) => a.url !== appUrl);
    artifacts = await Promise.all(artifacts.map((a) => withHash(a)));
  }
  if (!reused) {
    await writeOwnLock(lockFile, { target: ctx.target.triple, python: ctx.pythonVersion, inputs, artifacts }, sel.env);
  }

  const files = await fetchArtifacts(artifacts, ctx);
  const wheels: Resolved['wheels'] = [];
  for (const [i, a] of artifacts.entries()) {
    if (a.kind === 'wheel') {
      wheels.push({ path: files[i]!, ...(isHttpUrl(a.url) ? { artifact: a } : {}) });
      continue;
    }
    if (!ctx.targetIsHost) {
      throw new UserError(`${a.name} ${a.version} has only an sdist, and pyseal builds sdists only for the host target`, `use a version with a wheel for ${ctx.target.triple}`);
    }
    wheels.push({ path: await buildSdist(files[i]!, a, ctx) });
  }
  for (const dir of directories) wheels.push({ path: await buildWheel(dir, ctx) });
  return { wheels, artifacts, lockFile, reused };
}

/**
 * Everything the dependency set was resolved from. The app's own code is not
 * in it (only its name, version and requirements), so editing the app reuses
 * the lock.
 */
async function inputsKey(req: Requirements, ctx: ResolveContext): Promise<string> {
  const contents = async (files: string[]) => Promise.all(files.map(async (f) => [f, await readFile(f, 'utf8').catch(() => '')]));
  const key = {
    format: [LOCK_FORMAT, CACHE_LAYOUT],
    target: ctx.target.triple,
    python: ctx.pythonVersion,
    app: req.appWheel ? { name: normalizeName(req.appWheel.name), version: req.appWheel.version, requires: req.appWheel.requiresDist } : undefined,
    extras: [...req.extras].sort(),
    from: req.from,
    requirementFiles: await contents(req.requirementFiles),
    lockInput: req.lockInput ? await contents([req.lockInput]) : undefined,
    index: req.index,
  };
  return createHash('sha256').update(JSON.stringify(key)).digest('hex');
}

/** Local files pip reports may come without a hash: take it from the file itself. */
async function withHash(a: Artifact): Promise<Artifact> {
  if (a.sha256) return a;
  if (a.url.startsWith('file:')) {
    return { ...a, sha256: await native(() => nativeAddon().sha256File(fileURLToPath(a.url))) };
  }
  throw new UserError(`the index gave no sha256 for ${a.filename} (${a.url})`, 'pyseal pins every download by hash; use an index that publishes hashes, as PyPI does');
}

/** Builds a downloaded sdist into a wheel (cached by the build through its source hash). */
async function buildSdist(sdist: string, a: Artifact, ctx: ResolveContext): Promise<string> {
  if (!/\.(tar\.gz|tgz)$/.test(a.filename)) {
    throw new UserError(`${a.filename}: pyseal builds .tar.gz sdists only`, 'use a version of the package with a wheel');
  }
  const dir = await ctx.cache.ensureDir('sdists');
  const unpacked = join(dir, a.sha256);
  if (!existsSync(unpacked)) {
    const tmp = ctx.cache.temp(dir, a.sha256);
    try {
      await native(() => nativeAddon().extractArchive(sdist, tmp));
      await publishDir(tmp, unpacked);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  // An sdist holds one top directory, `<name>-<version>/`.
  const [top] = (await readdir(unpacked)).filter((e) => !e.startsWith('.'));
  if (!top) throw new UserError(`${a.filename} is an empty sdist`);
  return buildWheel(join(unpacked, top), ctx, `${a.name} ${a.version} from its sdist`);
}
