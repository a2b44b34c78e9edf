/**
 * Downloads into the content-addressed download cache, verified by sha256.
 *
 * undici gives us proxies from the environment (EnvHttpProxyAgent), redirects
 * and connection reuse; this file adds retries with backoff, resuming a
 * cut-off body with a Range request (also across runs: an interrupted download
 * is kept as `<sha256>.partial`), parallel downloads under one progress line,
 * hashing while writing, and errors that name the URL.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { copyFile, link, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';

import { Agent, type Dispatcher, EnvHttpProxyAgent, interceptors } from 'undici';

import { checkFileName, checkSha256 } from './artifact.js';
import type { BuildCache } from './cache.js';
import { Credentials, redact, redactAll } from './credentials.js';
import { UserError } from './errors.js';
import type { Reporter, Task } from './progress.js';
import { VERSION } from './version.js';

const USER_AGENT = `pyseal/${VERSION}`;

export interface Download {
  url: string;
  sha256: string;
  /** What the file is, for progress and errors (`CPython 3.12.7`). */
  label: string;
}

export interface FetchOptions {
  cache: BuildCache;
  reporter: Reporter;
  /** Credentials for private indexes, sent only to the host they belong to. */
  credentials?: Credentials;
  /** Tries before giving up on resets and 5xx answers. */
  attempts?: number;
  /** Extra hint for failures (e.g. which flag names a mirror). */
  hint?: string;
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
const retriable = (err: unknown) => !(err instanceof HttpStatusError) || err.status >= 500 || err.status === 429;

/** Runs `attempt` until it succeeds, retrying resets and 5xx with backoff. */
async function withRetries<T>(url: string, attempts: number, attempt: () => Promise<T>, hint?: string): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof UserError || !retriable(err) || n >= attempts) throw downloadError(url, err, hint);
      await sleep(250 * 2 ** (n - 1));
    }
  }
}

