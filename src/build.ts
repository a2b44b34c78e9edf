/**
 * `pyseal build`: the one orchestrator. Every step lives in its own module; this
 * file decides their order and what flows between them.
 *
 *   config -> target -> preflight (every input that can be checked offline)
 *          -> distribution (--distribution, or --python via the catalog)
 *          -> the project's wheel (PEP 517)  -> dependencies (lock, or pip) -> wheels
 *          -> tag check -> stage -> entry point
 *          -> stub (cargo, cached, started first, in parallel)
 *          -> blobs (zstd, cached) -> executable (native writer: temp file, then rename)
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { BuildCache, buildCacheRoot, publishDir } from './cache.js';
import { type Catalog, type CatalogEntry, downloadUrl, findPython, loadCatalog } from './catalog.js';
import { type BuildFlags, type Config, loadConfig } from './config.js';
import { type Distribution, prepareDistribution } from './distribution.js';
import { checkScript, parseEntry, pickApp, pickEntry, requirementName } from './entry.js';
import { native, UserError } from './errors.js';
import { isHttpUrl } from './fetch.js';
import { Credentials, redact } from './credentials.js';
import { type BlobRecord, MANIFEST_SCHEMA, type Manifest, type UrlSource } from './manifest.js';
import { type BlobSource, nativeAddon } from './native.js';
import { buildWheel, type HostPython, isBuildable } from './pep517.js';
import { CLEAN_PYTHON_ENV, runCaptured } from './process.js';
import { Reporter } from './progress.js';
import { type Requirements, type ResolveContext, resolveDependencies } from './resolve.js';
import type { Artifact } from './pip.js';
import { type StagedWheel, stageWheels, WHEEL_MTIME } from './stage.js';
import { ensureStub, type Stub } from './stub.js';
import { abiTag, incompatibility, normalizeName, parseWheelName } from './tags.js';
import { isHost, resolveTarget, resolveTargets, type Target } from './targets/index.js';
import { VERSION } from './version.js';

export interface BuildOptions extends BuildFlags {
  /** Name the default output `<app>-<target>` even for this machine (several targets at once). */
  targetInName?: boolean;
  /** The project directory (holds pyproject.toml, if any). Default: cwd. */
  projectDir?: string;
  /** Build cache root. Default: $PYSEAL_BUILD_CACHE or the platform cache dir. */
  cacheDir?: string;
  reporter?: Reporter;
}

export interface BuildResult {
  out: string;
  /** The lock file written or reused, when dependencies were resolved. */
  lockFile?: string;
  /** The lock was fresh: nothing was resolved this time. */
  resolvedNothing: boolean;
  manifest: Manifest;
  /** Bytes of the whole executable and of its stub. */
  size: number;
  stubSize: number;
  /** Whether this build ran cargo, and how many blobs it had to compress. */
  compiledStub: boolean;
  compressedBlobs: number;
  /** Milliseconds per step, and in all (`total`). */
  timings: Record<string, number>;
}

/**
 * `--target` naming several targets (a list, `all-linux`, `all`): one build
 * per target, one after another, sharing every cache; each executable goes to
 * `DIR/dist/<app>-<target>`. The first failure stops the rest.
 */
export async function buildTargets(options: BuildOptions = {}): Promise<BuildResult[]> {
  const config = await loadConfig(options.projectDir ?? '.', options);
  const targets = resolveTargets(config.target);
  if (targets.length === 1) return [await build({ ...options, target: targets[0]!.triple })];
  if (config.out) {
    throw new UserError(`--out names one file, but ${targets.length} targets are to be built`, 'leave --out out: each executable goes to DIR/dist/<app>-<target>', 2);
  }
  const results: BuildResult[] = [];
  for (const target of targets) results.push(await build({ ...options, target: target.triple, targetInName: true }));
  return results;
}

export async function build(options: BuildOptions = {}): Promise<BuildResult> {
  // A failed build stops the stub's cargo run rather than wait for it.
  const abort = new AbortController();
  try {
    return await buildWith(options, abort.signal);
  } catch (err) {
    abort.abort();
    throw err;
  }
}

