/** Shared test helpers: real processes, real files, temp dirs cleaned after each test. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { expect, inject, onTestFinished } from 'vitest';

import type { Fixtures } from './global-setup.js';

export const ROOT = join(import.meta.dirname, '..');
export const CLI = join(ROOT, 'dist', 'cli.js');
/** Tests compress fast; the level does not change what is tested. */
export const LEVEL = '3';

export function fixtures(): Fixtures {
  return inject('fixtures');
}

/** A temp dir removed when the current test ends (or kept with PYSEAL_KEEP_TEMP=1). */
export function tempDir(label = 'pyseal-test'): string {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  try {
    onTestFinished(() => {
      if (!process.env.PYSEAL_KEEP_TEMP) rmSync(dir, { recursive: true, force: true });
    });
  } catch {
    // Outside a test (beforeAll): the caller cleans up.
  }
  return dir;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the pyseal CLI against the shared build cache. */
export function pyseal(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; buildCache?: string } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, PYSEAL_BUILD_CACHE: opts.buildCache ?? fixtures().buildCache, ...opts.env },
    encoding: 'utf8',
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking this process (for tests that serve files from it). */
pyseal.async = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; buildCache?: string } = {}): Promise<Run> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, PYSEAL_BUILD_CACHE: opts.buildCache ?? fixtures().buildCache, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

/** Runs a built executable with its own user cache. */
export function runExe(exe: string, args: string[], opts: { home: string; input?: string; env?: NodeJS.ProcessEnv; cwd?: string }): Run {
  const r = spawnSync(exe, args, {
    cwd: opts.cwd,
    env: { ...process.env, PYSEAL_HOME: opts.home, ...opts.env },
    input: opts.input ?? '',
    encoding: 'utf8',
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts an executable without waiting, for concurrency and kill tests. */
export function startExe(exe: string, args: string[], home: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(exe, args, { env: { ...process.env, PYSEAL_HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

/** Builds the demo app (or the given wheels) and returns the executable's path. */
export function buildApp(opts: { out: string; wheels?: string[]; args?: string[]; distribution?: string }): string {
  const f = fixtures();
  const wheels = opts.wheels ?? [f.wheels.app, f.wheels.lib];
  const r = pyseal([
    'build',
    '--quiet',
    '--distribution',
    opts.distribution ?? f.python.archive,
    ...wheels.flatMap((w) => ['--wheel', w]),
    '--level',
    LEVEL,
    '--out',
    opts.out,
    ...(opts.args ?? []),
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return opts.out;
}

/**
 * Asserts the shape every user-caused failure must have: non-zero exit, one
 * `error:` line and at most one `hint:` line, no stack trace, no panic.
 */
export function expectUserError(r: Run, message: RegExp): void {
  expect(r.code, `expected failure, got exit ${r.code}; stderr:\n${r.stderr}`).not.toBe(0);
  expect(r.code).not.toBeNull();
  expect(r.stderr).toMatch(/^error: [^\n]+\n(hint: [^\n]+\n)?$/);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/panicked|stack backtrace|\n\s+at /);
}

/** `path kind size` for every entry under dir, sorted: compares trees exactly. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const st = lstatSync(full);
      const kind = st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file';
      out.push(`${relative(dir, full)} ${kind} ${kind === 'file' ? st.size : ''}`);
      if (kind === 'dir') walk(full);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Names in a directory, or [] when it does not exist. */
export function names(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}
