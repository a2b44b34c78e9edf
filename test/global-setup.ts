/**
 * Runs once before all test files: makes the fixture CPython (both archive
 * formats) and warms a shared build cache with the launcher stub, so the suite
 * runs cargo once rather than once per file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { TestProject } from 'vitest/node';

import { FIXTURES, fixturePython, fixturePythonZst } from './fixtures/python.mjs';
import { demoApp } from './fixtures/wheels.mjs';

export interface Fixtures {
  python: { archive: string; zstArchive: string; version: string; major: number; minor: number; interpreter: string };
  buildCache: string;
  wheels: { app: string; lib: string; name: string; version: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    fixtures: Fixtures;
  }
}

const ROOT = join(import.meta.dirname, '..');

export default function setup(project: TestProject) {
  if (!existsSync(join(ROOT, 'dist', 'cli.js')) || !existsSync(join(ROOT, 'native', 'index.cjs'))) {
    throw new Error('build pyseal first: npm run build');
  }
  const py = fixturePython();
  const zst = fixturePythonZst();
  const buildCache = process.env.PYSEAL_TEST_BUILD_CACHE ?? join(FIXTURES, 'build-cache');
  mkdirSync(buildCache, { recursive: true });
  const wheelDir = mkdtempSync(join(tmpdir(), 'pyseal-test-wheels-'));
  const wheels = demoApp(wheelDir);
  // Warm both stubs (embedded, and the lazy builds' network-capable tool) and
  // the distribution blob at the level tests use. The lazy build's URL is never fetched.
  const common = ['build', '--quiet', '--distribution', py.archive, '--wheel', wheels.app, '--wheel', wheels.lib, '--level', '3'];
  for (const extra of [['--out', join(wheelDir, 'warm-up')], ['--mode', 'lazy', '--blobs-dir', join(wheelDir, 'hosted'), '--blobs-url', 'http://127.0.0.1:9/', '--out', join(wheelDir, 'warm-up-lazy')]]) {
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...common, ...extra], { env: { ...process.env, PYSEAL_BUILD_CACHE: buildCache }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`warm-up build failed:\n${r.stderr}`);
  }
  project.provide('fixtures', {
    python: { archive: py.archive, zstArchive: zst.archive, version: py.version, major: py.major, minor: py.minor, interpreter: py.python },
    buildCache,
    wheels,
  });
}
