/**
 * Self-update against a loopback HTTPS server serving a channel directory
 * written by `pyseal release`: the happy path (embedded and lazy), only the
 * changed parts downloaded, every refusal, a crash-looping release rolled
 * back on its own, key rotation, two updates at once, and SIGKILL during an
 * update.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loopbackCertificates } from './fixtures/index.js';
import { makeWheel } from './fixtures/wheels.mjs';
import { expectUserError, fixtures, LEVEL, pyseal, type Run, runExe, startExe, tempDir } from './helpers.js';

const LONG = 900_000;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The channel server (its own process): bytes sent and paths asked since the last `reset`. */
interface ChannelServer {
  base: string;
  readonly bytes: number;
  readonly requests: string[];
  reset(): void;
  /** Blobs are cut off after this many bytes until `cut(undefined)`. */
  cut(after: number | undefined): void;
  close(): Promise<void>;
}

async function serveChannel(dir: string, certs: { keyFile: string; certFile: string }, work: string): Promise<ChannelServer> {
  const log = join(work, 'server.log');
  const cutFile = join(work, 'server.cut');
  writeFileSync(log, '');
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'channel-server.mjs'), dir, certs.keyFile, certs.certFile, log, cutFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`the channel server exited (${code})`)));
  });
  let mark = 0;
  const lines = () => readFileSync(log, 'utf8').slice(mark).split('\n').filter(Boolean);
  return {
    base: `https://127.0.0.1:${port}/stable`,
    get bytes() {
      return lines().reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    },
    get requests() {
      return lines().map((l) => l.split(' ')[0]!);
    },
    reset: () => {
      mark = readFileSync(log, 'utf8').length;
    },
    cut: (after) => (after === undefined ? rmSync(cutFile, { force: true }) : writeFileSync(cutFile, String(after))),
    close: async () => {
      child.kill();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** The app at a version: prints it; `crash` makes its module fail at import, before the entry point. */
function appWheel(out: string, version: string, opts: { crash?: boolean } = {}): string {
  return makeWheel({
    name: 'upd-app',
    version,
    out: join(out, version + (opts.crash ? '-crash' : '')),
    console_scripts: { 'upd-app': 'upd_app.cli:main' },
    files: {
      'upd_app/__init__.py': '',
      'upd_app/cli.py': `${opts.crash ? 'raise ImportError("broken release")\n' : ''}import sys\n\ndef main():\n    print("upd-app ${version}", *sys.argv[1:])\n    return 0\n`,
    },
  });
}

describe('self update', () => {
  let work: string;
  let certs: ReturnType<typeof loopbackCertificates>;
  let server: ChannelServer;
  let channelDir: string;
  const keys: Record<string, { key: string; pub: string }> = {};
  const env = () => ({ SSL_CERT_FILE: certs.ca });

  function keygen(name: string) {
    const out = join(work, 'keys', name);
    const r = pyseal(['keygen', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    keys[name] = { key: join(out, 'pyseal.key'), pub: join(out, 'pyseal.pub') };
    return keys[name]!;
  }

  /** Builds the app at `version` into `dir/upd-app`, trusting the given keys. */
  async function build(version: string, dir: string, opts: { pubs?: string[]; crash?: boolean; lazy?: boolean } = {}): Promise<string> {
    const f = fixtures();
    const out = join(dir, 'upd-app');
    const pubs = (opts.pubs ?? [keys.main!.pub]).flatMap((p) => ['--public-key', p]);
    const mode = opts.lazy ? ['--mode', 'lazy', '--blobs-dir', join(dir, 'hosted'), '--blobs-url', `${server.base}/hosted`] : [];
    const r = await pyseal.async(['build', '--quiet', '--distribution', f.python.archive, '--wheel', appWheel(work, version, opts), '--channel', server.base, ...pubs, ...mode, '--level', LEVEL, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return out;
  }

  function release(exeDir: string, opts: { keys?: string[]; expires?: string; dir?: string } = {}): Run {
    const signers = (opts.keys ?? [keys.main!.key]).flatMap((k) => ['--key', k]);
    const r = pyseal(['release', exeDir, ...signers, '--channel-dir', opts.dir ?? channelDir, '--expires', opts.expires ?? '1d']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r;
  }

  /** A user's copy of a build, with a cache of its own. */
  function install(exe: string, name: string): { exe: string; home: string } {
    const dir = join(work, 'users', name);
    mkdirSync(dir, { recursive: true });
    copyFileSync(exe, join(dir, 'upd-app'));
    execFileSync('chmod', ['+x', join(dir, 'upd-app')]);
    return { exe: join(dir, 'upd-app'), home: join(dir, 'home') };
  }

  const run = (u: { exe: string; home: string }, args: string[] = []) => runExe(u.exe, args, { home: u.home, env: env() });

  let v1: string;
  let v2: string;

  beforeAll(async () => {
    work = tempDir('pyseal-update');
    certs = loopbackCertificates(work);
    channelDir = join(work, 'public');
    mkdirSync(channelDir, { recursive: true });
    server = await serveChannel(channelDir, certs, work);
    keygen('main');
    v1 = await build('1.0', join(work, 'b1'));
    v2 = await build('2.0', join(work, 'b2'));
  }, LONG);

  afterAll(async () => {
    await server?.close();
    if (work && !process.env.PYSEAL_KEEP_TEMP) rmSync(work, { recursive: true, force: true });
  });

  it('keygen writes a private key only its owner reads, and never replaces one', () => {
    expect(statSync(keys.main!.key).mode & 0o777).toBe(0o600);
    expect(readFileSync(keys.main!.pub, 'utf8')).toMatch(/^pyseal-ed25519 [A-Za-z0-9+/]{43}=\n$/);
    expectUserError(pyseal(['keygen', '--out', join(work, 'keys', 'main')]), /pyseal\.key exists already/);
  });

  it('updates v1 to v2 downloading only the changed parts, then rolls back by hand', () => {
    release(join(work, 'b1'));
    const u = install(v1, 'happy');
    expect(run(u).stdout).toBe('upd-app 1.0\n');
    const current = run(u, ['self', 'update', '--check']);
    expect(current.code).toBe(0);
    release(join(work, 'b2'));
    const check = run(u, ['self', 'update', '--check']);
    expect(check.stdout).toBe('upd-app 1.0 -> 2.0 is available\n');
    expect(check.code).toBe(10);
    const size = statSync(u.exe).size;
    server.reset();
    const up = run(u, ['self', 'update']);
    expect(up.stderr).toBe('');
    expect(up.stdout).toBe('upd-app 1.0 -> 2.0\n');
    expect(up.code).toBe(0);
    // The channel document, the app's frame and the manifest part: not CPython, not the stub.
    expect(server.bytes).toBeLessThan(size * 0.05);
    expect(sha256(u.exe)).toBe(sha256(v2));
    expect(run(u, ['hi'])).toMatchObject({ stdout: 'upd-app 2.0 hi\n', code: 0 });
    expect(run(u, ['self', 'update']).stdout).toBe('upd-app 2.0 is up to date\n');
    const back = run(u, ['self', 'rollback']);
    expect(back.stderr).toMatch(/^upd-app 2\.0 rolled back by hand; back to 1\.0/);
    expect(run(u).stdout).toBe('upd-app 1.0\n');
    expect(sha256(u.exe)).toBe(sha256(v1));
  }, LONG);

  it('refuses what it must, each with one line, changing nothing', async () => {
    release(join(work, 'b2'));
    const good = readFileSync(join(channelDir, 'channel.json'));
    const u = install(v1, 'refusals');
    const before = sha256(u.exe);
    const refused = (r: Run, message: RegExp) => {
      expectUserError(r, message);
      expect(sha256(u.exe)).toBe(before);
      expect(run(u).stdout).toBe('upd-app 1.0\n');
    };
    // Tampered: the version changed after signing.
    const doc = JSON.parse(good.toString());
    writeFileSync(join(channelDir, 'channel.json'), JSON.stringify({ ...doc, signed: doc.signed.replace('"2.0"', '"2.1"') }));
    refused(run(u, ['self', 'update']), /^error: the update channel \S+ sent a document whose signature does not verify$/m);
    // No signature at all.
    writeFileSync(join(channelDir, 'channel.json'), JSON.stringify({ ...doc, signatures: [] }));
    refused(run(u, ['self', 'update']), /sent a document without a signature/);
    // Signed by a key the build does not carry.
    // (pyseal release refuses to sign with a key the builds do not trust, so this is crafted.)
    const other = keys.other ?? keygen('other');
    writeFileSync(join(channelDir, 'channel.json'), JSON.stringify(requireRelease().envelope(doc.signed, [signer(other.key)])));
    refused(run(u, ['self', 'update']), /is signed by a key this executable does not trust/);
    // Expired.
    release(join(work, 'b2'), { expires: '1s' });
    await new Promise((r) => setTimeout(r, 2100));
    refused(run(u, ['self', 'update']), /^error: the update channel \S+ expired \d+ s ago$/m);
    // A replayed older document (still valid), once a newer one was seen.
    release(join(work, 'b2'));
    const old = readFileSync(join(channelDir, 'channel.json'));
    release(join(work, 'b2'));
    expect(run(u, ['self', 'update', '--check']).code).toBe(10);
    writeFileSync(join(channelDir, 'channel.json'), old);
    refused(run(u, ['self', 'update']), /sent an older document \(sequence \d+, this machine has seen \d+\)/);
    // A blob whose bytes are not what the channel says.
    release(join(work, 'b2'));
    const blobs = join(channelDir, 'blobs');
    const current = JSON.parse(JSON.parse(readFileSync(join(channelDir, 'channel.json'), 'utf8')).signed);
    const parts: { sha256: string; size: number }[] = Object.values(current.targets as Record<string, { parts: { sha256: string; size: number }[] }>)[0]!.parts;
    const own = new Set(readdirSync(blobs));
    const changed = parts.filter((p) => own.has(p.sha256)).at(-1)!;
    const saved = readFileSync(join(blobs, changed.sha256));
    writeFileSync(join(blobs, changed.sha256), Buffer.concat([saved.subarray(0, saved.length - 1), Buffer.from([saved.at(-1)! ^ 1])]));
    refused(run(u, ['self', 'update']), /does not match its sha256/);
    writeFileSync(join(blobs, changed.sha256), saved);
    // The server goes away in the middle of the parts.
    server.cut(100);
    refused(run(u, ['self', 'update']), /cannot download https:\/\/127\.0\.0\.1:\d+\/stable\/blobs\/[0-9a-f]{64} \(upd-app 2\.0\): /);
    server.cut(undefined);
    // Nothing half-written is left beside the executable.
    expect(readdirSync(join(work, 'users', 'refusals')).sort()).toEqual(['home', 'upd-app']);
    // And then it works.
    expect(run(u, ['self', 'update']).stdout).toBe('upd-app 1.0 -> 2.0\n');
  }, LONG);

  it('refuses a downgrade unless asked, and a channel without the target', () => {
    release(join(work, 'b1'));
    const u = install(v2, 'downgrade');
    refused(run(u, ['self', 'update']), /^error: the update channel offers upd-app 1\.0, older than the installed 2\.0$/m, u, v2);
    expect(run(u, ['self', 'update', '--allow-downgrade']).stdout).toBe('upd-app 2.0 -> 1.0\n');
    expect(run(u).stdout).toBe('upd-app 1.0\n');
    // A document naming only another target.
    const doc = JSON.parse(readFileSync(join(channelDir, 'channel.json'), 'utf8'));
    const body = JSON.parse(doc.signed);
    body.targets = { 'aarch64-apple-darwin': Object.values(body.targets)[0] };
    body.sequence += 1;
    body.version = '3.0';
    const { envelope } = requireRelease();
    const signed = JSON.stringify(body);
    writeFileSync(join(channelDir, 'channel.json'), JSON.stringify(envelope(signed, [signer(keys.main!.key)])));
    refused(run(u, ['self', 'update']), /^error: the update channel has upd-app 3\.0 but no build of it for x86_64-unknown-linux-gnu$/m, u, v1);
    // A signed document naming a part by a path: never turned into one.
    const target = Object.values(JSON.parse(doc.signed).targets)[0] as { parts: { sha256: string }[] };
    target.parts[0]!.sha256 = '../../../../etc/passwd';
    body.targets = { 'x86_64-unknown-linux-gnu': target };
    body.sequence += 1;
    writeFileSync(join(channelDir, 'channel.json'), JSON.stringify(envelope(JSON.stringify(body), [signer(keys.main!.key)])));
    refused(run(u, ['self', 'update']), /^error: the update channel names a part by something that is not a sha256$/m, u, v1);
  }, LONG);

  function refused(r: Run, message: RegExp, u: { exe: string; home: string }, expected: string) {
    expectUserError(r, message);
    expect(sha256(u.exe)).toBe(sha256(expected));
  }

  it('rolls a release that fails to start twice back on its own, and does not offer it again', async () => {
    const v3 = await build('3.0', join(work, 'b3'), { crash: true });
    release(join(work, 'b2'));
    const u = install(v2, 'autorollback');
    expect(run(u).stdout).toBe('upd-app 2.0\n');
    release(join(work, 'b3'));
    expect(run(u, ['self', 'update']).stdout).toBe('upd-app 2.0 -> 3.0\n');
    expect(sha256(u.exe)).toBe(sha256(v3));
    const first = run(u);
    expect(first.code).not.toBe(0);
    expect(first.stderr).toMatch(/ImportError: broken release/);
    const second = run(u);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/upd-app 3\.0 failed to start twice; back to 2\.0 \(it will not be offered again\)\n$/);
    expect(sha256(u.exe)).toBe(sha256(v2));
    expect(run(u)).toMatchObject({ stdout: 'upd-app 2.0\n', code: 0 });
    expect(run(u, ['self', 'update'])).toMatchObject({ stdout: 'upd-app 3.0 failed to start here before and is not offered again\n', code: 0 });
  }, LONG);

  it('a release that starts once is no longer watched', () => {
    release(join(work, 'b2'));
    const u = install(v1, 'settled');
    run(u);
    expect(run(u, ['self', 'update']).code).toBe(0);
    expect(run(u, ['--exit-is-not-special']).stdout).toBe('upd-app 2.0 --exit-is-not-special\n');
    const envs = join(u.home, 'envs', 'upd-app');
    for (const env of readdirSync(envs)) expect(existsSync(join(envs, env, 'pyseal-pending'))).toBe(false);
  }, LONG);

  it('two updates at once: one does it, the other finds it done', async () => {
    release(join(work, 'b2'));
    const u = install(v1, 'twice');
    run(u);
    const a = startExe(u.exe, ['self', 'update'], u.home, env());
    const b = startExe(u.exe, ['self', 'update'], u.home, env());
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.code, rb.code]).toEqual([0, 0]);
    expect([ra.stderr, rb.stderr]).toEqual(['', '']);
    expect(sha256(u.exe)).toBe(sha256(v2));
    expect(run(u).stdout).toBe('upd-app 2.0\n');
  }, LONG);

  it('killed at any moment of an update, the user has the old or the new release, and updating again works', async () => {
    release(join(work, 'b2'));
    for (const ms of [5, 20, 40, 60, 90, 130, 200]) {
      const u = install(v1, `kill-${ms}`);
      run(u);
      const p = startExe(u.exe, ['self', 'update'], u.home, env());
      await new Promise((r) => setTimeout(r, ms));
      p.child.kill('SIGKILL');
      await p.done;
      // The tool dies with its launcher; give it a moment to be gone.
      await new Promise((r) => setTimeout(r, 50));
      expect([sha256(v1), sha256(v2)]).toContain(sha256(u.exe));
      const now = run(u);
      expect(now.code, `killed after ${ms} ms`).toBe(0);
      expect(['upd-app 1.0\n', 'upd-app 2.0\n']).toContain(now.stdout);
      const again = run(u, ['self', 'update']);
      expect(again.code, `${ms}: ${again.stderr}`).toBe(0);
      expect(run(u).stdout).toBe('upd-app 2.0\n');
    }
  }, LONG);

  it('rotates keys across three releases', async () => {
    const rotation = join(work, 'rotation');
    const next = keygen('next');
    // r1 trusts main; r2 trusts main and next, signed by both; r3 trusts next only, signed by next.
    const r1 = await build('1.0', join(rotation, 'r1'));
    const r2 = await build('2.0', join(rotation, 'r2'), { pubs: [keys.main!.pub, next.pub] });
    const r3 = await build('3.0', join(rotation, 'r3'), { pubs: [next.pub] });
    release(join(rotation, 'r2'), { keys: [keys.main!.key, next.key] });
    const u = install(r1, 'rotation');
    expect(run(u, ['self', 'update']).stdout).toBe('upd-app 1.0 -> 2.0\n');
    expect(sha256(u.exe)).toBe(sha256(r2));
    release(join(rotation, 'r3'), { keys: [next.key] });
    expect(run(u, ['self', 'update']).stdout).toBe('upd-app 2.0 -> 3.0\n');
    expect(sha256(u.exe)).toBe(sha256(r3));
    // A build that only knows the retired key cannot take r3.
    const stale = install(r1, 'rotation-stale');
    expectUserError(run(stale, ['self', 'update']), /is signed by a key this executable does not trust/);
  }, LONG);

  it('updates a lazy executable, fetching the new release\'s files as a first run does', async () => {
    const lazyDir = join(work, 'lazy');
    const l1 = await build('1.0', join(lazyDir, 'l1'), { lazy: true });
    const l2 = await build('2.0', join(lazyDir, 'l2'), { lazy: true });
    // The hosted files (CPython) live in the channel too, under hosted/.
    for (const d of ['l1', 'l2']) {
      const hosted = join(lazyDir, d, 'hosted');
      mkdirSync(join(channelDir, 'hosted'), { recursive: true });
      for (const n of readdirSync(hosted)) copyFileSync(join(hosted, n), join(channelDir, 'hosted', n));
      rmSync(hosted, { recursive: true });
    }
    release(join(lazyDir, 'l1'));
    const u = install(l1, 'lazy');
    expect(run(u).stdout).toBe('upd-app 1.0\n');
    release(join(lazyDir, 'l2'));
    expect(run(u, ['self', 'update']).stdout).toBe('upd-app 1.0 -> 2.0\n');
    expect(sha256(u.exe)).toBe(sha256(l2));
    expect(run(u).stdout).toBe('upd-app 2.0\n');
  }, LONG);

  it('a changed stub comes as a zstd delta against the running one', async () => {
    const f = fixtures();
    const dir = join(work, 'delta');
    const out = join(dir, 'upd-app');
    // The standard-library build of the stub (not the size-optimized one): a stub that differs, as a newer pyseal's would.
    const r = await pyseal.async(['build', '--quiet', '--distribution', f.python.archive, '--wheel', appWheel(work, '2.0'), '--channel', server.base, '--public-key', keys.main!.pub, '--level', LEVEL, '--out', out], {
      env: { PYSEAL_STUB_BUILD_STD: '0' },
      // A build cache of its own: stubs are cached by source and target, not by this variable.
      buildCache: join(dir, 'build-cache'),
    });
    expect(r.stderr).toBe('');
    release(join(work, 'b1'));
    release(dir);
    const body = JSON.parse(JSON.parse(readFileSync(join(channelDir, 'channel.json'), 'utf8')).signed);
    const target = Object.values(body.targets)[0] as { stub: { sha256: string; size: number }; stub_delta?: { from: string; sha256: string; size: number } };
    expect(target.stub_delta).toBeDefined();
    expect(target.stub_delta!.size).toBeLessThan(target.stub.size);
    const u = install(v1, 'delta');
    run(u);
    server.reset();
    expect(run(u, ['self', 'update']).stdout).toBe('upd-app 1.0 -> 2.0\n');
    expect(sha256(u.exe)).toBe(sha256(out));
    expect(server.requests.some((p) => p.endsWith(target.stub.sha256))).toBe(false);
    // (The network tool changed too, and its frame is fetched whole: it is a blob, not the stub.)
    expect(server.requests.some((p) => p.endsWith(target.stub_delta!.sha256))).toBe(true);
    expect(run(u).stdout).toBe('upd-app 2.0\n');
  }, LONG);

  it('--update-check daily looks in the background and tells the next run; PYSEAL_NO_UPDATE_CHECK=1 turns it off', async () => {
    const f = fixtures();
    const dir = join(work, 'daily');
    const out = join(dir, 'upd-app');
    const r = await pyseal.async(['build', '--quiet', '--distribution', f.python.archive, '--wheel', appWheel(work, '1.0'), '--channel', server.base, '--public-key', keys.main!.pub, '--update-check', 'daily', '--level', LEVEL, '--out', out]);
    expect(r.code).toBe(0);
    release(join(work, 'b2'));
    const off = install(out, 'daily-off');
    expect(runExe(off.exe, [], { home: off.home, env: { ...env(), PYSEAL_NO_UPDATE_CHECK: '1' } })).toMatchObject({ stdout: 'upd-app 1.0\n', stderr: '' });
    expect(existsSync(join(off.home, 'updates', 'upd-app', 'checked'))).toBe(false);
    const u = install(out, 'daily');
    server.reset();
    expect(run(u)).toMatchObject({ stdout: 'upd-app 1.0\n', stderr: '' });
    const found = join(u.home, 'updates', 'upd-app', 'available');
    for (let i = 0; i < 100 && !existsSync(found); i++) await new Promise((res) => setTimeout(res, 100));
    expect(server.requests).toContain('/stable/channel.json');
    const next = run(u);
    expect(next.stdout).toBe('upd-app 1.0\n');
    expect(next.stderr).toBe(`upd-app 2.0 is available: run \`${u.exe} self update\`\n`);
    // Once a day: the next runs neither check nor repeat it.
    server.reset();
    expect(run(u).stderr).toBe('');
    await new Promise((res) => setTimeout(res, 300));
    expect(server.requests).toEqual([]);
  }, LONG);

  it('says so when a build has no channel, and release refuses builds it cannot serve', () => {
    const f = fixtures();
    const plain = join(work, 'plain', 'upd-app');
    expect(pyseal(['build', '--quiet', '--distribution', f.python.archive, '--wheel', appWheel(work, '1.0'), '--level', LEVEL, '--out', plain]).code).toBe(0);
    expectUserError(runExe(plain, ['self', 'update'], { home: join(work, 'plain', 'home') }), /^error: upd-app 1\.0 was built without an update channel$/m);
    expectUserError(pyseal(['release', plain, '--key', keys.main!.key, '--channel-dir', join(work, 'x')]), /was built without an update channel/);
    expectUserError(pyseal(['release', join(work, 'b1'), '--key', keys.main!.pub, '--channel-dir', join(work, 'x')]), /is not a private key/);
    expectUserError(pyseal(['release', join(work, 'b1'), '--key', (keys.other ?? keygen('other')).key, '--channel-dir', join(work, 'x')]), /trusts none of the signing keys given/);
    expectUserError(pyseal(['release', join(work, 'b1'), '--key', keys.main!.key, '--channel-dir', join(work, 'x'), '--expires', 'soon']), /--expires soon is not a duration/);
    expectUserError(pyseal(['build', '--channel', 'ftp://x', '--public-key', keys.main!.pub, '--wheel', appWheel(work, '1.0')]), /--channel ftp:\/\/x is not an http\(s\) URL/);
    expectUserError(pyseal(['build', '--channel', 'https://x', '--public-key', join(work, 'nope.pub'), '--wheel', appWheel(work, '1.0')]), /is not a pyseal public key/);
  });
});

// The channel writer's own signing, for crafting documents the release command would never write.
function requireRelease(): typeof import('../src/update/release.js') {
  return releaseModule!;
}
let releaseModule: typeof import('../src/update/release.js') | undefined;
let keysModule: typeof import('../src/update/keys.js') | undefined;
beforeAll(async () => {
  releaseModule = await import('../src/update/release.js');
  keysModule = await import('../src/update/keys.js');
});
function signer(key: string) {
  return keysModule!.readSigningKey(key);
}