async function buildWith(options: BuildOptions, signal: AbortSignal): Promise<BuildResult> {
  const started = Date.now();
  const timings: Record<string, number> = {};
  const time = async <T>(step: string, work: Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await work;
    } finally {
      timings[step] = (timings[step] ?? 0) + Date.now() - t0;
    }
  };
  const reporter = options.reporter ?? new Reporter();
  const cache = new BuildCache(options.cacheDir ?? buildCacheRoot());
  const config = await loadConfig(options.projectDir ?? '.', options);
  const target = resolveTarget(config.target);
  const targetIsHost = isHost(target);
  // Everything a user can get wrong that needs no network is refused here,
  // before the first download or compile.
  const plan = await preflight(config, target);
  await cache.clearDebris(started);

  // A window-only app on Windows: a stub of the `windows` subsystem, and pythonw.exe.
  const gui = config.gui && target.os === 'windows';
  if (config.gui && !gui) reporter.note(`--gui changes nothing for ${target.triple}: only Windows opens console windows`);
  const guiFeatures = gui ? ['gui'] : [];
  // The stub does not depend on the app: compile it while everything else runs.
  const stubPromise = time('stub', ensureStub({ target, features: guiFeatures, signal }, cache, reporter));
  stubPromise.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile

  const dist = await time('distribution', targetDistribution(config, plan, target, cache, reporter));
  // A CPython this machine can run (for pip, uv, build backends and
  // byte-compiling), found once and only when needed.
  let hostPromise: Promise<HostPython> | undefined;
  const hostPy = () => (hostPromise ??= hostPython(config, plan, dist, target, cache, reporter));
  const { inputs, lockFile, resolvedNothing } = await time('dependencies', gatherWheels(config, plan, dist, target, hostPy, cache, reporter));
  checkTags(inputs.map((i) => i.path), dist, target);

  // Every wheel is installed (RECORD-checked) and byte-compiled here, once per
  // wheel and Python, even one a lazy executable fetches: a broken wheel
  // fails the build, not the user's first run.
  const hashed = await Promise.all(inputs.map(async (i) => ({ ...i, sha256: await native(() => nativeAddon().sha256File(i.path)) })));
  const compileWith = config.compile ? await compiler(dist, target, hostPy, reporter) : undefined;
  const staged = await time('stage', stageWheels(hashed, dist, compileWith ? { compileWith } : {}, cache, reporter));
  const wheels: Wheel[] = staged.map((s, i) => ({ ...hashed[i]!, ...s }));
  checkDuplicates(wheels);
  const project = appProject(config);
  const app = pickApp(config, wheels, project?.name);
  const entry = pickEntry(config, app, wheels, stdlibDir(dist, target));
  const name = normalizeName(project?.name ?? app.info.name);
  const version = project?.version ?? app.info.version;

  // Lazy builds keep the app's own code inside and fetch everything that has
  // a URL; files that only exist here stay inside too, or go to --blobs-dir.
  const lazy = config.mode === 'lazy';
  // A file behind credentials is never fetched by URL: the executable would
  // have to carry them. It is embedded (or hosted) instead.
  const credentials = Credentials.from(config.index);
  const fetchable = (url: string) => !credentials.needed(url);
  const placement = (w: Wheel): 'embedded' | 'url' | 'hosted' =>
    !lazy || w === app ? 'embedded' : w.artifact && fetchable(w.artifact.url) ? 'url' : config.blobs ? 'hosted' : 'embedded';

  const blobs: Planned[] = [await pythonBlob(dist, lazy, config.blobs, fetchable)];
  for (const w of wheels) {
    const blobName = `${normalizeName(w.info.name)}-${w.info.version}`;
    const where = placement(w);
    if (where === 'embedded') {
      blobs.push({ record: { sha256: w.blob.sha256, kind: 'wheel', name: blobName, size: w.blob.size }, source: { dir: w.dir, mtime: WHEEL_MTIME } });
      continue;
    }
    const size = (await stat(w.path)).size;
    const url = where === 'url' ? w.artifact!.url : await hostFile(w.path, basename(w.path), config.blobs!);
    const mirror = where === 'url' ? { mirror: { kind: 'index' as const, path: new URL(url).pathname.replace(/^\/+/, '') } } : {};
    // The writer names a fetched wheel's blob after the wheel's hash.
    blobs.push({ record: { sha256: '', kind: 'wheel', name: blobName, size }, url: { url, sha256: w.sha256, size, ...mirror } });
  }
  // The network tool: a lazy executable's first run, and every updatable build's `self update`.
  const withTool = lazy || config.update !== undefined;
  const stubs = withTool ? await Promise.all([stubPromise, time('stub', ensureStub({ target, features: ['lazy', ...guiFeatures], signal }, cache, reporter))]) : [await stubPromise];
  if (withTool) blobs.push(await toolBlob(stubs[1]!, target, cache));
  const { files: blobFiles, compressed } = await time('compress', compressBlobs(blobs, config.level, cache, reporter));
  const stub = stubs[0]!;

  const manifest: Manifest = {
    schema: MANIFEST_SCHEMA,
    app: name,
    version,
    entry,
    python: { version: dist.version, blob: dist.blob.sha256, executable: gui ? windowedInterpreter(dist) : dist.interpreter, ...(dist.freethreaded ? { abiflags: 't' as const } : {}) },
    target: target.triple,
    self_command: config.selfCommand,
    builder: `pyseal ${VERSION}`,
    ...(config.compileFetched ? { compile_fetched: true } : {}),
    ...(config.update ? { update: config.update } : {}),
    blobs: blobs.map((b) => ({ ...b.record, source: b.url ? { url: b.url } : { payload: { offset: 0, length: 0 } } })),
  };
  const suffix = targetIsHost && !options.targetInName ? '' : `-${target.triple}`;
  const out = config.out ?? join(config.projectDir, 'dist', `${name}${suffix}${target.exeSuffix}`);
  await time('write', native(() => nativeAddon().writeExecutable(stub.path, manifest, blobFiles, out)));

  const inspection = nativeAddon().inspectExecutable(out);
  timings.total = Date.now() - started;
  return {
    out,
    manifest: inspection.manifest,
    size: inspection.fileSize,
    stubSize: inspection.stubSize,
    compiledStub: stub.compiled,
    compressedBlobs: compressed,
    ...(lockFile ? { lockFile } : {}),
    resolvedNothing,
    timings,
  };
}

