/** `--distribution URL`: downloads into the content-addressed cache, verified, through network faults. */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BuildCache } from '../src/cache.js';
import { fetchToCache } from '../src/fetch.js';
import { Reporter } from '../src/progress.js';
import { connectProxy, type LoopbackServer, serve, type Served } from './fixtures/server.js';
import { expectUserError, fixtures, pyseal, runExe, tempDir } from './helpers.js';

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
