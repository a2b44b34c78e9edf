/**
 * Lazy mode: a small executable that fetches CPython and the wheels on its
 * first run, from loopback servers playing python-build-standalone and an index,
 * through the faults real networks have.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hostTriple } from '../src/targets/index.js';
import { fixtureCatalog, type IndexServer, loopbackCertificates, serveIndex } from './fixtures/index.js';
import { connectProxy, type Fault } from './fixtures/server.js';
import { demoApp, makeWheel } from './fixtures/wheels.mjs';
import { expectUserError, fixtures, LEVEL, listTree, names, pyseal, type Run, runExe, startExe, tempDir } from './helpers.js';

const EXPECTED = 'hello, world!\nargv0=hello\n';
let dir: string;
let catalog: { path: string; tag: string; asset: string };
let cache: string;
let packages: string[];

beforeAll(() => {
  dir = tempDir('pyseal-lazy');
  const f = fixtures();
  catalog = fixtureCatalog(dir, { archive: f.python.archive, version: f.python.version }, hostTriple());
  const wheels = demoApp(join(dir, 'wheels'));
  packages = [wheels.app, wheels.lib];
  cache = join(dir, 'cache');
  cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
});

async function mirror(faults: Record<string, Fault> = {}): Promise<IndexServer> {
  const f = fixtures();
  return serveIndex({ packages, distribution: { archive: f.python.archive, tag: catalog.tag, asset: catalog.asset }, faults, faultFor: /^pyseal-launcher\//, python: f.python.interpreter });
}

/** Builds `hello-app` in lazy mode against `server`. */
async function buildLazy(server: IndexServer, out: string, extra: string[] = []): Promise<string> {
  const r = await pyseal.async(
    ['build', '--quiet', '--mode', 'lazy', '--python-catalog', catalog.path, '--python-mirror', server.mirror, '--index-url', server.index, '--from', 'hello-app', '--level', LEVEL, '--out', out, ...extra],
    { buildCache: cache, cwd: dir },
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return out;
}

/** Runs without blocking this process, which serves the files. */
function run(exe: string, home: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return startExe(exe, [], home, env).done;
}

describe('a lazy executable', () => {
  let server: IndexServer;
  let exe: string;

  beforeAll(async () => {
    server = await mirror();
    exe = await buildLazy(server, join(dir, 'lazy', 'hello'));
  });
  afterAll(() => server.close());

  it('carries its own code and names everything else by URL, size and sha256', () => {
    const info = JSON.parse(pyseal(['inspect', '--json', exe]).stdout);
    const sources = info.manifest.blobs.map((b: { kind: string; name: string; source: { payload?: unknown; url?: { mirror?: { kind: string } } } }) => [b.kind, b.name, b.source.url ? 'url' : 'payload', b.source.url?.mirror?.kind]);
    expect(sources).toEqual([
      ['python', `cpython-${fixtures().python.version}`, 'url', 'python'],
      ['wheel', 'hello-app-1.0.0', 'payload', undefined],
      ['wheel', 'greetlib-2.1', 'url', 'index'],
      ['tool', expect.stringMatching(/^pyseal-launcher-/), 'payload', undefined],
    ]);
    const embedded = pyseal(['build', '--quiet', '--python-catalog', catalog.path, '--python-mirror', server.mirror, '--index-url', server.index, '--from', 'hello-app', '--level', LEVEL, '--out', join(dir, 'embedded')], { buildCache: cache, cwd: dir });
    expect(embedded.code).toBe(0);
    expect(statSync(exe).size).toBeLessThan(statSync(join(dir, 'embedded')).size / 5);
  });

  it('bootstraps on first run, then runs with the servers gone', async () => {
    const home = join(tempDir(), 'home');
    const before = server.requests.length;
    const first = await run(exe, home);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe(EXPECTED);
    const fetched = server.requests.slice(before).filter((q) => q.agent.startsWith('pyseal-launcher/')).map((q) => q.path);
    expect(fetched.sort()).toEqual([`/files/greetlib-2.1-py3-none-any.whl`, `/pbs/${catalog.tag}/${catalog.asset}`]);
    expect(names(join(home, 'downloads'))).toEqual([]); // installed, so no longer kept

    const offline = await serveIndex({ packages: [], python: fixtures().python.interpreter });
    await offline.close();
    const again = runExe(exe, ['again'], { home, env: { PYSEAL_PYTHON_MIRROR: 'http://127.0.0.1:9', PYSEAL_INDEX_MIRROR: 'http://127.0.0.1:9' } });
    expect(again.stdout).toBe('hello, again!\nargv0=hello\n');
  });

  it('fetches from runtime mirrors that replace the recorded bases', async () => {
    const other = await mirror();
    try {
      const home = join(tempDir(), 'home');
      const before = server.requests.length;
      const r = await run(exe, home, { PYSEAL_PYTHON_MIRROR: other.mirror, PYSEAL_INDEX_MIRROR: other.url('/') });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(EXPECTED);
      expect(other.requests.filter((q) => q.agent.startsWith('pyseal-launcher/')).length).toBe(2);
      expect(server.requests.length).toBe(before);
    } finally {
      await other.close();
    }
  });

  it('says in one line what it could not reach, and leaves the cache untouched', async () => {
    const home = join(tempDir(), 'home');
    const r = await run(exe, home, { PYSEAL_PYTHON_MIRROR: 'http://127.0.0.1:9/pbs', PYSEAL_INDEX_MIRROR: 'http://127.0.0.1:9' });
    expectUserError(r, /cannot download http:\/\/127\.0\.0\.1:9\/\S+ \((cpython-3\.\d+\.\d+|greetlib-2\.1)\): connection refused/);
    expect(r.stderr).toMatch(/hint: check the network and proxy settings \(HTTPS_PROXY, NO_PROXY\), or set PYSEAL_(PYTHON|INDEX)_MIRROR to a mirror that has the file/);
    expect(names(join(home, 'blobs')).filter((b) => existsSync(join(home, 'blobs', b, 'python')) || existsSync(join(home, 'blobs', b, 'site-packages')))).toEqual([]);
    expect(names(join(home, 'envs'))).toEqual([]);
    expect(names(join(home, 'downloads'))).toEqual([]);
  });

  it('goes through HTTPS_PROXY / HTTP_PROXY, and around it for NO_PROXY hosts', async () => {
    const proxy = await connectProxy();
    try {
      const viaProxy = { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, https_proxy: proxy.url, http_proxy: proxy.url, NO_PROXY: '', no_proxy: '' };
      const r = await run(exe, join(tempDir(), 'home'), viaProxy);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(EXPECTED);
      expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1);
      expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(server.index).host]));
      const seen = proxy.tunnels.length;
      const direct = await run(exe, join(tempDir(), 'home'), { ...viaProxy, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' });
      expect(direct.stdout).toBe(EXPECTED);
      expect(proxy.tunnels.length).toBe(seen);
    } finally {
      await proxy.close();
    }
  });

  it('lets eight simultaneous first runs share one download', async () => {
    const home = join(tempDir(), 'home');
    const before = server.requests.length;
    const runs = await Promise.all(Array.from({ length: 8 }, () => run(exe, home)));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(EXPECTED);
    }
    expect(server.requests.slice(before).filter((q) => q.agent.startsWith('pyseal-launcher/')).length).toBe(2);
  });

  it('continues a download that an earlier first run could not finish', async () => {
    // A server that breaks off every time after 5 MB: the first run gives up
    // (after its retries) and keeps what it got.
    const broken = await mirror({ [catalog.asset]: { kind: 'reset', after: 5_000_000, times: 99 } });
    const home = join(tempDir(), 'home');
    try {
      const r = await run(exe, home, { PYSEAL_PYTHON_MIRROR: broken.mirror, PYSEAL_INDEX_MIRROR: broken.url('/') });
      expectUserError(r, /cannot download .*\(cpython-3\.\d+\.\d+\): /);
      expect(names(join(home, 'envs'))).toEqual([]);
    } finally {
      await broken.close();
    }
    // What arrived before the reset (a reset may discard the last bytes in flight).
    const saved = partialSize(home);
    expect(saved).toBeGreaterThan(1_000_000);
    expect(saved).toBeLessThanOrEqual(5_000_000);
    const good = await mirror();
    try {
      const r = await run(exe, home, { PYSEAL_PYTHON_MIRROR: good.mirror, PYSEAL_INDEX_MIRROR: good.url('/') });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(EXPECTED);
      expect(good.requests.find((q) => q.path.startsWith('/pbs/'))?.range).toBe(`bytes=${saved}-`);
      expect(names(join(home, 'downloads'))).toEqual([]);
    } finally {
      await good.close();
    }
  });

  it('stops its installer when it is killed, and the next run finishes the work', async () => {
    const slow = await mirror({ [catalog.asset]: { kind: 'slow', delayMs: 20 } });
    const home = join(tempDir(), 'home');
    try {
      const { child, done } = startExe(exe, [], home, { PYSEAL_PYTHON_MIRROR: slow.mirror, PYSEAL_INDEX_MIRROR: slow.url('/') });
      for (let i = 0; i < 400 && partialSize(home) < 200_000; i++) await new Promise((r) => setTimeout(r, 25));
      child.kill('SIGKILL');
      await done;
      await new Promise((r) => setTimeout(r, 300));
      const saved = partialSize(home);
      expect(saved).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 300));
      expect(partialSize(home)).toBe(saved); // the installer died with its launcher
    } finally {
      await slow.close();
    }
    const fast = await mirror();
    try {
      const r = await run(exe, home, { PYSEAL_PYTHON_MIRROR: fast.mirror, PYSEAL_INDEX_MIRROR: fast.url('/') });
      expect(r.stdout).toBe(EXPECTED);
    } finally {
      await fast.close();
    }
  });
});