/** What the offline checks settled, for the steps that follow. */
interface Plan {
  /** `--wheel` / `--wheels` files, checked to exist and be named like wheels. */
  wheels: string[];
  /** The app is the project in DIR, built through its PEP 517 backend. */
  buildProject: boolean;
  /** Dependencies are resolved (or selected from a lock), not only given as wheels. */
  resolving: boolean;
  /** The catalog's archive for the target, unless --distribution names one. */
  python?: { catalog: Catalog; entry: CatalogEntry };
}

/**
 * Checks everything that needs no network and no compiler, in the order a
 * newcomer meets it: is there anything to build, do the named files exist, is
 * the Python version in the catalog, is the entry point well-formed, and, when
 * the app's wheel is at hand, does it have the script named.
 */
async function preflight(config: Config, target: Target): Promise<Plan> {
  const wheels = await collectWheels(config);
  const buildProject = config.from.length === 0 && wheels.length === 0 && isBuildable(config.projectDir);
  const resolving = buildProject || config.from.length > 0 || config.requirements.length > 0 || config.lock !== undefined;
  if (!resolving && wheels.length === 0) {
    throw new UserError(
      `nothing to build in ${config.projectDir}: no pyproject.toml or setup.py, no --from and no --wheel`,
      'run pyseal build in a project directory, or name the app: --from PACKAGE (from PyPI) or --wheel FILE',
      2,
    );
  }
  for (const file of config.requirements) await mustExist(file, 'requirements file', 'check the -r / --requirements path');
  if (config.lock) await mustExist(config.lock, 'lock file', 'check the --lock path (a pylock.toml or uv.lock)');
  if (config.entry) parseEntry(config.entry, '--entry');
  let python: Plan['python'];
  if (config.distribution) {
    if (!isHttpUrl(config.distribution)) {
      await mustExist(config.distribution, 'distribution archive', 'pass --distribution with a python-build-standalone install_only archive (.tar.gz or .tar.zst)');
    } else if (!config.distributionSha256) {
      throw new UserError(`the distribution ${redact(config.distribution)} has no sha256 to check it against`, 'pass --distribution-sha256 HEX (or distribution-sha256 in [tool.pyseal])');
    }
  } else {
    const catalog = loadCatalog(config.pythonCatalog);
    python = { catalog, entry: findPython(catalog, config.python, target) };
  }
  if (!resolving && config.script) {
    const infos = await Promise.all(wheels.map(async (wheel) => ({ wheel, info: await native(() => nativeAddon().readWheel(wheel)) })));
    checkScript(config, pickApp(config, infos, appProject(config)?.name));
  }
  return { wheels, buildProject, resolving, ...(python ? { python } : {}) };
}

