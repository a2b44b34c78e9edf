/**
 * The launcher stub: `launcher/` compiled by cargo for a target, once per
 * (launcher sources, features, profile, target), then reused by every build of
 * every app. The second build of anything does not run cargo.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type BuildCache, publishDir } from './cache.js';
import { UserError } from './errors.js';
import { runCaptured } from './process.js';
import type { Reporter } from './progress.js';
import { isHost, type Target } from './targets/index.js';
import { ensureRustTarget, findZigToolchain, type ZigToolchain } from './toolchain/index.js';

/** The package root: holds Cargo.toml, Cargo.lock and launcher/. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export const STUB_PROFILE = 'stub';
const CRATE = 'pyseal-launcher';

export interface StubRequest {
  target: Target;
  /** Cargo features of the launcher crate (empty for embedded-only apps). */
  features: string[];
  /** Stops cargo when the build it serves has failed. */
  signal?: AbortSignal;
}

export interface Stub {
  path: string;
  key: string;
  /** Whether cargo ran for this build. */
  compiled: boolean;
  /** `min-size`: std rebuilt for size (needs rust-src); `standard` otherwise. */
  variant: StubVariant;
}

export type StubVariant = 'min-size' | 'standard';

/** Everything that decides the stub's bytes: sources, features, profile, target, compiler and linker. */
async function stubKey(req: StubRequest, linker: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(await rustcVersion());
  const files = ['Cargo.toml', 'Cargo.lock', ...(await listFiles(join(PACKAGE_ROOT, 'launcher')))];
  for (const file of files.sort()) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(PACKAGE_ROOT, file)));
  }
  hash.update(JSON.stringify({ profile: STUB_PROFILE, target: req.target.stub, features: [...req.features].sort(), linker }));
  return hash.digest('hex').slice(0, 32);
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (entry.isFile()) out.push(relative(PACKAGE_ROOT, full));
  }
  return out;
}

