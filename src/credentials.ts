/**
 * Credentials for private package indexes. Companies keep their packages
 * behind an index that wants a user and password; pyseal takes them from the
 * index URLs the user gave (`https://user:pass@host/simple`, flags or
 * `PIP_INDEX_URL` / `PIP_EXTRA_INDEX_URL`) or from `~/.netrc` (`$NETRC`), and
 * sends them only to the host they belong to. They never reach a lock file,
 * an executable or a message: every URL pyseal writes or prints goes through
 * `stripCredentials` or `redact` first.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { IndexOptions } from './pip.js';

/** `https://alice:s3cret@host/x` -> `https://alice:****@host/x`, for messages. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]*)@/i, (_all, scheme: string, userinfo: string) => {
    const user = userinfo.split(':')[0] ?? '';
    return `${scheme}${user ? `${user}:` : ''}****@`;
  });
}

/** Redacts every URL inside a piece of text (a tool's output, an error). */
export function redactAll(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^/@\s]*@/gi, (m) => redact(m));
}

/** The URL without its user and password, for locks and manifests. */
export function stripCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return url;
  }
}

/** Basic credentials, by origin (`https://host:port`) and by host name (netrc). */
export class Credentials {
  private constructor(
    private readonly byOrigin: Map<string, string>,
    private readonly netrc: Map<string, string>,
  ) {}

  static none(): Credentials {
    return new Credentials(new Map(), new Map());
  }

  /** From the index URLs in use (flags, or pip's variables when no flag names an index) and netrc. */
  static from(index: IndexOptions, env: NodeJS.ProcessEnv = process.env): Credentials {
    const urls = [index.indexUrl ?? env.PIP_INDEX_URL, ...index.extraIndexUrls, ...(index.extraIndexUrls.length ? [] : (env.PIP_EXTRA_INDEX_URL ?? '').split(/\s+/))];
    const byOrigin = new Map<string, string>();
    for (const url of urls) {
      const basic = basicOf(url);
      if (basic) byOrigin.set(new URL(url!).origin, basic);
    }
    return new Credentials(byOrigin, readNetrc(env));
  }

  /** The `authorization` header for a request to `url`, if pyseal has credentials for it. */
  authorization(url: string): string | undefined {
    const own = basicOf(url);
    if (own) return own;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return undefined;
    }
    return this.byOrigin.get(u.origin) ?? this.netrc.get(u.hostname) ?? this.netrc.get('');
  }

  /** Whether fetching `url` needs credentials, which an executable must never carry. */
  needed(url: string): boolean {
    return this.authorization(url) !== undefined;
  }
}

/** `Basic ...` from a URL's own user and password (pip's `****` placeholder is not one). */
function basicOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  if (!user || password === '****') return undefined;
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** `machine HOST login USER password PASS` (and `default`) entries of ~/.netrc. */
function readNetrc(env: NodeJS.ProcessEnv): Map<string, string> {
  const entries = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(env.NETRC ?? join(env.HOME ?? homedir(), '.netrc'), 'utf8');
  } catch {
    return entries;
  }
  const tokens = text.replace(/#.*$/gm, '').split(/\s+/).filter(Boolean);
  let host: string | undefined;
  let login = '';
  let password = '';
  const flush = () => {
    if (host !== undefined && login) entries.set(host, `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`);
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === 'machine' || t === 'default') {
      flush();
      host = t === 'default' ? '' : (tokens[++i] ?? '');
      login = '';
      password = '';
    } else if (t === 'login') login = tokens[++i] ?? '';
    else if (t === 'password') password = tokens[++i] ?? '';
  }
  flush();
  return entries;
}
