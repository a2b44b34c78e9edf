/** `--distribution URL`: downloads into the content-addressed cache, verified, through network faults. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BuildCache } from '../src/cache.js';
import { fetchToCache } from '../src/fetch.js';
import { Reporter } from '../src/progress.js';
import { fixtureCatalog, serveIndex } from './fixtures/index.js';
import { connectProxy, type LoopbackServer, serve, type Served, servePythonHttp } from './fixtures/server.js';
import { demoApp } from './fixtures/wheels.mjs';
import { expectUserError, fixtures, LEVEL, pyseal, runExe, tempDir } from './helpers.js';

const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
const sha = createHash('sha256').update(body).digest('hex');
const quiet = new Reporter(process.stderr, false);

describe('fetching', () => {
  let files: Record<string, Served>;
  let server: LoopbackServer;

  beforeAll(async () => {
    files = {};
    server = await serve(files);
  });
  afterAll(() => server.close());

  async function fetchWith(path: string, served: Served, attempts = 4) {
    files[path] = served;
    const cache = new BuildCache(tempDir());
    return { cache, result: fetchToCache({ url: server.url(path), sha256: sha, label: path }, { cache, reporter: quiet, attempts }) };
  }

  it('downloads, verifies and reuses without the network', async () => {
    const { cache, result } = await fetchWith('/plain', { body });
    const path = await result;
    expect(readFileSync(path).equals(body)).toBe(true);
    expect(path).toBe(cache.path('downloads', sha));
    await server.close();
    // The second fetch is served from the cache: the server is gone.
    expect(await fetchToCache({ url: server.url('/plain'), sha256: sha, label: 'x' }, { cache, reporter: quiet })).toBe(path);
    server = await serve(files);
  });

  it('retries 5xx answers with backoff', async () => {
    const { result } = await fetchWith('/flaky', { body, fault: { kind: 'status', status: 503, times: 2 } });
    expect(readFileSync(await result).equals(body)).toBe(true);
    expect(server.log.filter((l) => l.startsWith('GET /flaky'))).toHaveLength(3);
  });

  it('resumes a reset download with a Range request', async () => {
    const { result } = await fetchWith('/reset', { body, fault: { kind: 'reset', after: 100_000, times: 1 } });
    expect(readFileSync(await result).equals(body)).toBe(true);
    const requests = server.log.filter((l) => l.startsWith('GET /reset'));
    expect(requests).toHaveLength(2);
    expect(requests[1]).toMatch(/bytes=\d+-$/);
  });

  it('resumes a short body', async () => {
    const { result } = await fetchWith('/short', { body, fault: { kind: 'short', after: 50_000, times: 1 } });
    expect(readFileSync(await result).equals(body)).toBe(true);
  });

  it('continues a download an earlier run left unfinished', async () => {
    const { cache, result } = await fetchWith('/broken-then-fine', { body, fault: { kind: 'reset', after: 120_000, times: 99 } }, 1);
    await expect(result).rejects.toThrow(/cannot download .*\/broken-then-fine/);
    expect(existsSync(cache.path('downloads', `${sha}.partial`))).toBe(true);
    files['/broken-then-fine'] = { body };
    const again = await fetchToCache({ url: server.url('/broken-then-fine'), sha256: sha, label: 'x' }, { cache, reporter: quiet });
    expect(readFileSync(again).equals(body)).toBe(true);
    expect(server.log.filter((l) => l.startsWith('GET /broken-then-fine')).at(-1)).toMatch(/bytes=\d+-$/);
    expect(existsSync(cache.path('downloads', `${sha}.partial`))).toBe(false);
  });

  it('rejects wrong bytes naming the URL and both hashes, keeping nothing', async () => {
    const { cache, result } = await fetchWith('/wrong', { body, fault: { kind: 'wrong-bytes' } });
    await expect(result).rejects.toThrow(new RegExp(`/wrong does not match its expected sha256 \\(expected ${sha}, got [0-9a-f]{64}\\)`));
    expect(existsSync(cache.path('downloads', sha))).toBe(false);
  });

  it('gives up on 404 at once, and on persistent 5xx after its attempts', async () => {
    const missing = fetchToCache({ url: server.url('/missing'), sha256: sha, label: 'x' }, { cache: new BuildCache(tempDir()), reporter: quiet });
    await expect(missing).rejects.toThrow(/cannot download http:\/\/127\.0\.0\.1:\d+\/missing: not found \(HTTP 404\)/);
    expect(server.log.filter((l) => l === 'GET /missing')).toHaveLength(1);
    const { result } = await fetchWith('/down', { body, fault: { kind: 'status', status: 500, times: 99 } }, 3);
    await expect(result).rejects.toThrow(/the server answered HTTP 500/);
  });

  it('names the URL when nothing listens', async () => {
    const url = 'http://127.0.0.1:9/nothing-here';
    const result = fetchToCache({ url, sha256: sha, label: 'x' }, { cache: new BuildCache(tempDir()), reporter: quiet, attempts: 1 });
    await expect(result).rejects.toThrow(/cannot download http:\/\/127\.0\.0\.1:9\/nothing-here: connection refused/);
  });
});

describe('proxies', () => {
  it('downloads through HTTP_PROXY, and goes around it for NO_PROXY hosts', async () => {
    const f = fixtures();
    const archive = readFileSync(f.python.archive);
    const archiveSha = createHash('sha256').update(archive).digest('hex');
    const server = await serve({ '/cpython.tar.gz': { body: archive } });
    const proxy = await connectProxy();
    try {
      const build = async (env: NodeJS.ProcessEnv) => {
        const dir = tempDir();
        const cache = join(dir, 'cache');
        cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
        const args = ['build', '--quiet', '--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--level', '1', '--out', join(dir, 'app'), '--distribution', server.url('/cpython.tar.gz'), '--distribution-sha256', archiveSha];
        return pyseal.async(args, { buildCache: cache, env: { HTTP_PROXY: proxy.url, http_proxy: proxy.url, NO_PROXY: '', no_proxy: '', ...env } });
      };
      const proxied = await build({});
      expect(proxied.stderr).toBe('');
      expect(proxied.code).toBe(0);
      expect(proxy.tunnels).toEqual([new URL(server.url('/')).host]);
      const direct = await build({ NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' });
      expect(direct.code).toBe(0);
      expect(proxy.tunnels).toHaveLength(1);
      expect(server.log).toEqual(['GET /cpython.tar.gz', 'GET /cpython.tar.gz']);
    } finally {
      await proxy.close();
      await server.close();
    }
  });
});

describe('a distribution from a URL', () => {
  it('builds a working executable, and requires a hash', async () => {
    const f = fixtures();
    const archive = readFileSync(f.python.archive);
    const archiveSha = createHash('sha256').update(archive).digest('hex');
    const server = await serve({ '/cpython.tar.gz': { body: archive } });
    try {
      const dir = tempDir();
      const out = join(dir, 'hello');
      const common = ['build', '--quiet', '--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--level', '3', '--out', out];
      // The server runs in this process: the CLI must run asynchronously.
      expectUserError(await pyseal.async([...common, '--distribution', server.url('/cpython.tar.gz')]), /has no sha256 to check it against/);
      // A private build cache, so the download really happens; the stub is
      // copied over to spare a cargo run.
      const cache = join(dir, 'cache');
      cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
      const r = await pyseal.async([...common, '--distribution', server.url('/cpython.tar.gz'), '--distribution-sha256', archiveSha], { buildCache: cache });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(server.log).toEqual(['GET /cpython.tar.gz']);
      expect(runExe(out, ['url'], { home: join(dir, 'home') }).stdout).toContain('hello, url!');
    } finally {
      await server.close();
    }
  });
});

/**
 * HTTP/1.0 servers send the whole body and close the connection, with or
 * without a Content-Length. When the consumer is slower than the network,
 * undici 7's own response streams pause its parser, and the close then throws
 * from a socket event handler and kills the process (nodejs/undici#5360).
 * The consumer here is made slow the way a real build makes it slow: the
 * server shares its process, and two other processes keep both cores busy (a
 * cold build compiles its stub meanwhile). With undici's streams, most of
 * these downloads died with the uncatchable assertion.
 */