async function mustExist(path: string, what: string, hint: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new UserError(`${what} ${path} does not exist`, hint);
}

/** `pythonw.exe` beside `python.exe`: CPython for Windows without a console. */
function windowedInterpreter(dist: Distribution): string {
  const windowed = dist.interpreter.replace(/python(3\.\d+t)?\.exe$/, 'pythonw$1.exe');
  if (!existsSync(join(dist.root, windowed))) {
    throw new UserError(`the distribution has no ${windowed}, which --gui runs`, 'use a python-build-standalone Windows build, which has it');
  }
  return windowed;
}

/** The distribution's standard library, where `--module` names are looked for. */
function stdlibDir(dist: Distribution, target: Target): string {
  if (target.os === 'windows') return join(dist.root, 'python', 'Lib');
  return join(dist.root, 'python', 'lib', `python${dist.major}.${dist.minor}${dist.freethreaded ? 't' : ''}`);
}

/**
 * The wheels that go in: given ones, the project's own (PEP 517), and the
 * dependencies (from the lock, a user's lock file, or pip).
 */
async function gatherWheels(config: Config, plan: Plan, dist: Distribution, target: Target, host: () => Promise<HostPython>, cache: BuildCache, reporter: Reporter) {
  const { wheels: explicitWheels, buildProject } = plan;
  if (!plan.resolving) return { inputs: explicitWheels.map((path) => ({ path })), resolvedNothing: false };
  const ctx: ResolveContext = {
    host: await host(),
    index: config.index,
    cache,
    reporter,
    credentials: Credentials.from(config.index),
    upgrade: config.upgrade,
    target,
    targetIsHost: isHost(target),
    pythonVersion: dist.version,
    ...(dist.freethreaded ? { freethreaded: true } : {}),
  };
  const wheelFiles = [...explicitWheels];
  let appWheel: Requirements['appWheel'];
  if (buildProject) {
    const path = await buildWheel(config.projectDir, ctx, config.project?.name ?? basename(config.projectDir));
    const info = await native(() => nativeAddon().readWheel(path));
    appWheel = { path, name: info.name, version: info.version, requiresDist: info.requiresDist };
    wheelFiles.unshift(path);
  }
  const app = appProject(config)?.name ?? appWheel?.name ?? requirementName(config.from[0]) ?? 'app';
  const lockInput = config.lock ?? (buildProject ? detectLock(config.projectDir) : undefined);
  const resolved = await resolveDependencies(
    {
      projectDir: config.projectDir,
      app,
      extras: config.extras,
      from: config.from,
      requirementFiles: config.requirements,
      index: config.index,
      upgrade: config.upgrade,
      ...(appWheel ? { appWheel } : {}),
      ...(lockInput ? { lockInput } : {}),
    },
    ctx,
  );
  const inputs: Input[] = [...wheelFiles.map((path) => ({ path })), ...resolved.wheels];
  return { inputs, lockFile: resolved.lockFile, resolvedNothing: resolved.reused };
}