function partialSize(home: string): number {
  const partial = names(join(home, 'downloads')).find((n) => n.endsWith('.partial'));
  return partial ? statSync(join(home, 'downloads', partial)).size : 0;
}

describe('a lazy first run on a faulty network', () => {
  it.each([
    ['resets the connection mid-body', { kind: 'reset', after: 2_000_000, times: 1 }],
    ['answers 500 twice', { kind: 'status', status: 500, times: 2 }],
    ['sends a short body', { kind: 'short', after: 3_000_000, times: 1 }],
    ['stalls between pieces', { kind: 'slow', delayMs: 5 }],
  ] as const)('succeeds when the server %s', async (_label, fault) => {
    const server = await mirror({ [catalog.asset]: fault });
    try {
      const exe = await buildLazy(server, join(tempDir(), 'hello'));
      const home = join(tempDir(), 'home');
      const r = await run(exe, home);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(EXPECTED);
    } finally {
      await server.close();
    }
  });

  it('refuses wrong bytes, keeps nothing, and succeeds once the file is right', async () => {
    const server = await mirror({ 'greetlib-2.1-py3-none-any.whl': { kind: 'wrong-bytes' } });
    try {
      const exe = await buildLazy(server, join(tempDir(), 'hello'));
      const home = join(tempDir(), 'home');
      const r = await run(exe, home);
      expectUserError(r, /\/files\/greetlib-2\.1-py3-none-any\.whl \(greetlib-2\.1\) does not match its sha256 \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)/);
      expect(names(join(home, 'envs'))).toEqual([]);
      expect(names(join(home, 'downloads')).filter((n) => !/^[0-9a-f]{64}$/.test(n))).toEqual([]);
      const good = await mirror();
      try {
        const again = await run(exe, home, { PYSEAL_INDEX_MIRROR: good.url('/'), PYSEAL_PYTHON_MIRROR: good.mirror });
        expect(again.stdout).toBe(EXPECTED);
      } finally {
        await good.close();
      }
    } finally {
      await server.close();
    }
  });
});