/** Whether `s` is something to download (an http or https URL) rather than a path. */
export function isHttpUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** Returns the path of the verified file in the download cache. */
export async function fetchToCache(download: Download, opts: FetchOptions, onBytes?: (delta: number) => void): Promise<string> {
  const sha256 = checkSha256(download.sha256, `the sha256 given for ${redact(download.url)}`);
  const dir = await opts.cache.ensureDir('downloads');
  const dest = opts.cache.path('downloads', sha256);
  if (existsSync(dest)) return dest;

  const tmp = opts.cache.temp(dir, sha256);
  const partial = opts.cache.path('downloads', `${sha256}.partial`);
  const own = !onBytes;
  const task: Task | undefined = own ? opts.reporter.task(`downloading ${download.label}`) : undefined;
  const progress = onBytes ?? ((_d: number) => {});
  let keepPartial = false;
  try {
    const state = await adoptPartial(partial, tmp);
    if (download.url.startsWith('file:')) {
      await copyFile(fileURLToPath(download.url), tmp).catch((err: NodeJS.ErrnoException) => {
        throw new UserError(`cannot read ${redact(download.url)}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      });
      state.hash = createHash('sha256');
      for await (const chunk of createReadStream(tmp)) state.hash.update(chunk as Buffer);
    } else {
      keepPartial = true;
      const authorization = (opts.credentials ?? Credentials.none()).authorization(download.url);
      await withRetries(download.url, opts.attempts ?? 4, () =>
        fetchOnce(download.url, authorization, tmp, state, (delta, done, total) => {
          progress(delta);
          task?.update(done, total);
        }),
      opts.hint);
    }
    const actual = state.hash.digest('hex');
    if (actual !== sha256) {
      keepPartial = false;
      throw new UserError(
        `${redact(download.url)} does not match its expected sha256 (expected ${sha256}, got ${actual})`,
        'the file changed upstream or was corrupted on the way; check the URL and the hash',
      );
    }
    await rename(tmp, dest);
    keepPartial = false;
    return dest;
  } finally {
    task?.end();
    // An interrupted download is kept so that the next run continues it.
    if (keepPartial && existsSync(tmp)) await rename(tmp, partial).catch(() => {});
    await rm(tmp, { force: true });
  }
}

/**
 * Downloads several files at once (`concurrency` at a time) under one progress
 * line; returns their cache paths in order.
 */
export async function fetchAll(downloads: Download[], opts: FetchOptions & { concurrency?: number }): Promise<string[]> {
  const paths: string[] = new Array(downloads.length);
  const todo = downloads.map((d, i) => ({ d, i })).filter(({ d, i }) => {
    // Checked before it becomes a path: a crafted "hash" could name any file.
    const cached = opts.cache.path('downloads', checkSha256(d.sha256, `the sha256 given for ${redact(d.url)}`));
    if (existsSync(cached)) paths[i] = cached;
    return !existsSync(cached);
  });
  if (todo.length === 0) return paths;
  const task = opts.reporter.task(`downloading ${todo.length} file${todo.length === 1 ? '' : 's'}`);
  let bytes = 0;
  let next = 0;
  try {
    const worker = async () => {
      while (next < todo.length) {
        const { d, i } = todo[next++]!;
        paths[i] = await fetchToCache(d, opts, (delta) => {
          bytes += delta;
          task.update(bytes);
        });
        task.label(`downloading ${todo.length} files (${todo.length - next} waiting)`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, todo.length) }, worker));
  } finally {
    task.end();
  }
  return paths;
}

/**
 * Downloads files that must keep their own names (wheel and sdist tools read
 * tags and versions from them): each is fetched into the cache by hash, then
 * linked as `named/<sha256>/<filename>`.
 */
export async function fetchArtifacts(files: { url: string; sha256: string; filename: string }[], opts: FetchOptions): Promise<string[]> {
  // Names and hashes come from locks and index pages: checked before any path is made of them.
  for (const f of files) {
    checkFileName(f.filename, redact(f.url));
    checkSha256(f.sha256, `the sha256 given for ${redact(f.url)}`);
  }
  const paths = await fetchAll(files.map((f) => ({ url: f.url, sha256: f.sha256, label: f.filename })), opts);
  const named: string[] = [];
  for (const [i, f] of files.entries()) {
    const dir = opts.cache.path('named', f.sha256.toLowerCase());
    const target = join(dir, f.filename);
    if (!existsSync(target)) {
      await mkdir(dir, { recursive: true });
      const tmp = opts.cache.temp(dir, 'link');
      await link(paths[i]!, tmp).catch(() => copyFile(paths[i]!, tmp));
      await rename(tmp, target);
    }
    named.push(target);
  }
  return named;
}

/** A small text document (SHA256SUMS, an index page), with retries. */
export async function fetchText(url: string, opts: { accept?: string; attempts?: number; hint?: string; credentials?: Credentials } = {}): Promise<{ status: number; text: string; contentType: string }> {
  const authorization = (opts.credentials ?? Credentials.none()).authorization(url);
  return withRetries(url, opts.attempts ?? 3, async () => {
    const chunks: Buffer[] = [];
    const res = await get(url, { 'user-agent': USER_AGENT, ...(opts.accept ? { accept: opts.accept } : {}), ...(authorization ? { authorization } : {}) }, {
      start() {},
      data: (chunk) => void chunks.push(chunk),
    });
    if (res.status >= 500 || res.status === 429) throw new HttpStatusError(res.status);
    return { status: res.status, text: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') };
  }, opts.hint);
}

/** Where one response's body goes, chunk by chunk, synchronously. */
interface Sink {
  /** The final status and headers (after redirects), before any body byte. */
  start(status: number, headers: IncomingHttpHeaders): void;
  data(chunk: Buffer): void;
}

/**
 * One GET whose body is handed to `sink` as it arrives.
 *
 * Why not undici's `request()`: its body is a stream, and when the stream is
 * read more slowly than the network delivers, undici pauses its HTTP/1 parser;
 * a server that then closes the connection (an HTTP/1.0 server, or any
 * `Connection: close` answer) makes undici 7 throw an assertion from a socket
 * event handler, which no `try` can catch (nodejs/undici#5360, fixed only in
 * undici 8, which needs Node 22). This handler consumes every chunk
 * synchronously (a write to a local file and a hash update) and never asks
 * undici to pause, so its parser is never paused when a connection ends.
 */
function get(url: string, headers: Record<string, string>, sink: Sink): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  const { origin, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    let response: { status: number; headers: IncomingHttpHeaders } | undefined;
    let failure: unknown;
    const handler: Dispatcher.DispatchHandler = {
      // Its presence tells undici this handler speaks the controller API.
      onRequestStart() {},
      onResponseStart(controller, status, responseHeaders) {
        response = { status, headers: responseHeaders };
        try {
          sink.start(status, responseHeaders);
        } catch (err) {
          failure = err;
          controller.abort(err as Error);
        }
      },
      onResponseData(controller, chunk) {
        if (failure) return;
        try {
          sink.data(chunk);
        } catch (err) {
          failure = err;
          controller.abort(err as Error);
        }
      },
      onResponseEnd() {
        if (failure) reject(failure);
        else if (response) resolve(response);
        else reject(new Error('the server sent no response'));
      },
      onResponseError(_controller, err) {
        reject(failure ?? err);
      },
    };
    try {
      agent().dispatch({ origin, path: `${pathname}${search}`, method: 'GET', headers, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS }, handler);
    } catch (err) {
      reject(err);
    }
  });
}

const TIMEOUT_MS = 30_000;

/** A download in progress: the bytes so far and their running hash. */
interface DownloadState {
  hash: Hash;
  received: number;
}

/** Takes over a partial file an earlier run left, hashing what it already holds. */
async function adoptPartial(partial: string, tmp: string): Promise<DownloadState> {
  const state: DownloadState = { hash: createHash('sha256'), received: 0 };
  try {
    // The rename is atomic: of two builds, only one gets the partial file.
    await rename(partial, tmp);
  } catch {
    return state;
  }
  for await (const chunk of createReadStream(tmp)) {
    state.hash.update(chunk as Buffer);
    state.received += (chunk as Buffer).length;
  }
  return state;
}

/**
 * One request. Continues a partial file with `Range` when the server allows it,
 * and starts over (resetting the hash) when it answers with the whole body.
 * A body that ends before its Content-Length is a retriable failure; what
 * arrived stays in `tmp` for the next attempt to continue.
 */
async function fetchOnce(
  url: string,
  authorization: string | undefined,
  tmp: string,
  state: DownloadState,
  onProgress: (delta: number, done: number, total?: number) => void,
): Promise<void> {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  if (authorization) headers.authorization = authorization;
  if (state.received > 0) headers.range = `bytes=${state.received}-`;
  let fd: number | undefined;
  let total: number | undefined;
  let status = 0;
  try {
    await get(url, headers, {
      start(code, responseHeaders) {
        status = code;
        if (code < 200 || code >= 300 || code === 204) return;
        if (state.received > 0 && code !== 206) {
          // The server ignored Range: start again from byte 0.
          state.received = 0;
          state.hash = createHash('sha256');
        }
        const length = Number(responseHeaders['content-length'] ?? NaN);
        total = Number.isFinite(length) ? state.received + length : undefined;
        fd = openSync(tmp, state.received > 0 ? 'a' : 'w');
      },
      data(chunk) {
        if (fd === undefined) return; // an error page's body
        // Written before it is counted, so a resume asks for the right offset.
        writeSync(fd, chunk);
        state.hash.update(chunk);
        state.received += chunk.length;
        onProgress(chunk.length, state.received, total);
      },
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (status === 416 && state.received > 0) {
    // The partial file is complete or longer than the file: start again.
    state.received = 0;
    state.hash = createHash('sha256');
    throw new Error('the saved partial download does not fit the file');
  }
  if (status >= 400 || status < 200 || status === 204) throw new HttpStatusError(status);
  if (total !== undefined && state.received < total) throw new Error('connection closed before the whole body arrived');
}

export function downloadError(rawUrl: string, err: unknown, hint?: string): UserError {
  if (err instanceof UserError) return err;
  const url = redact(rawUrl);
  if (err instanceof HttpStatusError) {
    if (err.status === 401 || err.status === 403) {
      return new UserError(`cannot download ${url}: the server wants credentials (HTTP ${err.status})`, 'put the user and password in the index URL (https://user:pass@host/simple) or in ~/.netrc');
    }
    const what = err.status === 404 ? 'not found (HTTP 404)' : `the server answered HTTP ${err.status}`;
    return new UserError(`cannot download ${url}: ${what}`, hint ?? 'check the URL, or use a mirror that has the file');
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
  const detail = redactAll((code && known[code]) ?? e.cause?.message ?? e.message ?? String(err));
  return new UserError(`cannot download ${url}: ${detail}`, hint ?? 'check the network connection, or the HTTPS_PROXY / HTTP_PROXY / NO_PROXY settings');
}
