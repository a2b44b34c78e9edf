/**
 * Against the real PyPI: skipped unless PYSEAL_ONLINE_TESTS=1, so the suite
 * stays hermetic. python-build-standalone's host is not used (it may be out of
 * reach); the distribution is the local fixture.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { serve, type Served } from './fixtures/server.js';
import { fixtures, LEVEL, pyseal, runExe, startExe, tempDir } from './helpers.js';

describe.skipIf(!process.env.PYSEAL_ONLINE_TESTS)('with the real PyPI', () => {
  it('builds black with its dependencies, then rebuilds without the network', async () => {
    const dir = tempDir();
    const f = fixtures();
    const args = ['build', '--quiet', '--distribution', f.python.archive, '--from', 'black==24.10.0', '--script', 'black', '--level', LEVEL];
    const first = await pyseal.async([...args, '--out', join(dir, 'black')], { cwd: dir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const home = join(dir, 'home');
    expect(runExe(join(dir, 'black'), ['--version'], { home }).stdout).toMatch(/^black, 24\.10\.0 \(compiled: yes\)/);
    expect(runExe(join(dir, 'black'), ['-q', '-'], { home, input: 'x = {  "a":1 }\n' }).stdout).toBe('x = {"a": 1}\n');

    const dead = 'http://127.0.0.1:9';
    const offline = await pyseal.async([...args, '--out', join(dir, 'again')], { cwd: dir, env: { HTTPS_PROXY: dead, HTTP_PROXY: dead, https_proxy: dead, http_proxy: dead } });
    expect(offline.stderr).toBe('');
    expect(offline.code).toBe(0);
  });

  it('builds ruff, whose wheel ships a native program in .data/scripts, and runs it directly', async () => {
    const dir = tempDir();
    const r = await pyseal.async(['build', '--quiet', '--distribution', fixtures().python.archive, '--from', 'ruff==0.7.4', '--script', 'ruff', '--level', LEVEL, '--out', join(dir, 'ruff')], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse((await pyseal.async(['inspect', '--json', join(dir, 'ruff')])).stdout).manifest.entry).toEqual({ kind: 'program', script: 'ruff' });
    const home = join(dir, 'home');
    expect(runExe(join(dir, 'ruff'), ['--version'], { home }).stdout).toBe('ruff 0.7.4\n');
    const check = runExe(join(dir, 'ruff'), ['check', '--select', 'F401', '--stdin-filename', 'x.py', '-'], { home, input: 'import os\n' });
    expect(check.stdout).toContain('F401');
    expect(check.code).toBe(1);
  });

  it('builds a setuptools project with a dependency', async () => {
    const dir = join(tempDir(), 'proj');
    mkdirSync(join(dir, 'src', 'hi'), { recursive: true });
    writeFileSync(
      join(dir, 'pyproject.toml'),
      '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n' +
        '[project]\nname = "hi"\nversion = "1.0"\ndependencies = ["click>=8"]\n\n[project.scripts]\nhi = "hi:main"\n',
    );
    writeFileSync(join(dir, 'src', 'hi', '__init__.py'), 'import click\n\n@click.command()\n@click.argument("name")\ndef main(name):\n    click.echo(f"hi {name}")\n');
    const r = await pyseal.async(['build', dir, '--quiet', '--distribution', fixtures().python.archive, '--level', LEVEL]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(runExe(join(dir, 'dist', 'hi'), ['there'], { home: join(dir, 'home') }).stdout).toBe('hi there\n');
  });

  it('bootstraps a lazy black from a loopback mirror of what the build resolved', async () => {
    const dir = tempDir();
    const f = fixtures();
    const cache = join(dir, 'cache');
    const hosted = join(dir, 'hosted');
    // The server reads `files` on every request, so it can start empty: its
    // address goes into the build, the files it serves come from the build.
    const files: Record<string, Served> = {};
    const mirror = await serve(files);
    try {
      const r = await pyseal.async(
        ['build', '--quiet', '--mode', 'lazy', '--distribution', f.python.archive, '--from', 'black==24.10.0', '--script', 'black', '--blobs-dir', hosted, '--blobs-url', mirror.url('/hosted'), '--level', LEVEL, '--out', join(dir, 'black')],
        { cwd: dir, buildCache: cache },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      type Fetched = { source: { url?: { sha256: string; mirror?: { kind: string; path: string } } } };
      const fetched = (JSON.parse(pyseal(['inspect', '--json', join(dir, 'black')]).stdout).manifest.blobs as Fetched[]).map((b) => b.source.url).filter((u) => u !== undefined);
      expect(fetched.length).toBeGreaterThanOrEqual(5); // CPython and black's dependencies
      for (const name of readdirSync(hosted)) files[`/hosted/${name}`] = { body: readFileSync(join(hosted, name)) };
      // Each wheel at the path a PyPI-shaped mirror has it under.
      for (const u of fetched.filter((u) => u.mirror?.kind === 'index')) {
        files[`/${decodeURIComponent(u.mirror!.path)}`] = { body: readFileSync(join(cache, 'downloads', u.sha256)) };
      }
      const home = join(dir, 'home');
      const first = await startExe(join(dir, 'black'), ['--version'], home, { PYSEAL_INDEX_MIRROR: mirror.url('') }).done;
      expect(first.stderr).toBe('');
      expect(first.stdout).toMatch(/^black, 24\.10\.0 \(compiled: yes\)/);
      expect(mirror.requests.filter((q) => q.agent.startsWith('pyseal-launcher/')).length).toBe(fetched.length);
      expect(runExe(join(dir, 'black'), ['-q', '-'], { home, input: 'x = {  "a":1 }\n' }).stdout).toBe('x = {"a": 1}\n');
    } finally {
      await mirror.close();
    }
  });
});
