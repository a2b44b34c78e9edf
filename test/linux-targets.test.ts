/**
 * Every Linux target from this x86_64 machine: launcher stubs linked by zig
 * (glibc floor 2.17; static on musl), dependencies resolved for the target
 * with uv, byte-compiled by a host CPython of the same version, and the
 * aarch64 and musl executables run for real: aarch64 under qemu-user
 * (binfmt_misc), with a CPython made from Debian's arm64 packages; musl with a
 * CPython compiled against musl here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { BuildCache } from '../src/cache.js';
import { Reporter } from '../src/progress.js';
import { ensureStub } from '../src/stub.js';
import { resolveTarget, TARGETS } from '../src/targets/index.js';
import { findZigToolchain } from '../src/toolchain/index.js';
import { fixtureCatalogOf, serveIndex } from './fixtures/index.js';
import { fixturePython } from './fixtures/python.mjs';
import { ensureAarch64Runner, fixturePythonAarch64 } from './fixtures/python-aarch64.mjs';
import { fixturePythonMusl, fixturePythonMuslAarch64 } from './fixtures/python-musl.mjs';
import { calcApp, demoApp, extensionWheel, makeWheel } from './fixtures/wheels.mjs';
import { expectUserError, fixtures, LEVEL, names, pyseal, type Run, runExe, startExe, tempDir } from './helpers.js';

const quiet = new Reporter(process.stderr, false);
const EXPECTED = (argv0: string) => `hello, world!\nargv0=${argv0}\n`;
const LONG = 1_800_000;

/** The newest `GLIBC_x.y` a binary asks for, from its version-needs section (readelf reads any architecture). */
function newestGlibc(path: string): [number, number] {
  const out = execFileSync('readelf', ['-V', '-W', path], { encoding: 'utf8' });
  const versions = [...out.matchAll(/Name: GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
  return versions.sort((a, b) => a[0] - b[0] || a[1] - b[1]).at(-1) ?? [0, 0];
}

/** Whether the ELF file asks for a program interpreter (a dynamic loader). */
function isDynamic(path: string): boolean {
  return /Requesting program interpreter/.test(execFileSync('readelf', ['-l', '-W', path], { encoding: 'utf8' }));
}

describe('launcher stubs for every Linux target', () => {
  it(
    'need no glibc newer than 2.17 (gnu), and are static (musl)',
    async () => {
      const cache = new BuildCache(fixtures().buildCache);
      for (const target of TARGETS.filter((t) => t.os === 'linux')) {
        const featureSets = target.triple.startsWith('x86_64') && target.libc === 'gnu' ? [[], ['lazy']] : [[]];
        for (const features of featureSets) {
          const stub = await ensureStub({ target, features }, cache, quiet);
          const what = `${target.triple} ${features.join(',') || 'embedded'} (${stub.variant})`;
          if (target.libc === 'gnu') {
            const [major, minor] = newestGlibc(stub.path);
            expect(major * 100 + minor, `${what} needs GLIBC_${major}.${minor}`).toBeLessThanOrEqual(217);
            expect(major, what).toBe(2);
          } else {
            expect(isDynamic(stub.path), `${what} is dynamic`).toBe(false);
          }
          expect(readFileSync(join(stub.path, '..', 'linker'), 'utf8')).toMatch(/^zig \d+\.\d+\.\d+, cargo-zigbuild \d+\.\d+\.\d+$/);
        }
      }
    },
    LONG,
  );

  it('the musl stubs start here, and say what they lack', async () => {
    const cache = new BuildCache(fixtures().buildCache);
    const stub = await ensureStub({ target: resolveTarget('x86_64-unknown-linux-musl'), features: [] }, cache, quiet);
    const r = spawnSync(stub.path, [], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .* carries no pyseal payload \(it is truncated, damaged, stripped, appended to, or a bare launcher stub\)\n/);
  }, LONG);
});

describe('aarch64-unknown-linux-gnu, run under qemu-user', () => {
  let dir: string;
  let arm: ReturnType<typeof fixturePythonAarch64>;
  let host311: ReturnType<typeof fixturePython>;
  let hello: string;
  let calc: string;

  beforeAll(async () => {
    ensureAarch64Runner();
    arm = fixturePythonAarch64();
    host311 = fixturePython(`${arm.major}.${arm.minor}`);
    dir = tempDir('pyseal-aarch64');
    const wheels = demoApp(join(dir, 'wheels'));
    const zig = (await findZigToolchain(quiet)).zig;
    const ext = extensionWheel(join(dir, 'wheels'), { python: arm, arch: 'aarch64', cc: [zig, 'cc', '-target', 'aarch64-linux-gnu.2.17'] });
    const common = ['build', '--quiet', '--target', 'aarch64-unknown-linux-gnu', '--distribution', arm.archive, '--host-python', host311.python, '--level', LEVEL];
    const a = await pyseal.async([...common, '--wheel', wheels.app, '--wheel', wheels.lib, '--out', join(dir, 'hello')]);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const b = await pyseal.async([...common, '--wheel', calcApp(join(dir, 'wheels')), '--wheel', ext, '--out', join(dir, 'calc')]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    hello = join(dir, 'hello');
    calc = join(dir, 'calc');
  }, LONG);

  it('is an aarch64 program', () => {
    expect(execFileSync('readelf', ['-h', hello], { encoding: 'utf8' })).toMatch(/Machine:\s+AArch64/);
    expect(JSON.parse(pyseal(['inspect', '--json', hello]).stdout).manifest.target).toBe('aarch64-unknown-linux-gnu');
  });

  it('installs on first run, starts warm, passes arguments, stdin and exit codes', () => {
    const home = join(tempDir(), 'home');
    const first = runExe(hello, ['Ada'], { home });
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('hello, Ada!\nargv0=hello\n');
    expect(runExe(hello, [], { home }).stdout).toBe(EXPECTED('hello'));
    expect(runExe(hello, ['--echo-stdin'], { home, input: 'from qemu' }).stdout).toBe('FROM QEMU');
    expect(runExe(hello, ['--exit', '23'], { home }).code).toBe(23);
    expect(runExe(hello, ['self', 'python', '-c', 'import platform; print(platform.machine())'], { home }).stdout).toBe('aarch64\n');
  });

  it('carries pycs compiled by the host CPython of the same version', () => {
    const home = join(tempDir(), 'home');
    expect(runExe(hello, [], { home }).code).toBe(0);
    const blob = names(join(home, 'blobs')).find((b) => existsSync(join(home, 'blobs', b, 'site-packages', 'greetlib')))!;
    expect(readdirSync(join(home, 'blobs', blob, 'site-packages', 'greetlib', '__pycache__'))).toEqual([`__init__.cpython-${arm.major}${arm.minor}.pyc`]);
  });

  it('survives concurrent first runs', async () => {
    const home = join(tempDir(), 'home');
    const runs = await Promise.all(Array.from({ length: 4 }, () => startExe(hello, [], home).done));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(EXPECTED('hello'));
    }
  }, LONG);

  it('runs a C extension compiled for aarch64', () => {
    const r = runExe(calc, ['14'], { home: join(tempDir(), 'home') });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('42\n');
  });
});

describe('x86_64-unknown-linux-musl, run here', () => {
  it('installs and runs with a CPython built against musl', async () => {
    const musl = fixturePythonMusl();
    const host = fixturePython(`${musl.major}.${musl.minor}`);
    const dir = tempDir();
    const wheels = demoApp(join(dir, 'wheels'));
    const r = await pyseal.async(['build', '--quiet', '--target', 'x86_64-unknown-linux-musl', '--distribution', musl.archive, '--host-python', host.python, '--wheel', wheels.app, '--wheel', wheels.lib, '--level', LEVEL, '--out', join(dir, 'hello')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(isDynamic(join(dir, 'hello'))).toBe(false);
    const home = join(dir, 'home');
    expect(runExe(join(dir, 'hello'), [], { home }).stdout).toBe(EXPECTED('hello'));
    expect(runExe(join(dir, 'hello'), ['self', 'python', '-c', 'import sys; print(sys.platform)'], { home }).stdout).toBe('linux\n');
  }, LONG);
});

describe('resolving for another target', () => {
  it('evaluates markers for the target (uv), and names the wheels a package has when none fits', async () => {
    const f = fixtures();
    const arm = fixturePythonAarch64();
    const host311 = fixturePython(`${arm.major}.${arm.minor}`);
    const dir = tempDir();
    const w = join(dir, 'wheels');
    const armOnly = makeWheel({ name: 'armonly', version: '1.0', out: w, files: { 'armonly.py': '' } });
    const winOnly = makeWheel({ name: 'winonly', version: '1.0', out: w, files: { 'winonly.py': '' } });
    const x86Only = makeWheel({ name: 'x86only', version: '1.0', out: w, tag: 'py3-none-manylinux_2_17_x86_64', files: { 'x86only.py': '' } });
    const app = makeWheel({
      name: 'picky',
      version: '1.0',
      out: w,
      requires: ['armonly ; platform_machine == "aarch64"', 'winonly ; sys_platform == "win32"'],
      console_scripts: { picky: 'picky:main' },
      files: { 'picky.py': 'def main():\n    import armonly\n    print("picked")\n' },
    });
    const needy = makeWheel({ name: 'needy', version: '1.0', out: w, requires: ['x86only'], console_scripts: { needy: 'needy:main' }, files: { 'needy.py': 'def main(): pass\n' } });
    const server = await serveIndex({ python: f.python.interpreter, packages: [armOnly, winOnly, x86Only, app, needy] });
    try {
      const cache = join(dir, 'cache');
      cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
      const common = ['build', '--quiet', '--target', 'aarch64-unknown-linux-gnu', '--distribution', arm.archive, '--host-python', host311.python, '--index-url', server.index, '--level', LEVEL];
      const r = await pyseal.async([...common, '--from', 'picky', '--out', join(dir, 'picky')], { buildCache: cache, cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lock = readFileSync(join(dir, 'pylock.picky-aarch64-unknown-linux-gnu.toml'), 'utf8');
      expect(lock).toContain('name = "armonly"');
      expect(lock).not.toContain('winonly');
      expect(runExe(join(dir, 'picky'), [], { home: join(dir, 'home') }).stdout).toBe('picked\n');

      const none = await pyseal.async([...common, '--from', 'needy', '--out', join(dir, 'never')], { buildCache: cache, cwd: dir });
      expectUserError(none, /x86only has no wheel for CPython 3\.11 \(cp311\) on aarch64-unknown-linux-gnu \(manylinux_2_28_aarch64, manylinux_2_27_aarch64, \.\.\.\)/);
      expect(none.stderr).toMatch(/hint: its wheels: x86only-1\.0-py3-none-manylinux_2_17_x86_64\.whl/);
    } finally {
      await server.close();
    }
  }, LONG);

  it('builds without pycs, saying so in one line, when no CPython of the target\'s version runs here', async () => {
    const arm = fixturePythonAarch64();
    const dir = tempDir();
    const wheels = demoApp(join(dir, 'wheels'));
    const r = await pyseal.async(['build', '--quiet', '--target', 'aarch64-unknown-linux-gnu', '--distribution', arm.archive, '--python-mirror', 'http://127.0.0.1:9', '--wheel', wheels.app, '--wheel', wheels.lib, '--level', LEVEL, '--out', join(dir, 'hello')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: not byte-compiling for aarch64-unknown-linux-gnu: no CPython 3\.11 that runs here \(.*\); pass --host-python PATH for faster first imports\n$/);
    const home = join(dir, 'home');
    expect(runExe(join(dir, 'hello'), [], { home }).stdout).toBe(EXPECTED('hello'));
  }, LONG);
});

describe('--target all-linux', () => {
  it('builds one working executable per Linux target of the demo app, with one summary', async () => {
    const f = fixtures();
    const dir = tempDir();
    const arm = fixturePythonAarch64();
    const x86 = fixturePython(`${arm.major}.${arm.minor}`);
    const musl = fixturePythonMusl();
    const armMusl = fixturePythonMuslAarch64();
    const catalog = fixtureCatalogOf(dir, [
      { archive: x86.archive, version: x86.version, triple: 'x86_64-unknown-linux-gnu' },
      { archive: arm.archive, version: arm.version, triple: 'aarch64-unknown-linux-gnu' },
      { archive: musl.archive, version: musl.version, triple: 'x86_64-unknown-linux-musl' },
      { archive: armMusl.archive, version: armMusl.version, triple: 'aarch64-unknown-linux-musl' },
    ]);
    const server = await serveIndex({ python: f.python.interpreter, packages: [], distributions: catalog.distributions });
    try {
      // The demo app, as `npm run demo` makes its wheel.
      const project = join(dir, 'hello');
      cpSync(join(import.meta.dirname, '..', 'examples', 'hello'), project, { recursive: true });
      const wheel = makeWheel({ name: 'hello-pyseal', version: '0.1.0', out: join(dir, 'wheels'), console_scripts: { 'hello-pyseal': 'hello_pyseal.cli:main' }, files: demoFiles(project) });
      mkdirSync(join(project, 'dist'), { recursive: true });
      const r = await pyseal.async(['build', project, '--target', 'all-linux', '--python', `${arm.major}.${arm.minor}`, '--python-catalog', catalog.path, '--python-mirror', server.mirror, '--host-python', x86.python, '--wheel', wheel, '--level', LEVEL]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const triples = ['x86_64-unknown-linux-gnu', 'aarch64-unknown-linux-gnu', 'x86_64-unknown-linux-musl', 'aarch64-unknown-linux-musl'];
      expect(r.stdout.split('\n')[0]).toBe('built 4 executables of hello-pyseal 0.1.0:');
      for (const triple of triples) {
        expect(r.stdout).toMatch(new RegExp(`\\n  ${triple} +CPython 3\\.11\\.\\d+ +\\d+\\.\\d MB +.*dist/hello-pyseal-${triple}\\n`));
        const exe = join(project, 'dist', `hello-pyseal-${triple}`);
        const run: Run = runExe(exe, ['demo'], { home: join(dir, `home-${triple}`) });
        expect(run.stderr, triple).toBe('');
        expect(run.stdout, triple).toContain('demo');
      }
    } finally {
      await server.close();
    }
  }, LONG);
});

/** The demo app's sources, as the wheel's files. */
function demoFiles(project: string): Record<string, string> {
  const files: Record<string, string> = {};
  const pkg = join(project, 'src', 'hello_pyseal');
  for (const file of readdirSync(pkg)) if (file.endsWith('.py')) files[`hello_pyseal/${file}`] = readFileSync(join(pkg, file), 'utf8');
  return files;
}