describe('building lazily', () => {
  it('writes files that only exist here to --blobs-dir, fetched from --blobs-url', async () => {
    const f = fixtures();
    const work = tempDir();
    const local = makeWheel({ name: 'localonly', version: '0.1', out: join(work, 'wheels'), files: { 'localonly.py': 'VALUE = 7\n' } });
    const app = makeWheel({ name: 'uses-local', version: '1.0', out: join(work, 'wheels'), requires: ['localonly'], console_scripts: { 'uses-local': 'uses_local:main' }, files: { 'uses_local.py': 'from localonly import VALUE\n\ndef main():\n    print(VALUE * 6)\n' } });
    const hosted = join(work, 'hosted');
    const server = await serveIndex({ packages: [], python: f.python.interpreter });
    try {
      const r = await pyseal.async(['build', '--quiet', '--mode', 'lazy', '--distribution', f.python.archive, '--wheel', app, '--wheel', local, '--blobs-dir', hosted, '--blobs-url', server.url('/hosted'), '--level', LEVEL, '--out', join(work, 'app')], { buildCache: cache });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(readdirSync(hosted).sort()).toEqual([f.python.archive.split('/').pop(), 'localonly-0.1-py3-none-any.whl'].sort());
      for (const name of readdirSync(hosted)) server.files[`/hosted/${name}`] = { body: readFileSync(join(hosted, name)) };
      const first = await run(join(work, 'app'), join(work, 'home'));
      expect(first.stderr).toBe('');
      expect(first.stdout).toBe('42\n');
      expect(statSync(join(work, 'app')).size).toBeLessThan(2_000_000);
    } finally {
      await server.close();
    }
  });

  it('gives embedded-only executables no network code, and lazy ones only inside their tool blob', async () => {
    const server = await mirror();
    try {
      const lazyExe = await buildLazy(server, join(tempDir(), 'lazy'));
      const embeddedExe = join(tempDir(), 'embedded');
      const r = await pyseal.async(['build', '--quiet', '--python-catalog', catalog.path, '--python-mirror', server.mirror, '--index-url', server.index, '--from', 'hello-app', '--level', LEVEL, '--out', embeddedExe], { buildCache: cache, cwd: dir });
      expect(r.code).toBe(0);
      const stubOf = (exe: string) => readFileSync(exe).subarray(0, JSON.parse(pyseal(['inspect', '--json', exe]).stdout).stubSize);
      // ureq's user agent string and rustls's name are only in network-capable launchers.
      for (const stub of [stubOf(lazyExe), stubOf(embeddedExe)]) {
        expect(stub.includes('pyseal-launcher/')).toBe(false);
        expect(stub.includes('rustls')).toBe(false);
      }
      expect(stubOf(lazyExe).equals(stubOf(embeddedExe))).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('first-run details', () => {
  it('unpacks a .tar.zst distribution it fetched', async () => {
    const f = fixtures();
    const work = tempDir();
    const hosted = join(work, 'hosted');
    const server = await serveIndex({ packages: [], python: f.python.interpreter });
    try {
      const r = await pyseal.async(['build', '--quiet', '--mode', 'lazy', '--distribution', f.python.zstArchive, '--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--blobs-dir', hosted, '--blobs-url', server.url('/h'), '--level', LEVEL, '--out', join(work, 'hello')], { buildCache: cache });
      expect(r.code).toBe(0);
      expect(readdirSync(hosted).some((n) => n.endsWith('.tar.zst'))).toBe(true);
      for (const name of readdirSync(hosted)) server.files[`/h/${name}`] = { body: readFileSync(join(hosted, name)) };
      const first = await run(join(work, 'hello'), join(work, 'home'));
      expect(first.stderr).toBe('');
      expect(first.stdout).toBe(EXPECTED);
    } finally {
      await server.close();
    }
  });

  it('byte-compiles fetched wheels on first run only when the build asked for it', async () => {
    const server = await mirror();
    try {
      /** PEP 552 flags of greetlib's pyc in the cache (1: unchecked hash), if there is one. */
      const pycFlags = (home: string) => {
        const blob = names(join(home, 'blobs')).find((b) => existsSync(join(home, 'blobs', b, 'site-packages', 'greetlib')))!;
        const cacheDir = join(home, 'blobs', blob, 'site-packages', 'greetlib', '__pycache__');
        const pyc = names(cacheDir).find((n) => n.startsWith('__init__.') && n.endsWith('.pyc'));
        return pyc === undefined ? undefined : readFileSync(join(cacheDir, pyc)).readUInt32LE(4);
      };
      for (const asked of [true, false]) {
        const exe = await buildLazy(server, join(tempDir(), 'hello'), asked ? ['--compile-fetched'] : []);
        const home = join(tempDir(), 'home');
        // The user's PYTHONDONTWRITEBYTECODE does not stop a compilation the build asked for.
        expect((await run(exe, home, { PYTHONDONTWRITEBYTECODE: '1' })).stdout).toBe(EXPECTED);
        expect(pycFlags(home)).toBe(asked ? 1 : undefined);
      }
    } finally {
      await server.close();
    }
  });

  it('shows a download progress line on a terminal', async () => {
    const server = await mirror({ [catalog.asset]: { kind: 'slow', delayMs: 2 } });
    try {
      const exe = await buildLazy(server, join(tempDir(), 'hello'));
      const home = join(tempDir(), 'home');
      // `script` gives the executable a pseudo-terminal; it must not block this process.
      const tty = await new Promise<string>((resolve) => {
        const child = spawn('script', ['-qec', `'${exe}'`, '/dev/null'], { env: { ...process.env, PYSEAL_HOME: home } });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', () => resolve(out));
      });
      expect(tty).toMatch(/\rhello-app: downloading: +\d+% of \d+ MB/);
      expect(tty).toContain('hello, world!');
    } finally {
      await server.close();
    }
  });
});

describe('self commands of a lazy executable', () => {
  it('restore and python install through the tool too', async () => {
    const server = await mirror();
    try {
      const exe = await buildLazy(server, join(tempDir(), 'hello'));
      const home = join(tempDir(), 'home');
      const py = await startExe(exe, ['self', 'python', '-c', 'import greetlib; print(greetlib.greet("tool"))'], home).done;
      expect(py.stderr).toBe('');
      expect(py.stdout).toBe('hello, tool!\n');
      const before = listTree(join(home, 'envs'));
      const restore = await startExe(exe, ['self', 'restore'], home).done;
      expect(restore.code).toBe(0);
      expect(listTree(join(home, 'envs'))).toEqual(before);
    } finally {
      await server.close();
    }
  });
});

describe('HTTPS', () => {
  it('verifies servers against the OS bundle plus SSL_CERT_FILE, and says so when it cannot', async () => {
    const f = fixtures();
    const work = tempDir();
    const certs = loopbackCertificates(work);
    const hosted = join(work, 'hosted');
    const served = new Map<string, Buffer>();
    const server = createHttpsServer({ key: readFileSync(certs.keyFile), cert: readFileSync(certs.certFile) }, (req, res) => {
      const body = served.get(decodeURIComponent(req.url ?? ''));
      if (body) res.writeHead(200, { 'content-length': body.length }).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}/files`;
      const exe = join(work, 'hello');
      const r = await pyseal.async(['build', '--quiet', '--mode', 'lazy', '--distribution', f.python.archive, '--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--blobs-dir', hosted, '--blobs-url', base, '--level', LEVEL, '--out', exe], { buildCache: cache });
      expect(r.code).toBe(0);
      for (const name of readdirSync(hosted)) served.set(`/files/${name}`, readFileSync(join(hosted, name)));

      const untrusted = await run(exe, join(work, 'home'), { SSL_CERT_FILE: '' });
      expectUserError(untrusted, /cannot download https:\/\/127\.0\.0\.1:\d+\/files\/\S+ \(\S+\): TLS: invalid peer certificate: UnknownIssuer/);
      expect(untrusted.stderr).toMatch(/hint: if a proxy or mirror uses its own certificate authority, point SSL_CERT_FILE at it/);

      const trusted = await run(exe, join(work, 'home'), { SSL_CERT_FILE: certs.ca });
      expect(trusted.stderr).toBe('');
      expect(trusted.stdout).toBe(EXPECTED);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
