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
import type { Target } from './targets.js';

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

/** Everything that decides the stub's bytes. */
async function stubKey(req: StubRequest): Promise<string> {
  const hash = createHash('sha256');
  const files = ['Cargo.toml', 'Cargo.lock', ...(await listFiles(join(PACKAGE_ROOT, 'launcher')))];
  for (const file of files.sort()) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(PACKAGE_ROOT, file)));
  }
  hash.update(JSON.stringify({ profile: STUB_PROFILE, target: req.target.stub.rustTarget, features: [...req.features].sort() }));
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
  const key = await stubKey(req);
  const name = `pyseal-launcher${req.target.exeSuffix}`;
  const dir = cache.path('stubs', key);
  const path = join(dir, name);
  if (existsSync(path)) return { path, key, compiled: false, variant: await readVariant(dir) };

  const rustTarget = req.target.stub.rustTarget;
  const args = [
    'build',
    '--manifest-path', join(PACKAGE_ROOT, 'Cargo.toml'),
    '--package', CRATE,
    '--bin', CRATE,
    '--profile', STUB_PROFILE,
    '--target', rustTarget,
    '--no-default-features',
    '--locked',
  ];
  if (req.features.length > 0) args.push('--features', req.features.join(','));

  // Smallest first: std rebuilt for size with panics that abort at once. That
  // needs rust-src and unstable cargo flags, so any failure falls back.
  let variant: StubVariant = 'standard';
  let targetDir = await cache.ensureDir('cargo');
  if (process.env.PYSEAL_STUB_BUILD_STD !== '0' && (await hasRustSrc())) {
    const minDir = await cache.ensureDir('cargo-min-size');
    const built = await runCargo([...args, '-Zbuild-std=std,panic_abort'], minDir, rustTarget, reporter, req.signal, {
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
  if (variant === 'standard') await runCargo(args, targetDir, rustTarget, reporter, req.signal);

  const built = join(targetDir, rustTarget, STUB_PROFILE, name);
  const stubs = await cache.ensureDir('stubs');
  const tmp = cache.temp(stubs, key);
  await mkdir(tmp, { recursive: true });
  try {
    await copyFile(built, join(tmp, name));
    await writeFile(join(tmp, 'variant'), variant);
    await publishDir(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { path, key, compiled: true, variant };
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

async function runCargo(args: string[], targetDir: string, rustTarget: string, reporter: Reporter, signal?: AbortSignal, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  const task = reporter.task(`compiling the launcher for ${rustTarget}`);
  try {
    const r = await runCaptured(process.env.CARGO ?? 'cargo', args, {
      cwd: PACKAGE_ROOT,
      env: { CARGO_TARGET_DIR: targetDir, CARGO_TERM_COLOR: 'never', CARGO_TERM_PROGRESS_WHEN: 'never', ...extraEnv },
      ...(signal ? { signal } : {}),
      onOutput: (text) => {
        const crates = [...text.matchAll(/Compiling (\S+)/g)];
        if (crates.length) task.label(`compiling the launcher for ${rustTarget}: ${crates.at(-1)![1]}`);
      },
      cannotStart: (err) =>
        err.code === 'ENOENT'
          ? new UserError('building the launcher needs cargo (Rust), which is not on PATH', 'install Rust with rustup (https://rustup.rs), or set CARGO to its path')
          : new UserError(`cannot run cargo: ${err.message}`),
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
