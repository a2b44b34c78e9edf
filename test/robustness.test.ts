/**
 * The cache is never broken or misleading: concurrent first runs, a first run
 * killed at any moment, and damaged executables.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { buildApp, expectUserError, listTree, names, pyseal, runExe, startExe, tempDir } from './helpers.js';

const EXPECTED = 'hello, world!\nargv0=hello\n';

describe('first runs', () => {
  let exe: string;
  let reference: { blobs: Record<string, string[]>; env: string[]; envName: string };

  beforeAll(() => {
    const dir = tempDir('pyseal-robust');
    exe = buildApp({ out: join(dir, 'hello') });
    // A clean install to compare every interrupted one against.
    const home = join(dir, 'reference-home');
    expect(runExe(exe, [], { home }).stdout).toBe(EXPECTED);
    const blobs: Record<string, string[]> = {};
    for (const b of names(join(home, 'blobs'))) blobs[b] = listTree(join(home, 'blobs', b));
    const envName = names(join(home, 'envs', 'hello-app'))[0]!;
    reference = { blobs, envName, env: envListing(join(home, 'envs', 'hello-app', envName), home) };
  });

  /** An environment's tree, with the one file that names the cache root reduced to its shape. */
  function envListing(env: string, home: string): string[] {
    const cfg = readFileSync(join(env, 'pyvenv.cfg'), 'utf8').replaceAll(home, '<home>');
    return [...listTree(env).filter((l) => !l.startsWith('pyvenv.cfg ')), cfg];
  }

  /** Every blob or environment visible in `home` is complete and exactly as in a clean install. */
  function expectNothingMisleading(home: string) {
    for (const b of names(join(home, 'blobs'))) {
      if (b.startsWith('.tmp-')) continue;
      expect(reference.blobs[b], `unexpected blob ${b}`).toBeDefined();
      expect(listTree(join(home, 'blobs', b))).toEqual(reference.blobs[b]);
    }
    for (const e of names(join(home, 'envs', 'hello-app'))) {
      if (e.startsWith('.tmp-')) continue;
      expect(e).toBe(reference.envName);
      expect(envListing(join(home, 'envs', 'hello-app', e), home)).toEqual(reference.env);
    }
  }

  it('eight simultaneous first runs on an empty cache all succeed', async () => {
    const home = join(tempDir(), 'home');
    const runs = await Promise.all(Array.from({ length: 8 }, () => startExe(exe, [], home).done));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(EXPECTED);
      expect(r.code).toBe(0);
    }
    expect(names(join(home, 'blobs'))).toEqual(Object.keys(reference.blobs).sort());
    expect(names(join(home, 'envs', 'hello-app'))).toEqual([reference.envName]);
    expectNothingMisleading(home);
  });

  it('a first run killed with SIGKILL at any moment leaves a cache the next run can use', async () => {
    const dir = tempDir();
    // Spread over the whole first run (a few hundred ms here), including its start and end.
    const delays = [0, 2, 5, 10, 20, 35, 50, 75, 100, 130, 160, 200, 250, 300, 400, 600];
    let killedMidway = 0;
    for (const delay of delays) {
      const home = join(dir, `home-${delay}`);
      const { child, done } = startExe(exe, [], home);
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      const killed = await done;
      if (killed.signal === 'SIGKILL') killedMidway++;
      expectNothingMisleading(home);
      const next = runExe(exe, [], { home });
      expect(next.stderr).toBe('');
      expect(next.stdout).toBe(EXPECTED);
      // The successful run cleared what the killed one left behind.
      expect(names(join(home, 'blobs')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
      expect(names(join(home, 'envs', 'hello-app')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
      expectNothingMisleading(home);
    }
    // The sweep must actually have interrupted first runs, or it proves nothing.
    expect(killedMidway).toBeGreaterThan(delays.length / 2);
  });

  it('puts back blobs removed by hand, on the next run', () => {
    const home = join(tempDir(), 'home');
    expect(runExe(exe, [], { home }).stdout).toBe(EXPECTED);
    const python = names(join(home, 'blobs')).find((b) => existsSync(join(home, 'blobs', b, 'python')))!;
    runExe('/bin/rm', ['-rf', join(home, 'blobs', python)], { home });
    const again = runExe(exe, [], { home });
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe(EXPECTED);
  });
});

describe('a damaged executable', () => {
  let exe: string;
  let bytes: Buffer;
  let stubSize: number;
  let manifestStart: number;
  let pythonBlob: { offset: number; length: number };

  beforeAll(() => {
    const dir = tempDir('pyseal-damaged');
    exe = buildApp({ out: join(dir, 'hello') });
    bytes = readFileSync(exe);
    const info = JSON.parse(pyseal(['inspect', '--json', exe]).stdout);
    stubSize = info.stubSize;
    const blobs = info.manifest.blobs as { kind: string; source: { payload: { offset: number; length: number } } }[];
    pythonBlob = blobs.find((b) => b.kind === 'python')!.source.payload;
    const last = blobs.at(-1)!.source.payload;
    manifestStart = stubSize + last.offset + last.length;
  });

  function variant(name: string, mutate: (b: Buffer) => Buffer): string {
    const path = join(tempDir(), name);
    writeFileSync(path, mutate(Buffer.from(bytes)), { mode: 0o755 });
    return path;
  }

  /** The bytes `strip` (binutils) makes of the executable. */
  const stripped = (b: Buffer) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in'), b);
    execFileSync('strip', ['-o', join(dir, 'out'), join(dir, 'in')]);
    return readFileSync(join(dir, 'out'));
  };

  const flip = (at: (b: Buffer) => number) => (b: Buffer) => {
    const i = at(b);
    b[i] = b[i]! ^ 0x10;
    return b;
  };

  const cases: [string, () => (b: Buffer) => Buffer, RegExp][] = [
    ['cut short in the middle of the payload', () => (b) => b.subarray(0, stubSize + Math.floor(pythonBlob.length / 2)), /carries no pyseal payload/],
    ['cut back to the bare stub', () => (b) => b.subarray(0, stubSize), /carries no pyseal payload/],
    ['missing its last bytes', () => (b) => b.subarray(0, b.length - 10), /carries no pyseal payload/],
    ['with a bit flipped in the manifest', () => flip(() => manifestStart + 40), /is damaged: the payload manifest does not match its checksum/],
    ['with a bit flipped in the trailer', () => flip((b) => b.length - 64 + 36), /is damaged|carries no pyseal payload/],
    ['with a bit flipped early in the Python blob', () => flip(() => stubSize + pythonBlob.offset + 1000), /is damaged/],
    ['with a bit flipped late in the Python blob', () => flip(() => stubSize + pythonBlob.offset + pythonBlob.length - 100), /is damaged/],
    ['with a bit flipped in a wheel blob', () => flip(() => manifestStart - 50), /is damaged/],
    // What a tool appending a signature (as Linux kernel modules carry) would do.
    ['with bytes appended after the payload', () => (b) => Buffer.concat([b, Buffer.from('~Module signature appended~\n')]), /carries no pyseal payload \(.*appended to/],
    // strip writes the ELF's sections only: the payload after them is gone.
    ['run through strip', () => (b) => stripped(b), /carries no pyseal payload \(.*stripped/],
  ];

  for (const [name, mutation, message] of cases) {
    it(`is refused with one clear line and installs nothing when ${name}`, () => {
      const damaged = variant('hello', mutation());
      const home = join(tempDir(), 'home');
      const r = runExe(damaged, [], { home });
      expectUserError(r, message);
      expect(r.stdout).toBe('');
      expect(names(join(home, 'blobs'))).toEqual([]);
      expect(names(join(home, 'envs'))).toEqual([]);
    });
  }

  it('is refused by inspect too', () => {
    const damaged = variant('hello', flip(() => manifestStart + 40));
    expectUserError(pyseal(['inspect', damaged]), /does not match its checksum/);
  });

  it('does not harm an installation made by an intact copy', () => {
    const dir = tempDir();
    const home = join(dir, 'home');
    const good = join(dir, 'intact', 'hello');
    mkdirSync(join(dir, 'intact'));
    copyFileSync(exe, good);
    expect(runExe(good, [], { home }).stdout).toBe(EXPECTED);
    const before = listTree(home);
    const damaged = variant('hello', flip(() => stubSize + pythonBlob.offset + 1000));
    // Same build id, environment present: a warm start does not read blobs at all.
    expect(runExe(damaged, [], { home }).stdout).toBe(EXPECTED);
    expectUserError(runExe(damaged, ['self', 'restore'], { home: join(dir, 'other-home') }), /is damaged/);
    expect(listTree(home)).toEqual(before);
  });
});