/** A wheel going in; `artifact` when it was downloaded from an index. */
interface Input {
  path: string;
  artifact?: Artifact;
}

interface Wheel extends Input, StagedWheel {}

/** A blob of the manifest and where its bytes come from. */
interface Planned {
  record: Omit<BlobRecord, 'source'>;
  /** Embedded: what to pack. */
  source?: BlobSource;
  /** Lazy: where the launcher fetches it. */
  url?: UrlSource;
}

/** The distribution: fetched by its URL in lazy builds, hosted, or embedded. */
async function pythonBlob(dist: Distribution, lazy: boolean, blobs: Config['blobs'], fetchable: (url: string) => boolean): Promise<Planned> {
  const record = { sha256: dist.blob.sha256, kind: 'python' as const, name: `cpython-${dist.version}`, size: dist.blob.size };
  const origin = dist.origin && fetchable(dist.origin.url) ? dist.origin : undefined;
  if (lazy && (origin || blobs)) {
    const url = origin?.url ?? (await hostFile(dist.archive, basename(dist.archive), blobs!));
    const mirror = origin?.mirrorPath ? { mirror: { kind: 'python' as const, path: origin.mirrorPath } } : {};
    return { record, url: { url, sha256: dist.archiveSha256, size: dist.archiveSize, ...mirror } };
  }
  return { record, source: { archive: dist.archive } };
}

/** Copies a file into --blobs-dir (temp file, then rename) and returns its URL under --blobs-url. */
async function hostFile(file: string, name: string, blobs: { dir: string; url: string }): Promise<string> {
  await mkdir(blobs.dir, { recursive: true });
  const tmp = join(blobs.dir, `.${name}.tmp-${process.pid}`);
  await copyFile(file, tmp);
  await rename(tmp, join(blobs.dir, name));
  return `${blobs.url.replace(/\/+$/, '')}/${encodeURIComponent(name)}`;
}

/** The network-capable launcher, as the tree of a `tool` blob. */
async function toolBlob(stub: Stub, target: Target, cache: BuildCache): Promise<Planned> {
  const dir = cache.path('tools', stub.key);
  const name = `pyseal-launcher${target.exeSuffix}`;
  if (!existsSync(join(dir, name))) {
    const tmp = cache.temp(await cache.ensureDir('tools'), stub.key);
    await mkdir(tmp, { recursive: true });
    await copyFile(stub.path, join(tmp, name));
    await publishDir(tmp, dir);
  }
  const blob = await native(() => nativeAddon().hashBlob({ dir, mtime: WHEEL_MTIME }));
  return { record: { sha256: blob.sha256, kind: 'tool', name: `pyseal-launcher-${VERSION}`, size: blob.size }, source: { dir, mtime: WHEEL_MTIME } };
}

/** `[project]` describes the app, unless the app is a published package (--from). */
function appProject(config: Config): Config['project'] {
  return config.from.length > 0 ? undefined : config.project;
}

/** The target's distribution: --distribution as given, else the catalog's archive preflight chose. */
async function targetDistribution(config: Config, plan: Plan, target: Target, cache: BuildCache, reporter: Reporter): Promise<Distribution> {
  if (config.distribution) {
    const sha256 = config.distributionSha256 ? { sha256: config.distributionSha256 } : {};
    return prepareDistribution({ location: config.distribution, ...sha256, credentials: Credentials.from(config.index) }, target, cache, reporter);
  }
  const { catalog, entry } = plan.python!;
  // Without a version, the newest stable one in the catalog, as uv picks its latest.
  if (!config.python) reporter.note(`using CPython ${entry.version}, the newest in the catalog (pin it with --python or python = "3.X" in [tool.pyseal])`);
  return catalogDistribution(config, catalog, entry, cache, reporter, target);
}

