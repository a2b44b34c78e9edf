/**
 * Real inputs: a project built through its PEP 517 backend, published packages
 * (--from), CPython by version from a catalog, dependencies resolved by pip and
 * locked, all against a loopback index and python-build-standalone mirror.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hostTriple } from '../src/targets/index.js';
import { fixtureCatalog, type IndexServer, serveIndex } from './fixtures/index.js';
import { backendWheel, demoApp, makeProject, makeSdist, makeWheel } from './fixtures/wheels.mjs';
import { expectUserError, fixtures, LEVEL, pyseal, type Run, runExe, tempDir } from './helpers.js';

let server: IndexServer;
let catalog: string;
let packages: string;
/** A build cache per file: the stub copied in, everything else fresh. */
let cache: string;

beforeAll(async () => {
  const dir = tempDir('pyseal-projects');
  packages = join(dir, 'packages');
  const f = fixtures();
  demoApp(packages); // hello-app 1.0.0 + greetlib 2.1
  demoApp(join(dir, 'v2'), { version: '2.0.0', greeting: 'hi' }); // a newer hello-app, served too
  backendWheel(packages);
  // A package published only as an sdist, built by fixture-backend.
  const sdistProject = makeProject(join(dir, 'shouty-src'), {
    name: 'shouty',
    version: '0.5',
    files: { 'src/shouty/__init__.py': 'def shout(s):\n    return s.upper() + "!"\n' },
  });
  makeSdist(sdistProject, packages);
  makeWheel({ name: 'winonly', version: '1.0', out: packages, tag: `cp${f.python.major}${f.python.minor}-cp${f.python.major}${f.python.minor}-win_amd64`, files: { 'winonly.py': '' } });
  const cat = fixtureCatalog(dir, { archive: f.python.archive, version: f.python.version }, hostTriple());
  catalog = cat.path;
  const { readdirSync } = await import('node:fs');
  server = await serveIndex({
    packages: [...readdirSync(packages).map((p) => join(packages, p)), join(dir, 'v2', 'hello_app-2.0.0-py3-none-any.whl')].filter((p) => /\.(whl|tar\.gz)$/.test(p)),
    distribution: { archive: f.python.archive, tag: cat.tag, asset: cat.asset },
    python: f.python.interpreter,
  });
  cache = join(dir, 'cache');
  cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
});

afterAll(() => server?.close());

/** pyseal build against the loopback index and mirror, never blocking the server. */
function build(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return pyseal.async(
    ['build', '--quiet', '--python-catalog', catalog, '--python-mirror', server.mirror, '--index-url', server.index, '--level', LEVEL, ...args],
    { buildCache: cache, ...opts },
  );
}

const GREETER = {
  name: 'greeter-app',
  version: '0.3.0',
  dependencies: ['greetlib>=2'],
  optional: { loud: ['shouty'] },
  scripts: { greeter: 'greeter_app:main' },
  files: {
    'src/greeter_app/__init__.py':
      'import sys\nfrom greetlib import greet\n\ndef main():\n    text = greet(" ".join(sys.argv[1:]) or "project")\n' +
      '    try:\n        from shouty import shout\n        text = shout(text)\n    except ImportError:\n        pass\n    print(text)\n',
  },
  tool: '[tool.pyseal]\npython = "3.12"',
};

