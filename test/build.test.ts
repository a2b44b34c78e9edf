/** End to end: `pyseal build` makes an executable that installs itself and runs the app. */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { build } from '../src/build.js';
import { Reporter } from '../src/progress.js';
import { calcApp, demoApp, extensionWheel, makeWheel } from './fixtures/wheels.mjs';
import { buildApp, CLI, fixtures, LEVEL, listTree, names, pyseal, runExe, tempDir } from './helpers.js';

describe('a built executable', () => {
  it('installs on first run and runs the app with the user\'s arguments, stdin, environment and exit code', () => {
    const dir = tempDir();
    const exe = buildApp({ out: join(dir, 'hello') });
    const home = join(dir, 'home');

    const first = runExe(exe, ['Ada', 'Lovelace'], { home });
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('hello, Ada Lovelace!\nargv0=hello\n');
    expect(first.code).toBe(0);
    expect(names(join(home, 'blobs'))).toHaveLength(3);

    expect(runExe(exe, ['--echo-stdin'], { home, input: 'piped text' }).stdout).toBe('PIPED TEXT');
    expect(runExe(exe, ['--env', 'PYSEAL_TEST_VAR'], { home, env: { PYSEAL_TEST_VAR: 'from the user' } }).stdout).toBe('from the user\n');
    const exit = runExe(exe, ['--exit', '42'], { home });
    expect(exit.code).toBe(42);
    expect(exit.stderr).toBe('');
  });

  it('runs from its own environment, not from anything on the machine', () => {
    const dir = tempDir();
    const exe = buildApp({ out: join(dir, 'hello') });
    const home = join(dir, 'home');
    const where = runExe(exe, ['--where'], { home, env: { PYTHONHOME: '/nonexistent', PYTHONPATH: '' } });
    expect(where.code).toBe(0);
    const [executable, prefix, module] = where.stdout.trim().split('\n');
    expect(executable).toBe(join(prefix!, 'bin', 'python'));
    expect(prefix!.startsWith(join(home, 'envs', 'hello-app', '1.0.0-'))).toBe(true);
    expect(module).toBe(join(prefix!, 'lib', `python${fixtures().python.major}.${fixtures().python.minor}`, 'site-packages', 'greetlib', '__init__.py'));
  });

  it('runs compiled extension modules from platform wheels', () => {
    const dir = tempDir();
    const wheels = join(dir, 'wheels');
    const ext = extensionWheel(wheels);
    const app = calcApp(wheels);
    const exe = buildApp({ out: join(dir, 'calc'), wheels: [app, ext] });
    const r = runExe(exe, ['14'], { home: join(dir, 'home') });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('42\n');
  });

  it('accepts .tar.zst distributions and gives the same blob as .tar.gz', () => {
    const dir = tempDir();
    const gz = buildApp({ out: join(dir, 'gz') });
    const zst = buildApp({ out: join(dir, 'zst'), distribution: fixtures().python.zstArchive });
    const blobOf = (exe: string) => JSON.parse(pyseal(['inspect', '--json', exe]).stdout).manifest.python.blob;
    expect(blobOf(zst)).toBe(blobOf(gz));
    expect(runExe(zst, ['zst'], { home: join(dir, 'home') }).stdout).toContain('hello, zst!');
  });

  it('installs wheel scripts, data files and console scripts into the environment', () => {
    const dir = tempDir();
    const wheels = join(dir, 'wheels');
    const app = makeWheel({
      name: 'rich-layout',
      version: '3.0',
      out: wheels,
      console_scripts: { 'rich-layout': 'rich_layout:main', helper: 'rich_layout:helper' },
      data: { scripts: { 'raw-tool': '#!python\nprint("raw tool ran")\n' }, data: { 'share/rich-layout/motd.txt': 'message of the day' } },
      files: {
        'rich_layout/__init__.py':
          'import os, subprocess, sys\n\ndef helper():\n    print("helper ran")\n\ndef main():\n    bindir = os.path.dirname(sys.executable)\n' +
          '    print(open(os.path.join(sys.prefix, "share", "rich-layout", "motd.txt")).read())\n' +
          '    print(subprocess.run([os.path.join(bindir, "helper")], capture_output=True, text=True).stdout.strip())\n' +
          '    print(subprocess.run([os.path.join(bindir, "raw-tool")], capture_output=True, text=True).stdout.strip())\n',
      },
    });
    const exe = buildApp({ out: join(dir, 'rl'), wheels: [app], args: ['--script', 'rich-layout'] });
    const r = runExe(exe, [], { home: join(dir, 'home') });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('message of the day\nhelper ran\nraw tool ran\n');
  });

  it('runs an explicit --entry and passes SystemExit through', () => {
    const dir = tempDir();
    const wheels = join(dir, 'wheels');
    const lib = makeWheel({
      name: 'nocli',
      version: '1.2',
      out: wheels,
      files: { 'nocli/tools.py': 'import sys\n\nclass Tool:\n    @staticmethod\n    def run():\n        print("tool", *sys.argv[1:])\n        raise SystemExit(3)\n' },
    });
    const exe = buildApp({ out: join(dir, 'tool'), wheels: [lib], args: ['--entry', 'nocli.tools:Tool.run'] });
    const r = runExe(exe, ['a', 'b'], { home: join(dir, 'home') });
    expect(r.stdout).toBe('tool a b\n');
    expect(r.code).toBe(3);
  });

  it('shares one copy of the Python distribution between apps', () => {
    const dir = tempDir();
    const other = demoApp(join(dir, 'wheels'), { name: 'other-app', greeting: 'hey' });
    const a = buildApp({ out: join(dir, 'a') });
    const b = buildApp({ out: join(dir, 'b'), wheels: [other.app, other.lib] });
    const home = join(dir, 'home');
    expect(runExe(a, [], { home }).stdout).toContain('hello, world!');
    expect(runExe(b, [], { home }).stdout).toContain('hey, world!');
    // python + hello-app + greetlib 2.1 (hello) + other-app + greetlib 2.1 (different content)
    const blobs = names(join(home, 'blobs'));
    expect(blobs).toHaveLength(5);
    const pythons = blobs.filter((b) => existsSync(join(home, 'blobs', b, 'python')));
    expect(pythons).toHaveLength(1);
  });
});