export async function ensureStub(req: StubRequest, cache: BuildCache, reporter: Reporter): Promise<Stub> {
  const linker = await stubLinker(req.target, reporter);
  const key = await stubKey(req, linker?.id ?? 'cargo (this machine\'s linker)');
  const name = `pyseal-launcher${req.target.exeSuffix}`;
  const dir = cache.path('stubs', key);
  const path = join(dir, name);
  if (existsSync(path)) return { path, key, compiled: false, variant: await readVariant(dir) };

  const rustTarget = req.target.stub.rustTarget;
  await ensureRustTarget(rustTarget, reporter);
  const args = [
    'build',
    '--manifest-path', join(PACKAGE_ROOT, 'Cargo.toml'),
    '--package', CRATE,
    '--bin', CRATE,
    '--profile', STUB_PROFILE,
    // cargo-zigbuild reads a glibc floor from the target: `x86_64-unknown-linux-gnu.2.17`.
    '--target', linker ? req.target.stub.zigTarget : rustTarget,
    '--no-default-features',
    '--locked',
  ];
  if (req.features.length > 0) args.push('--features', req.features.join(','));
  const tool = linker ? { program: linker.cargoZigbuild, env: zigEnv(linker, cache, req.target) } : { program: process.env.CARGO ?? 'cargo', env: {} };

  // Smallest first: std rebuilt for size with panics that abort at once. That
  // needs rust-src and unstable cargo flags, so any failure falls back.
  let variant: StubVariant = 'standard';
  let targetDir = await cache.ensureDir('cargo');
  if (process.env.PYSEAL_STUB_BUILD_STD !== '0' && (await hasRustSrc())) {
    const minDir = await cache.ensureDir('cargo-min-size');
    const built = await runCargo(tool, [...args, '-Zbuild-std=std,panic_abort'], minDir, rustTarget, reporter, req.signal, {
      RUSTC_BOOTSTRAP: '1',
      RUSTFLAGS: '-Zunstable-options -Cpanic=immediate-abort',
    }).then(
      () => true,
      (err: unknown) => {
        if ((err as Error).name === 'AbortError') throw err;
        return false;
      },
    );
    if (built) [variant, targetDir] = ['min-size', minDir];
  }
  if (variant === 'standard') await runCargo(tool, args, targetDir, rustTarget, reporter, req.signal);

  const built = join(targetDir, rustTarget, STUB_PROFILE, name);
  const stubs = await cache.ensureDir('stubs');
  const tmp = cache.temp(stubs, key);
  await mkdir(tmp, { recursive: true });
  try {
    await copyFile(built, join(tmp, name));
    await writeFile(join(tmp, 'variant'), variant);
    await writeFile(join(tmp, 'linker'), linker?.id ?? 'cargo');
    await publishDir(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { path, key, compiled: true, variant };
}

/**
 * zig links every stub, so that a Linux stub needs no glibc newer than the
 * target's floor (2.17) and other targets need no SDK. Without zig, a stub
 * for this very machine is still linked by cargo's usual linker, with a
 * warning: it then needs this machine's glibc.
 */
async function stubLinker(target: Target, reporter: Reporter): Promise<ZigToolchain | undefined> {
  try {
    return await findZigToolchain(reporter);
  } catch (err) {
    if (!(err instanceof UserError) || !isHost(target)) {
      if (err instanceof UserError) throw new UserError(`building the launcher for ${target.triple} needs zig and cargo-zigbuild: ${err.message}`, err.hint);
      throw err;
    }
    reporter.warn(`zig is out of reach (${err.message}), so the launcher is linked for this machine's glibc rather than ${target.floors.stubGlibc?.join('.') ?? 'the target\'s floor'}`);
    return undefined;
  }
}

/**
 * cargo-zigbuild's settings: which zig, no Python, its caches inside the build
 * cache (zig spins forever when it cannot create its default cache), and no
 * linker or C compiler of the user's for the target: cargo-zigbuild only
 * sets its own where none is set, so one left there would silently win.
 */
function zigEnv(linker: ZigToolchain, cache: BuildCache, target: Target): NodeJS.ProcessEnv {
  const cargoTarget = target.stub.rustTarget.toUpperCase().replace(/-/g, '_');
  const ccTarget = target.stub.rustTarget.replace(/-/g, '_');
  const scrubbed: NodeJS.ProcessEnv = {};
  for (const name of [`CARGO_TARGET_${cargoTarget}_LINKER`, ...['CC', 'CXX', 'AR', 'RANLIB'].flatMap((t) => [`${t}_${ccTarget}`, `${t}_${target.stub.rustTarget}`])]) {
    scrubbed[name] = undefined;
  }
  return {
    ...scrubbed,
    // Without it zig stamps the newest macOS as the minimum.
    MACOSX_DEPLOYMENT_TARGET: target.stub.macosDeploymentTarget,
    CARGO_ZIGBUILD_ZIG_PATH: linker.zig,
    // Otherwise it may look for zig through `python3 -m ziglang`.
    CARGO_ZIGBUILD_PYTHON_PATH: join(cache.root, 'no-python'),
    CARGO_ZIGBUILD_CACHE_DIR: cache.path('zigbuild'),
    ZIG_GLOBAL_CACHE_DIR: cache.path('zig-cache'),
    ZIG_LOCAL_CACHE_DIR: cache.path('zig-cache'),
  };
}

let rustc: Promise<string> | undefined;

/** `rustc -vV`: a new compiler makes new stubs. */
function rustcVersion(): Promise<string> {
  rustc ??= runCaptured(process.env.RUSTC ?? 'rustc', ['-vV'], { quiet: true, cannotStart: () => new UserError('rustc is not on PATH', 'install Rust with rustup (https://rustup.rs)') }).then(
    (r) => r.stdout,
    () => 'unknown rustc',
  );
  return rustc;
}

async function readVariant(dir: string): Promise<StubVariant> {
  return (await readFile(join(dir, 'variant'), 'utf8').catch(() => 'standard')) === 'min-size' ? 'min-size' : 'standard';
}

/** Whether the toolchain has the standard library's sources (rustup component rust-src). */
function hasRustSrc(): Promise<boolean> {
  return new Promise((resolve) => {
    const rustc = spawn(process.env.RUSTC ?? 'rustc', ['--print', 'sysroot'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    rustc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    rustc.on('error', () => resolve(false));
    rustc.on('close', (code) => resolve(code === 0 && existsSync(join(out.trim(), 'lib', 'rustlib', 'src', 'rust', 'library', 'std', 'Cargo.toml'))));
  });
}

async function runCargo(
  tool: { program: string; env: NodeJS.ProcessEnv },
  args: string[],
  targetDir: string,
  rustTarget: string,
  reporter: Reporter,
  signal?: AbortSignal,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<void> {
  const task = reporter.task(`compiling the launcher for ${rustTarget}`);
  try {
    const r = await runCaptured(tool.program, args, {
      cwd: PACKAGE_ROOT,
      env: { CARGO_TARGET_DIR: targetDir, CARGO_TERM_COLOR: 'never', CARGO_TERM_PROGRESS_WHEN: 'never', ...tool.env, ...extraEnv },
      ...(signal ? { signal } : {}),
      onOutput: (text) => {
        const crates = [...text.matchAll(/Compiling (\S+)/g)];
        if (crates.length) task.label(`compiling the launcher for ${rustTarget}: ${crates.at(-1)![1]}`);
      },
      cannotStart: (err) =>
        err.code === 'ENOENT'
          ? new UserError(`building the launcher needs ${tool.program}, which is not there`, 'install Rust with rustup (https://rustup.rs), or set CARGO to its path')
          : new UserError(`cannot run ${tool.program}: ${err.message}`),
    });
    if (r.code === 0) return;
    if (/target may not be installed|can't find crate for `(std|core)`/.test(r.output)) {
      throw new UserError(`the Rust target ${rustTarget} is not installed`, `run: rustup target add ${rustTarget}`);
    }
    const errors = r.output.split('\n').filter((l) => /^error/.test(l)).slice(0, 3).join('; ');
    throw new UserError(`cargo failed to build the launcher for ${rustTarget} (exit ${r.code})${errors ? `: ${errors}` : ''}`, "run the same build with PYSEAL_DEBUG=1 to see cargo's output");
  } finally {
    task.end();
  }
}