describe('a pyproject project', () => {
  it('builds through its PEP 517 backend, resolves and locks its dependencies, and runs', async () => {
    const dir = makeProject(join(tempDir(), 'greeter'), GREETER);
    const first = await build([dir]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const exe = join(dir, 'dist', 'greeter-app');
    expect(runExe(exe, ['Grace'], { home: join(dir, 'home') }).stdout).toBe('hello, Grace!\n');

    const lock = readFileSync(join(dir, `pylock.greeter-app-${hostTriple()}.toml`), 'utf8');
    expect(lock).toMatch(/lock-version = "1\.0"/);
    expect(lock).toMatch(/name = "greetlib"\nversion = "2\.1"/);
    expect(lock).toMatch(/sha256 = "[0-9a-f]{64}"/);
    expect(lock).not.toMatch(/greeter-app"\nversion/); // the project itself is built, not locked

    // The second build resolves nothing and downloads nothing.
    const before = server.log.length;
    const second = await build([dir, '--out', join(dir, 'again')]);
    expect(second.code).toBe(0);
    expect(server.log.slice(before)).toEqual([]);
  });

  it('includes extras, and builds an sdist-only dependency on the host', async () => {
    const dir = makeProject(join(tempDir(), 'greeter'), GREETER);
    const r = await build([dir, '--extra', 'loud']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(runExe(join(dir, 'dist', 'greeter-app'), ['Ada'], { home: join(dir, 'home') }).stdout).toBe('HELLO, ADA!!\n');
    expect(readFileSync(join(dir, `pylock.greeter-app-${hostTriple()}.toml`), 'utf8')).toMatch(/\[packages\.sdist\]\nname = "shouty-0\.5\.tar\.gz"/);
  });

  it('resolves again with --upgrade, and when the dependencies change', async () => {
    const dir = makeProject(join(tempDir(), 'greeter'), GREETER);
    expect((await build([dir])).code).toBe(0);
    let before = server.log.length;
    expect((await build([dir, '--upgrade'])).code).toBe(0);
    expect(server.log.slice(before).some((l) => l.startsWith('GET /simple/greetlib/'))).toBe(true);
    makeProject(dir, { ...GREETER, dependencies: ['greetlib>=2', 'shouty'] });
    before = server.log.length;
    expect((await build([dir])).code).toBe(0);
    expect(server.log.slice(before).some((l) => l.startsWith('GET /simple/shouty/'))).toBe(true);
  });
});

describe('--from a published package', () => {
  it('builds the newest version, or the one asked for, with its dependencies', async () => {
    const dir = tempDir();
    const newest = await build(['--from', 'hello-app', '--out', join(dir, 'newest')], { cwd: dir });
    expect(newest.stderr).toBe('');
    expect(newest.code).toBe(0);
    expect(runExe(join(dir, 'newest'), ['you'], { home: join(dir, 'home') }).stdout).toBe('hello, you!\nargv0=newest\n');
    const pinned = await build(['--from', 'hello-app==1.0.0', '--out', join(dir, 'pinned')], { cwd: dir });
    expect(pinned.code).toBe(0);
    const info = JSON.parse(pyseal(['inspect', '--json', join(dir, 'pinned')]).stdout);
    expect(info.manifest.version).toBe('1.0.0');
    expect(existsSync(join(dir, `pylock.hello-app-${hostTriple()}.toml`))).toBe(true);
  });

  it('is the app even when run inside another project', async () => {
    const dir = makeProject(join(tempDir(), 'greeter'), GREETER);
    const r = await build(['--from', 'hello-app==1.0.0', '--out', join(dir, 'hello')], { cwd: dir });
    expect(r.code).toBe(0);
    const info = JSON.parse(pyseal(['inspect', '--json', join(dir, 'hello')]).stdout);
    expect([info.manifest.app, info.manifest.version, info.manifest.entry.script]).toEqual(['hello-app', '1.0.0', 'hello-app']);
    expect(existsSync(join(dir, `pylock.hello-app-${hostTriple()}.toml`))).toBe(true);
  });
});

describe('dependencies from other sources', () => {
  it('a requirements file with hashes, and --find-links with --no-index', async () => {
    const dir = tempDir();
    const f = fixtures();
    const { createHash } = await import('node:crypto');
    const hash = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    writeFileSync(join(dir, 'requirements.txt'), `hello-app==1.0.0 --hash=sha256:${hash(f.wheels.app)}\ngreetlib==2.1 --hash=sha256:${hash(f.wheels.lib)}\n`);
    const r = await build(['-r', join(dir, 'requirements.txt'), '--script', 'hello-app', '--out', join(dir, 'req')], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(runExe(join(dir, 'req'), [], { home: join(dir, 'home') }).stdout).toContain('hello, world!');

    const links = await build(['--from', 'hello-app==1.0.0', '--no-index', '--find-links', packages, '--out', join(dir, 'links')], { cwd: tempDir() });
    expect(links.stderr).toBe('');
    expect(links.code).toBe(0);
  });

  it('a PEP 751 pylock.toml and a uv.lock, selected for the target without resolving', async () => {
    const { createHash } = await import('node:crypto');
    const f = fixtures();
    const hash = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    const url = (p: string) => server.url(`/files/${p.split('/').pop()}`);
    const winonly = join(packages, `winonly-1.0-cp${f.python.major}${f.python.minor}-cp${f.python.major}${f.python.minor}-win_amd64.whl`);
    const pylockDir = makeProject(join(tempDir(), 'greeter'), GREETER);
    writeFileSync(
      join(pylockDir, 'pylock.toml'),
      `lock-version = "1.0"\ncreated-by = "hand"\n\n[[packages]]\nname = "greetlib"\nversion = "2.1"\n` +
        `wheels = [{ url = "${url(f.wheels.lib)}", hashes = { sha256 = "${hash(f.wheels.lib)}" } }]\n\n` +
        `[[packages]]\nname = "winonly"\nversion = "1.0"\nmarker = "sys_platform == 'win32'"\n` +
        `wheels = [{ url = "${url(winonly)}", hashes = { sha256 = "${hash(winonly)}" } }]\n`,
    );
    let before = server.log.length;
    const fromPylock = await build([pylockDir]);
    expect(fromPylock.stderr).toBe('');
    expect(fromPylock.code).toBe(0);
    // Only the build backend may be looked up (when its environment is not cached yet).
    expect(server.log.slice(before).filter((l) => l.includes('/simple/') && !l.includes('/simple/fixture-backend/'))).toEqual([]);
    expect(runExe(join(pylockDir, 'dist', 'greeter-app'), ['lock'], { home: join(pylockDir, 'home') }).stdout).toBe('hello, lock!\n');

    const uvDir = makeProject(join(tempDir(), 'greeter'), GREETER);
    writeFileSync(
      join(uvDir, 'uv.lock'),
      `version = 1\nrequires-python = ">=3.9"\n\n[[package]]\nname = "greeter-app"\nversion = "0.3.0"\nsource = { editable = "." }\n` +
        `dependencies = [{ name = "greetlib" }, { name = "winonly", marker = "sys_platform == 'win32'" }]\n\n` +
        `[package.optional-dependencies]\nloud = [{ name = "shouty" }]\n\n` +
        `[[package]]\nname = "greetlib"\nversion = "2.1"\nsource = { registry = "${server.index}" }\n` +
        `wheels = [{ url = "${url(f.wheels.lib)}", hash = "sha256:${hash(f.wheels.lib)}" }]\n\n` +
        `[[package]]\nname = "winonly"\nversion = "1.0"\nsource = { registry = "${server.index}" }\n` +
        `wheels = [{ url = "${url(winonly)}", hash = "sha256:${hash(winonly)}" }]\n`,
    );
    before = server.log.length;
    const fromUv = await build([uvDir]);
    expect(fromUv.stderr).toBe('');
    expect(fromUv.code).toBe(0);
    expect(server.log.slice(before).filter((l) => l.includes('/simple/') && !l.includes('/simple/fixture-backend/'))).toEqual([]);
    const lock = readFileSync(join(uvDir, `pylock.greeter-app-${hostTriple()}.toml`), 'utf8');
    expect(lock).toContain('name = "greetlib"');
    expect(lock).not.toContain('winonly');
  });
});

describe('bad input', () => {
  it('an unknown package', async () => {
    expectUserError(await build(['--from', 'no-such-package'], { cwd: tempDir() }), /no package named no-such-package on http:\/\/127\.0\.0\.1:\d+\/simple/);
  });

  it('a package without a wheel for the target, naming its files', async () => {
    const r = await build(['--from', 'winonly'], { cwd: tempDir() });
    expectUserError(r, /winonly has no wheel or sdist for CPython 3\.\d+ on x86_64-unknown-linux-gnu/);
    expect(r.stderr).toMatch(/hint: its files include: winonly-1\.0-cp3\d+-cp3\d+-win_amd64\.whl/);
  });

  it('a version that does not exist', async () => {
    expectUserError(await build(['--from', 'greetlib>=9'], { cwd: tempDir() }), /no version of greetlib satisfies greetlib>=9 for CPython 3\.\d+ on x86_64-unknown-linux-gnu \(available: 2\.1\)/);
  });

  it('an unreachable index', async () => {
    const r = await pyseal.async(['build', '--quiet', '--python-catalog', catalog, '--python-mirror', server.mirror, '--index-url', 'http://127.0.0.1:9/simple', '--from', 'hello-app'], { buildCache: cache, cwd: tempDir() });
    expectUserError(r, /cannot reach the package index http:\/\/127\.0\.0\.1:9\/simple: connection refused/);
    expect(r.stderr).toMatch(/hint: check --index-url/);
  });

  it('a Python version not in the catalog, listing the nearest', async () => {
    const builtin = await pyseal.async(['build', '--quiet', '--python', '3.8', '--from', 'x'], { buildCache: cache, cwd: tempDir() });
    expectUserError(builtin, /CPython 3\.8 is not in the Python catalog for x86_64-unknown-linux-gnu/);
    expect(builtin.stderr).toMatch(/hint: nearest versions there: 3\.9\.\d+, 3\.9\.\d+, 3\.9\.\d+, 3\.9\.\d+\n/);
    expectUserError(await build(['--python', '3.12.99', '--from', 'hello-app'], { cwd: tempDir() }), /CPython 3\.12\.99 is not in the Python catalog/);
  });

  it('an unreachable mirror, naming the URL and the mirror setting', async () => {
    const r = await pyseal.async(['build', '--quiet', '--python-catalog', catalog, '--python-mirror', 'http://127.0.0.1:9/pbs', '--from', 'hello-app'], { buildCache: join(tempDir(), 'cache'), cwd: tempDir() });
    expectUserError(r, /cannot download http:\/\/127\.0\.0\.1:9\/pbs\/29990101\/cpython-3\.\d+\.\d+%2B29990101-x86_64-unknown-linux-gnu-install_only_stripped\.tar\.gz: connection refused/);
    expect(r.stderr).toMatch(/hint: check the mirror \(--python-mirror \/ PYSEAL_PYTHON_MIRROR = http:\/\/127\.0\.0\.1:9\/pbs\)/);
  });

  it('a catalog that is not one', async () => {
    const path = join(tempDir(), 'catalog.json');
    writeFileSync(path, '{"pythons": 3}');
    expectUserError(await pyseal.async(['build', '--python-catalog', path, '--from', 'x'], { buildCache: cache, cwd: tempDir() }), /the Python catalog .*catalog\.json does not have the expected shape/);
  });
});

// pip (this fixture's 23.2) fetches the wheels it resolves as well; the faults
// are aimed at pyseal's own downloader, which must survive them.
describe('network faults on downloads', () => {
  it.each([
    ['answering 500 twice', { kind: 'status', status: 500, times: 2 }, 3, false],
    ['resetting mid-body', { kind: 'reset', after: 500, times: 1 }, 2, true],
    ['sending a short body', { kind: 'short', after: 500, times: 1 }, 2, true],
    ['stalling between pieces', { kind: 'slow', delayMs: 50 }, 1, false],
  ] as const)('recovers from a server %s', async (_label, fault, requests, resumed) => {
    const f = fixtures();
    const wheels = join(tempDir(), 'wheels');
    // A fresh app name per case, so nothing is cached and the faulty file is fetched.
    const name = `faulty-${Math.random().toString(36).slice(2, 8)}`;
    const app = makeWheel({ name, version: '1.0', out: wheels, requires: ['greetlib'], console_scripts: { [name]: 'faulty:main' }, files: { 'faulty.py': 'def main():\n    print("survived")\n' } });
    const faulty = await serveIndex({ packages: [app, f.wheels.lib], faults: { [app.split('/').pop()!]: fault }, faultFor: /^pyseal\//, python: f.python.interpreter });
    try {
      const dir = tempDir();
      const r = await pyseal.async(['build', '--quiet', '--python-catalog', catalog, '--python-mirror', server.mirror, '--index-url', faulty.index, '--from', name, '--level', LEVEL, '--out', join(dir, 'app')], { buildCache: cache, cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(runExe(join(dir, 'app'), [], { home: join(dir, 'home') }).stdout).toBe('survived\n');
      // pyseal itself met the fault, and retried (resuming where the body broke off).
      const ours = faulty.requests.filter((q) => q.path.endsWith('.whl') && q.path.includes(name.replace(/-/g, '_')) && q.agent.startsWith('pyseal/'));
      expect(ours).toHaveLength(requests);
      expect(ours.at(-1)!.range !== undefined).toBe(resumed);
    } finally {
      await faulty.close();
    }
  });

  it('resumes a distribution download from the mirror that broke off', async () => {
    const f = fixtures();
    const dir = tempDir();
    const cat = fixtureCatalog(dir, { archive: f.python.archive, version: f.python.version }, hostTriple());
    const mirror = await serveIndex({ packages: [f.wheels.app, f.wheels.lib], distribution: { archive: f.python.archive, tag: cat.tag, asset: cat.asset }, faults: { [cat.asset]: { kind: 'reset', after: 1_000_000, times: 1 } }, python: f.python.interpreter });
    try {
      const fresh = join(dir, 'cache');
      cpSync(join(f.buildCache, 'stubs'), join(fresh, 'stubs'), { recursive: true });
      const r = await pyseal.async(['build', '--quiet', '--python-catalog', cat.path, '--python-mirror', mirror.mirror, '--index-url', mirror.index, '--from', 'hello-app', '--level', LEVEL, '--out', join(dir, 'app')], { buildCache: fresh, cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(mirror.log.filter((l) => l.includes('/pbs/'))).toEqual([`GET /pbs/${cat.tag}/${cat.asset}`, `GET /pbs/${cat.tag}/${cat.asset} bytes=1000000-`]);
    } finally {
      await mirror.close();
    }
  });

  it('refuses wrong bytes, naming the URL and both hashes', async () => {
    const f = fixtures();
    const wheels = join(tempDir(), 'wheels');
    const app = makeWheel({ name: 'tampered-dl', version: '1.0', out: wheels, console_scripts: { t: 'tampered_dl:main' }, files: { 'tampered_dl.py': 'def main(): pass\n' } });
    const bad = await serveIndex({ packages: [app, f.wheels.lib], faults: { [app.split('/').pop()!]: { kind: 'wrong-bytes' } }, faultFor: /^pyseal\//, python: f.python.interpreter });
    try {
      const r = await pyseal.async(['build', '--quiet', '--python-catalog', catalog, '--python-mirror', server.mirror, '--index-url', bad.index, '--from', 'tampered-dl'], { buildCache: cache, cwd: tempDir() });
      expectUserError(r, /\/files\/tampered_dl-1\.0-py3-none-any\.whl does not match its expected sha256 \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)/);
    } finally {
      await bad.close();
    }
  });
});