async function catalogDistribution(config: Config, catalog: Catalog, entry: CatalogEntry, cache: BuildCache, reporter: Reporter, target: Target): Promise<Distribution> {
  const url = downloadUrl(catalog, entry, config.pythonMirror);
  const hint = config.pythonMirror
    ? `check the mirror (--python-mirror / PYSEAL_PYTHON_MIRROR = ${config.pythonMirror}) has ${entry.tag}/${entry.asset}`
    : "if python-build-standalone's releases are out of reach, point --python-mirror (or PYSEAL_PYTHON_MIRROR) at a mirror";
  const mirrorPath = `${entry.tag}/${encodeURIComponent(entry.asset)}`;
  return prepareDistribution({ location: url, sha256: entry.sha256, hint, mirrorPath, credentials: Credentials.from(config.index) }, target, cache, reporter);
}

/**
 * A CPython this machine can run, to build wheels, run pip or uv, and
 * byte-compile: --host-python when given; the target's own when it is this
 * machine; else the catalog's build of the same version for this machine.
 */
async function hostPython(config: Config, plan: Plan, dist: Distribution, target: Target, cache: BuildCache, reporter: Reporter): Promise<HostPython> {
  const host = resolveTarget();
  if (config.hostPython) return describeHostPython(config.hostPython, host);
  let hostDist = dist;
  if (target.triple !== host.triple) {
    const catalog = plan.python?.catalog ?? loadCatalog(config.pythonCatalog);
    const entry = findPython(catalog, `${dist.version}${dist.freethreaded ? 't' : ''}`, host);
    hostDist = await catalogDistribution(config, catalog, entry, cache, reporter, host);
  }
  return {
    python: join(hostDist.root, hostDist.interpreter),
    version: hostDist.version,
    major: hostDist.major,
    minor: hostDist.minor,
    ...(hostDist.freethreaded ? { freethreaded: true } : {}),
    target: host,
  };
}

/** `--host-python PATH`, asked for its version (and build) by running it. */
async function describeHostPython(python: string, host: Target): Promise<HostPython> {
  const script = 'import sys, sysconfig; print("%d.%d.%d" % sys.version_info[:3], int(bool(sysconfig.get_config_var("Py_GIL_DISABLED"))))';
  const r = await runCaptured(python, ['-I', '-c', script], {
    env: CLEAN_PYTHON_ENV,
    cannotStart: (err) => new UserError(`--host-python ${python} cannot be run: ${err.message}`, 'point --host-python at a CPython interpreter of this machine'),
  });
  const m = /^(\d+)\.(\d+)\.(\d+) ([01])$/m.exec(r.stdout);
  if (r.code !== 0 || !m) throw new UserError(`--host-python ${python} is not a working CPython`, 'point --host-python at a CPython interpreter of this machine');
  return { python, version: `${m[1]}.${m[2]}.${m[3]}`, major: Number(m[1]), minor: Number(m[2]), ...(m[4] === '1' ? { freethreaded: true } : {}), target: host };
}

/**
 * The interpreter that byte-compiles the wheels: the distribution's own on
 * this machine; for another target, a host CPython of the same minor version
 * and build (pycs depend on nothing else), or none, said in one line: the
 * executable then compiles modules on first import.
 */
async function compiler(dist: Distribution, target: Target, host: () => Promise<HostPython>, reporter: Reporter): Promise<string | undefined> {
  if (isHost(target)) return join(dist.root, dist.interpreter);
  const found = await host().catch((err: unknown) => {
    if (err instanceof UserError) return err;
    throw err;
  });
  const fits = !(found instanceof UserError) && found.major === dist.major && found.minor === dist.minor && Boolean(found.freethreaded) === Boolean(dist.freethreaded);
  if (fits) return found.python;
  const why = found instanceof UserError ? found.message : `the host Python is ${found.version}${found.freethreaded ? 't' : ''}`;
  reporter.warn(`not byte-compiling for ${target.triple}: no CPython ${dist.major}.${dist.minor}${dist.freethreaded ? 't' : ''} that runs here (${why}); pass --host-python PATH for faster first imports`);
  return undefined;
}

