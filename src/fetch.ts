/**
 * Downloads into the content-addressed download cache, verified by sha256.
 *
 * undici gives us proxies from the environment (EnvHttpProxyAgent), streaming
 * bodies and connection reuse; this file adds retries with backoff, resuming a
 * cut-off body with a Range request, hashing while writing, and errors that name
 * the URL.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher, EnvHttpProxyAgent, interceptors, request } from 'undici';

import type { BuildCache } from './cache.js';
import { UserError } from './errors.js';
import type { Reporter } from './progress.js';

export interface FetchOptions {
  url: string;
  sha256: string;
  cache: BuildCache;
  reporter: Reporter;
  /** What the file is, for progress and errors (`CPython 3.12.7`). */
  label: string;
  /** Tries before giving up on resets and 5xx answers. */
  attempts?: number;
}

let dispatcher: Dispatcher | undefined;

/** One agent for the process: proxy variables and SSL_CERT_FILE are read once. */
function agent(): Dispatcher {
  if (dispatcher) return dispatcher;
  const connect: { ca?: string[] } = {};
  const certFile = process.env.SSL_CERT_FILE;
  if (certFile) {
    try {
      connect.ca = [...rootCertificates, readFileSync(certFile, 'utf8')];
    } catch {
      throw new UserError(`cannot read SSL_CERT_FILE ${certFile}`, 'point SSL_CERT_FILE at a PEM bundle, or unset it');
    }
  }
  const hasProxy = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((v) => process.env[v]);
  const base = hasProxy ? new EnvHttpProxyAgent({ connect }) : new Agent({ connect });
  dispatcher = base.compose(interceptors.redirect({ maxRedirections: 5 }));
  return dispatcher;
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Returns the path of the verified file in the download cache. */
export async function fetchToCache(opts: FetchOptions): Promise<string> {
  const sha256 = opts.sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sha256)) {
    throw new UserError(`the sha256 given for ${opts.url} is not 64 hex digits: ${opts.sha256}`);
  }
  const dir = await opts.cache.ensureDir('downloads');
  const dest = opts.cache.path('downloads', sha256);
  if (existsSync(dest)) return dest;

  const tmp = opts.cache.temp(dir, sha256);
  const attempts = opts.attempts ?? 4;
  const state: DownloadState = { hash: createHash('sha256'), received: 0 };
  const task = opts.reporter.task(`downloading ${opts.label}`);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await fetchOnce(opts.url, tmp, state, (done, total) => task.update(done, total));
        break;
      } catch (err) {
        const retriable = !(err instanceof HttpStatusError) || err.status >= 500 || err.status === 429;
        if (!retriable || attempt >= attempts) throw downloadError(opts.url, err);
        await sleep(250 * 2 ** (attempt - 1));
      }
    }
    const actual = state.hash.digest('hex');
    if (actual !== sha256) {
      throw new UserError(
        `${opts.url} does not match its expected sha256 (expected ${sha256}, got ${actual})`,
        'the file changed upstream or was corrupted on the way; check the URL and the hash',
      );
    }
    await rename(tmp, dest);
    return dest;
  } finally {
    task.end();
    await rm(tmp, { force: true });
  }
}

/** A download in progress: the bytes so far and their running hash. */
interface DownloadState {
  hash: Hash;
  received: number;
}

/**
 * One request. Continues a partial file with `Range` when the server allows it,
 * and starts over (resetting the hash) when it answers with the whole body.
 */
async function fetchOnce(url: string, tmp: string, state: DownloadState, onProgress: (done: number, total?: number) => void): Promise<void> {
  const headers: Record<string, string> = { 'user-agent': 'pyseal' };
  if (state.received > 0) headers.range = `bytes=${state.received}-`;
  const res = await request(url, { dispatcher: agent(), headers, headersTimeout: 30_000, bodyTimeout: 30_000 });
  if (res.statusCode >= 400 || res.statusCode < 200 || res.statusCode === 204) {
    await res.body.dump();
    throw new HttpStatusError(res.statusCode);
  }
  if (state.received > 0 && res.statusCode !== 206) {
    // The server ignored Range: start again from byte 0.
    state.received = 0;
    state.hash = createHash('sha256');
  }
  const length = Number(res.headers['content-length'] ?? NaN);
  const total = Number.isFinite(length) ? state.received + length : undefined;
  const out = createWriteStream(tmp, { flags: state.received > 0 ? 'a' : 'w' });
  const closed = new Promise<void>((resolve, reject) => {
    out.on('close', resolve);
    out.on('error', reject);
  });
  try {
    for await (const chunk of res.body) {
      const bytes = chunk as Buffer;
      // Count only what reached the file, so a resume asks for the right offset.
      if (!out.write(bytes)) await new Promise<void>((r) => out.once('drain', () => r()));
      state.hash.update(bytes);
      state.received += bytes.length;
      onProgress(state.received, total);
    }
    if (total !== undefined && state.received < total) throw new Error('connection closed before the whole body arrived');
  } finally {
    out.end();
    await closed;
  }
}

function downloadError(url: string, err: unknown): UserError {
  if (err instanceof UserError) return err;
  if (err instanceof HttpStatusError) {
    const what = err.status === 404 ? 'not found (HTTP 404)' : `the server answered HTTP ${err.status}`;
    return new UserError(`cannot download ${url}: ${what}`, 'check the URL, or use a mirror that has the file');
  }
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'the connection was reset',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed',
    ETIMEDOUT: 'timed out',
    UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
    UND_ERR_HEADERS_TIMEOUT: 'no answer within 30 s',
    UND_ERR_BODY_TIMEOUT: 'the download stalled for 30 s',
    UND_ERR_SOCKET: 'the connection broke',
  };
  const detail = (code && known[code]) ?? e.cause?.message ?? e.message ?? String(err);
  return new UserError(`cannot download ${url}: ${detail}`, 'check the network connection, or the HTTPS_PROXY / HTTP_PROXY / NO_PROXY settings');
}
