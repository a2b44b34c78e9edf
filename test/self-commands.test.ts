/** `EXE self ...`: info, python, remove, restore, and the configurable word. */
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { demoApp } from './fixtures/wheels.mjs';
import { buildApp, expectUserError, names, runExe, tempDir } from './helpers.js';

describe('self commands', () => {
  let exe: string;
  let other: string;

  beforeAll(() => {
    const dir = tempDir('pyseal-self');
    exe = buildApp({ out: join(dir, 'hello') });
    const otherWheels = demoApp(join(dir, 'wheels'), { name: 'other-app' });
    other = buildApp({ out: join(dir, 'other'), wheels: [otherWheels.app, otherWheels.lib] });
  });

  it('lists the commands', () => {
    const r = runExe(exe, ['self'], { home: tempDir() });
    expect(r.code).toBe(0);
    for (const cmd of ['self info', 'self python', 'self restore', 'self remove']) expect(r.stdout).toContain(cmd);
  });

  it('info tells where the app lives, before and after its first run', () => {
    const home = join(tempDir(), 'home');
    const before = runExe(exe, ['self', 'info'], { home });
    expect(before.code).toBe(0);
    expect(before.stdout).toContain('app:          hello-app 1.0.0');
    expect(before.stdout).toContain(`cache:        ${home}`);
    expect(before.stdout).toContain('(not installed yet)');
    expect(names(home)).toEqual([]); // info installs nothing

    runExe(exe, [], { home });
    const after = runExe(exe, ['self', 'info'], { home });
    expect(after.stdout).toMatch(/environment: +\S+envs\/hello-app\/1\.0\.0-[0-9a-f]{12} \(installed\)/);
    expect(after.stdout).toMatch(/cpython-3\.\d+\.\d+ +installed, \d+\.\d MB/);
    expect(after.stdout).toMatch(/disk use: +\d+\.\d MB/);
  });

  it('python runs the app\'s interpreter with its packages, installing first if needed', () => {
    const home = join(tempDir(), 'home');
    const r = runExe(exe, ['self', 'python', '-c', 'import sys, greetlib; print(greetlib.greet("py")); sys.exit(5)'], { home });
    expect(r.stdout).toBe('hello, py!\n');
    expect(r.code).toBe(5);
    const stdin = runExe(exe, ['self', 'python', '-'], { home, input: 'print(6 * 7)\n' });
    expect(stdin.stdout).toBe('42\n');
  });

  it('remove deletes the release and the blobs no other app uses', () => {
    const home = join(tempDir(), 'home');
    runExe(exe, [], { home });
    runExe(other, [], { home });
    const blobsBefore = names(join(home, 'blobs'));
    mkdirSync(join(home, 'blobs', `.tmp-${'0'.repeat(64)}-12345`)); // a killed run's leftovers
    const r = runExe(exe, ['self', 'remove'], { home });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^removed hello-app 1\.0\.0 from .* \(\d+(\.\d)? [KM]?B freed\)\n$/);
    expect(existsSync(join(home, 'envs', 'hello-app'))).toBe(false);
    const blobsAfter = names(join(home, 'blobs'));
    // hello-app's own blob goes; the Python and the (byte-identical) greetlib
    // blob it shares with other-app stay.
    expect(blobsAfter.length).toBe(blobsBefore.length - 1);
    expect(blobsAfter.filter((b) => existsSync(join(home, 'blobs', b, 'site-packages', 'hello_app')))).toEqual([]);
    expect(runExe(other, [], { home }).stdout).toContain('hello, world!');
    // What killed runs leave behind goes too.
    expect(names(join(home, 'blobs')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    // Removing again says so; running again reinstalls.
    expect(runExe(exe, ['self', 'remove'], { home }).stdout).toMatch(/was not installed/);
    expect(runExe(exe, [], { home }).stdout).toContain('hello, world!');
  });

  it('restore repairs files damaged in the cache', () => {
    const home = join(tempDir(), 'home');
    runExe(exe, [], { home });
    const blob = names(join(home, 'blobs')).find((b) => existsSync(join(home, 'blobs', b, 'site-packages', 'greetlib')))!;
    const pkg = join(home, 'blobs', blob, 'site-packages', 'greetlib');
    chmodSync(pkg, 0o755);
    rmSync(join(pkg, '__init__.py'));
    rmSync(join(pkg, '__pycache__'), { recursive: true });
    expect(runExe(exe, [], { home }).code).not.toBe(0);
    const r = runExe(exe, ['self', 'restore'], { home });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^restored hello-app 1\.0\.0 in /);
    expect(runExe(exe, [], { home }).stdout).toContain('hello, world!');
  });

  it('refuses unknown commands, naming the known ones', () => {
    const r = runExe(exe, ['self', 'upgrade'], { home: tempDir() });
    expectUserError(r, /unknown command `self upgrade`/);
    expect(r.stderr).toContain('hint: the `self` commands are: info, python, restore, remove');
  });

  it('uses the configured word, and passes `self` to the app then', () => {
    const dir = tempDir();
    const custom = buildApp({ out: join(dir, 'hello'), args: ['--self-command', 'pyseal-admin'] });
    const home = join(dir, 'home');
    expect(runExe(custom, ['self'], { home }).stdout).toBe('hello, self!\nargv0=hello\n');
    expect(runExe(custom, ['pyseal-admin', 'info'], { home }).stdout).toContain('app:          hello-app 1.0.0');
  });
});