/** The project's own lock, when it has one: uv.lock, or a PEP 751 pylock.toml. */
function detectLock(dir: string): string | undefined {
  return ['uv.lock', 'pylock.toml'].map((f) => join(dir, f)).find((f) => existsSync(f));
}

async function collectWheels(config: Config): Promise<string[]> {
  const files: string[] = [];
  for (const wheel of config.wheels) {
    const info = await stat(wheel).catch(() => undefined);
    if (!info?.isFile()) throw new UserError(`wheel ${wheel} does not exist`, 'check the --wheel path');
    files.push(wheel);
  }
  for (const dir of config.wheelDirs) {
    const entries = await readdir(dir).catch(() => {
      throw new UserError(`wheel directory ${dir} does not exist`, 'check the --wheels path');
    });
    const found = entries.filter((e) => e.endsWith('.whl')).sort();
    if (found.length === 0) throw new UserError(`wheel directory ${dir} has no .whl files`);
    files.push(...found.map((f) => join(dir, f)));
  }
  for (const file of files) {
    if (!parseWheelName(basename(file))) {
      throw new UserError(`${file} is not named like a wheel (name-version-python-abi-platform.whl)`, 'pass wheel files as pip or a build backend wrote them');
    }
  }
  return [...new Set(files)];
}

function checkTags(wheels: string[], dist: Distribution, target: Target): void {
  const platformTags = target.platformTags(isHost(target));
  for (const wheel of wheels) {
    const parsed = parseWheelName(basename(wheel))!;
    const why = incompatibility(parsed, dist, platformTags);
    if (why) {
      throw new UserError(
        `wheel ${basename(wheel)} (tags ${parsed.tagString}) does not fit CPython ${dist.version} on ${target.triple}: ${why}`,
        `use a wheel built for ${abiTag(dist)} and one of ${platformTags.slice(0, 3).join(', ')}, ... or a py3-none-any wheel`,
      );
    }
  }
}

function checkDuplicates(staged: Wheel[]): void {
  const seen = new Map<string, Wheel>();
  for (const s of staged) {
    const key = normalizeName(s.info.name);
    const other = seen.get(key);
    if (other) {
      throw new UserError(`two wheels provide ${s.info.name}: ${basename(other.wheel)} and ${basename(s.wheel)}`, 'pass only one version of each package');
    }
    seen.set(key, s);
  }
}

/**
 * Compressed frames are cached as blobs/<sha256>.<level>.zst: a blob already
 * packed at this level is reused, so a rebuild compresses only what changed.
 */
async function compressBlobs(blobs: Planned[], level: number, cache: BuildCache, reporter: Reporter): Promise<{ files: (string | null)[]; compressed: number }> {
  const dir = await cache.ensureDir('blobs');
  // The launcher tool is packed at the highest level whatever --level says:
  // it is made once and goes into every lazy executable.
  const levelOf = (b: Planned) => (b.record.kind === 'tool' ? 19 : level);
  const files = blobs.map((b) => (b.source ? join(dir, `${b.record.sha256}.${levelOf(b)}.zst`) : null));
  const todo = blobs
    .map((b, i) => ({ record: b.record, source: b.source!, level: levelOf(b), file: files[i]! }))
    .filter((b, i) => files[i] !== null && !existsSync(b.file));
  const total = todo.reduce((n, b) => n + b.record.size, 0);
  if (todo.length > 0) {
    const progress = new (nativeAddon().Progress)();
    const task = reporter.task(`compressing ${todo.length} blob${todo.length === 1 ? '' : 's'} (zstd)`, total);
    const timer = setInterval(() => task.update(progress.done), 100);
    try {
      // One at a time: each compression already uses every core.
      for (const b of todo) {
        await native(() => nativeAddon().compressBlob(b.source, b.level, b.record.sha256, b.file, progress));
      }
    } finally {
      clearInterval(timer);
      task.end();
    }
  }
  return { files, compressed: todo.length };
}