describe('building', () => {
  it('reuses the stub and every blob on a rebuild, and writes the same bytes', async () => {
    const dir = tempDir();
    const f = fixtures();
    const opts = { distribution: f.python.archive, wheels: [f.wheels.app, f.wheels.lib], level: Number(LEVEL), cacheDir: f.buildCache, reporter: new Reporter(process.stderr, false) };
    const one = await build({ ...opts, out: join(dir, 'one') });
    const two = await build({ ...opts, out: join(dir, 'two') });
    expect(two.compiledStub).toBe(false);
    expect(two.compressedBlobs).toBe(0);
    expect(readFileSync(two.out).equals(readFileSync(one.out))).toBe(true);

    // A new app version re-compresses only the app's own blob. (The version is
    // new on every run: the shared build cache outlives test runs.)
    const version = `1.0.${Date.now()}`;
    const changed = demoApp(join(dir, 'wheels'), { version });
    const three = await build({ ...opts, wheels: [changed.app, f.wheels.lib], out: join(dir, 'three') });
    expect(three.compiledStub).toBe(false);
    expect(three.compressedBlobs).toBe(1);
    expect(three.manifest.version).toBe(version);
  });

  it('reads [tool.pyseal] from pyproject.toml, with flags on top', () => {
    const dir = tempDir();
    const f = fixtures();
    writeFileSync(
      join(dir, 'pyproject.toml'),
      `[project]\nname = "Hello-App"\nversion = "1.0.0"\n\n[tool.pyseal]\ndistribution = ${JSON.stringify(f.python.archive)}\n` +
        `wheels = [${JSON.stringify(f.wheels.app)}, ${JSON.stringify(f.wheels.lib)}]\nlevel = ${LEVEL}\nself-command = "manage"\nout = "bin/hello"\n`,
    );
    const r = pyseal(['build', dir, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const exe = join(dir, 'bin', 'hello');
    expect(statSync(exe).mode & 0o111).not.toBe(0);
    expect(runExe(exe, ['manage', 'info'], { home: join(dir, 'home') }).stdout).toContain('app:          hello-app 1.0.0');

    const override = pyseal(['build', dir, '--quiet', '--out', join(dir, 'other'), '--self-command', 'admin']);
    expect(override.code).toBe(0);
    const inspected = JSON.parse(pyseal(['inspect', '--json', join(dir, 'other')]).stdout);
    expect(inspected.manifest.self_command).toBe('admin');
  });

  it('takes every wheel in a --wheels directory', () => {
    const dir = tempDir();
    const f = fixtures();
    const wheels = join(dir, 'wheels');
    // Named to sort after its dependency: the app is the wheel with console scripts.
    demoApp(wheels, { name: 'zed-app' });
    const out = join(dir, 'zed-app');
    const r = pyseal(['build', '--quiet', '--distribution', f.python.archive, '--wheels', wheels, '--level', LEVEL, '--out', out], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const inspected = JSON.parse(pyseal(['inspect', '--json', out]).stdout);
    expect(inspected.manifest.blobs.map((b: { name: string }) => b.name).sort()).toEqual(['cpython-' + f.python.version, 'greetlib-2.1', 'zed-app-1.0.0']);
    expect(inspected.manifest.app).toBe('zed-app');
    expect(runExe(out, [], { home: join(dir, 'home') }).stdout).toContain('hello, world!');
  });

  it('shows progress on a terminal, and nothing otherwise', () => {
    const dir = tempDir();
    const f = fixtures();
    const cache = join(dir, 'cache');
    cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
    const args = ['build', '--distribution', f.python.archive, '--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--level', '12'];
    const command = [process.execPath, CLI, ...args, '--out', join(dir, 'tty')].map((a) => `'${a}'`).join(' ');
    // `script` gives the build a pseudo-terminal; CI= because CI=true turns progress off.
    const tty = spawnSync('script', ['-qec', command, '/dev/null'], { env: { ...process.env, PYSEAL_BUILD_CACHE: cache, CI: '' }, encoding: 'utf8' });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/\r\x1b\[2K\S+ (unpacking|compressing)/);
    expect(tty.stdout).toMatch(/built .*tty/);
    const piped = pyseal([...args, '--out', join(dir, 'piped')], { buildCache: cache });
    expect(piped.stderr).toBe('');
  });

  it('prints what an executable carries', () => {
    const dir = tempDir();
    const exe = buildApp({ out: join(dir, 'hello') });
    const text = pyseal(['inspect', exe]);
    expect(text.code).toBe(0);
    const f = fixtures();
    expect(text.stdout).toContain('app:          hello-app 1.0.0');
    expect(text.stdout).toContain('entry point:  hello_app.cli:main (script hello-app)');
    expect(text.stdout).toContain(`python:       ${f.python.version}`);
    expect(text.stdout).toMatch(/target: +x86_64-unknown-linux-gnu/);
    expect(text.stdout).toMatch(/python +cpython-3\.\d+\.\d+/);
    expect(text.stdout).toMatch(/wheel +greetlib-2\.1/);

    const json = JSON.parse(pyseal(['inspect', '--json', exe]).stdout);
    expect(json.manifest.blobs.map((b: { kind: string }) => b.kind)).toEqual(['python', 'wheel', 'wheel']);
    expect(json.stubSize + json.payloadSize).toBe(json.fileSize);
    expect(json.buildId).toBe(json.manifestSha256.slice(0, 12));
  });

  it('leaves no temp files in the build cache or beside the output', () => {
    const dir = tempDir();
    // A private cache, so no other test's build in progress is in view; the
    // stub is copied in to spare a cargo run.
    const cache = join(dir, 'cache');
    cpSync(join(fixtures().buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
    const f = fixtures();
    const r = pyseal(['build', '--quiet', '--distribution', f.python.archive, '--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--level', '1', '--out', join(dir, 'out', 'hello')], { buildCache: cache });
    expect(r.code).toBe(0);
    const everything = listTree(dir).map((l) => l.split(' ')[0]!);
    expect(everything.filter((p) => /(^|\/)\.(tmp-|hello\.pyseal-tmp)/.test(p))).toEqual([]);
    expect(everything).toContain('out/hello');
  });

  it('prints one JSON object with --json, for release scripts', () => {
    const dir = tempDir();
    const f = fixtures();
    const r = pyseal(['build', '--json', '--distribution', f.python.archive, '--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--level', LEVEL, '--out', join(dir, 'hello')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(summary).toMatchObject({
      out: join(dir, 'hello'),
      size: statSync(join(dir, 'hello')).size,
      app: 'hello-app',
      version: '1.0.0',
      python: f.python.version,
      target: 'x86_64-unknown-linux-gnu',
      mode: 'embedded',
      entry: { kind: 'function', module: 'hello_app.cli', function: 'main', script: 'hello-app' },
      lockFile: null,
    });
    expect(summary.blobs.map((b: { kind: string; name: string }) => `${b.kind} ${b.name}`)).toEqual([`python cpython-${f.python.version}`, 'wheel hello-app-1.0.0', 'wheel greetlib-2.1']);
    expect(summary.blobs[0]).toEqual({ kind: 'python', name: `cpython-${f.python.version}`, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: expect.any(Number), packed: expect.any(Number) });
    expect(Object.keys(summary.timings)).toEqual(expect.arrayContaining(['distribution', 'stage', 'stub', 'compress', 'write', 'total']));
    const failed = pyseal(['build', '--json', '--wheel', '/nonexistent/x-1.0-py3-none-any.whl', '--out', join(dir, 'never')]);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^error: wheel \/nonexistent\/x-1\.0-py3-none-any\.whl does not exist\n/);
    expect(failed.code).toBe(1);
  });

  it('clears what killed builds left in the build cache, but not the work of live ones', () => {
    const dir = tempDir();
    const f = fixtures();
    const cache = join(dir, 'cache');
    cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
    // A process that has surely ended: a child we started and waited for.
    const dead = spawnSync('true').pid!;
    const old = new Date(Date.now() - 60_000);
    const plant = (path: string, time = old) => {
      mkdirSync(path, { recursive: true });
      writeFileSync(join(path, 'half-written'), 'x');
      utimesSync(path, time, time);
      return path;
    };
    const debris = [plant(join(cache, 'stages', `.tmp-${dead}-abc-123`)), plant(join(cache, 'named', 'ff'.repeat(32), `.tmp-${dead}-link-1`)), plant(join(cache, `.tmp-${dead}-x`))];
    const live = plant(join(cache, 'stages', `.tmp-${process.pid}-mine-1`));
    // Newer than the build's own start: not provably debris yet.
    const fresh = plant(join(cache, 'stages', `.tmp-${dead}-young-1`), new Date(Date.now() + 600_000));
    // An interrupted download goes back to being a partial one, to be continued.
    mkdirSync(join(cache, 'downloads'), { recursive: true });
    const sha = 'ab'.repeat(32);
    writeFileSync(join(cache, 'downloads', `.tmp-${dead}-${sha}-r4nd0m`), 'first bytes');
    utimesSync(join(cache, 'downloads', `.tmp-${dead}-${sha}-r4nd0m`), old, old);

    const r = pyseal(['build', '--quiet', '--distribution', f.python.archive, '--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--level', '1', '--out', join(dir, 'hello')], { buildCache: cache });
    expect(r.code).toBe(0);
    for (const path of debris) expect(existsSync(path), path).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(fresh)).toBe(true);
    expect(readFileSync(join(cache, 'downloads', `${sha}.partial`), 'utf8')).toBe('first bytes');
  });
});