describe('HTTP/1.0 servers and a slow consumer', () => {
  const big = Buffer.alloc(16 << 20);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  const bigSha = createHash('sha256').update(big).digest('hex');

  /** Downloads `url` four times while the CPU is busy; each must arrive whole. */
  async function downloadUnderLoad(url: string) {
    const hogs = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    try {
      for (let run = 0; run < 4; run++) {
        const cache = new BuildCache(tempDir());
        const path = await fetchToCache({ url, sha256: bigSha, label: 'big' }, { cache, reporter: quiet });
        expect(readFileSync(path).equals(big)).toBe(true);
      }
    } finally {
      hogs.forEach((h) => h.kill());
    }
  }

  for (const framing of ['length', 'close'] as const) {
    it(`downloads whole from a server that closes the connection (${framing === 'length' ? 'with' : 'without'} Content-Length)`, async () => {
      const server = await serve({ '/big.tar.gz': { body: big } }, { http10: framing });
      try {
        await downloadUnderLoad(server.url('/big.tar.gz'));
      } finally {
        await server.close();
      }
    });
  }

  it('downloads whole from python -m http.server', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'big.tar.gz'), big);
    const server = await servePythonHttp(fixtures().python.interpreter, dir);
    try {
      await downloadUnderLoad(server.url('/big.tar.gz'));
    } finally {
      await server.close();
    }
  });

  for (const framing of ['length', 'close'] as const) {
    it(`builds with every download from an HTTP/1.0 server: distribution, index pages, wheels (${framing})`, async () => {
      const f = fixtures();
      const dir = tempDir();
      const wheels = demoApp(join(dir, 'wheels'));
      const catalog = fixtureCatalog(dir, { archive: f.python.archive, version: f.python.version }, 'x86_64-unknown-linux-gnu');
      const server = await serveIndex({ python: f.python.interpreter, packages: [wheels.app, wheels.lib], distribution: { archive: f.python.archive, tag: catalog.tag, asset: catalog.asset }, http10: framing });
      try {
        const cache = join(dir, 'cache');
        cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
        const common = ['build', '--quiet', '--python-catalog', catalog.path, '--python-mirror', server.mirror, '--index-url', server.index, '--level', LEVEL];
        const r = await pyseal.async([...common, '--from', 'hello-app', '--out', join(dir, 'hello')], { buildCache: cache, cwd: dir });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(server.log).toEqual(expect.arrayContaining([`GET /pbs/${catalog.tag}/${catalog.asset}`, 'GET /files/hello_app-1.0.0-py3-none-any.whl', 'GET /files/greetlib-2.1-py3-none-any.whl']));
        expect(runExe(join(dir, 'hello'), [], { home: join(dir, 'home') }).stdout).toBe('hello, world!\nargv0=hello\n');
        // An unknown package makes pyseal read the index page itself (PEP 691 JSON).
        const unknown = await pyseal.async([...common, '--from', 'no-such-package', '--out', join(dir, 'never')], { buildCache: cache, cwd: dir });
        expectUserError(unknown, /no package named no-such-package on http:\/\/127\.0\.0\.1:\d+\/simple/);
      } finally {
        await server.close();
      }
    });
  }
});
