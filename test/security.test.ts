/**
 * Trust nothing in the cache or the inputs. Each finding of the security
 * review has a test here with the same kind of crafted input an attacker
 * would use: executables put together by hand (with the same native writer
 * pyseal uses, so only their contents are hostile), caches others can write,
 * links planted in the cache, crafted lock files, private indexes, and
 * strings made to act on a terminal.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import type { Manifest } from '../src/manifest.js';
import { nativeAddon } from '../src/native.js';
import { hostTriple } from '../src/targets/index.js';
import { toolsRoot } from '../src/toolchain/install.js';
import { fixtureCatalog, serveIndex } from './fixtures/index.js';
import { serve } from './fixtures/server.js';
import { demoApp, makeWheel } from './fixtures/wheels.mjs';
import { buildApp, expectUserError, fixtures, LEVEL, listTree, names, pyseal, runExe, startExe, tempDir } from './helpers.js';

const EXPECTED = 'hello, world!\nargv0=hello\n';
const MTIME = 315532800;

/** An executable taken apart: its stub, its manifest and its blobs' zstd frames. */
interface Parts {
  stub: string;
  manifest: Manifest;
  frames: (string | null)[];
}

function takeApart(exe: string): Parts {
  const dir = tempDir('pyseal-parts');
  const info = nativeAddon().inspectExecutable(exe);
  const bytes = readFileSync(exe);
  const stub = join(dir, 'stub');
  writeFileSync(stub, bytes.subarray(0, info.stubSize));
  const frames = info.manifest.blobs.map((b, i) => {
    if (!('payload' in b.source)) return null;
    const start = info.stubSize + b.source.payload.offset;
    const frame = join(dir, `frame-${i}.zst`);
    writeFileSync(frame, bytes.subarray(start, start + b.source.payload.length));
    return frame;
  });
  return { stub, manifest: info.manifest, frames };
}

/** Packs `tree` as a blob with pyseal's own packer: its name is its real hash. */
async function frameOf(tree: string): Promise<{ sha256: string; size: number; frame: string }> {
  const source = { dir: tree, mtime: MTIME };
  const { sha256, size } = await nativeAddon().hashBlob(source);
  const frame = join(tempDir('pyseal-frame'), `${sha256}.zst`);
  await nativeAddon().compressBlob(source, 3, sha256, frame);
  return { sha256, size, frame };
}

async function putTogether(parts: Parts, out: string): Promise<string> {
  await nativeAddon().writeExecutable(parts.stub, parts.manifest, parts.frames, out);
  return out;
}

/** A wheel blob's tree (`site-packages/`, `bin/`), from (path, file text | symlink target) entries. */
function tree(entries: Record<string, string | { link: string }>): string {
  const root = tempDir('pyseal-tree');
  for (const [path, content] of Object.entries(entries)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    if (typeof content === 'string') writeFileSync(join(root, path), content);
    else symlinkSync(content.link, join(root, path));
  }
  return root;
}

let exe: string;
let info: { manifest: Manifest };

beforeAll(() => {
  exe = buildApp({ out: join(tempDir('pyseal-security'), 'hello') });
  info = nativeAddon().inspectExecutable(exe);
});

const wheelBlob = (m: Manifest, name: string) => m.blobs.find((b) => b.name === name)!;

describe('1. links in blobs, and pyseal\'s own names', () => {
  it('refuses a blob whose symlink chain leads out of it, and installs nothing', async () => {
    const dir = tempDir();
    const parts = takeApart(exe);
    // Each link alone stays inside the blob; `esc` resolves two levels above it.
    const evil = await frameOf(
      tree({
        'site-packages/a/b/c/d/e/up5': { link: '../../../../..' },
        'site-packages/esc': { link: 'a/b/c/d/e/up5/../../../x' },
        'site-packages/evil/__init__.py': '',
      }),
    );
    parts.manifest.blobs.push({ sha256: evil.sha256, kind: 'wheel', name: 'evil-1.0', size: evil.size, source: { payload: { offset: 0, length: 0 } } });
    parts.frames.push(evil.frame);
    const crafted = await putTogether(parts, join(dir, 'crafted'));
    const home = join(dir, 'home');
    const r = runExe(crafted, [], { home });
    expectUserError(r, /crafted \(blob evil-1\.0\): symlink site-packages\/esc -> a\/b\/c\/d\/e\/up5\/\.\.\/\.\.\/\.\.\/x resolves through another symlink/);
    expect(names(join(home, 'blobs'))).toEqual([]);
    expect(names(join(home, 'envs'))).toEqual([]);
  });

  it('never writes its own files through a link a wheel put in their place', async () => {
    const dir = tempDir();
    const parts = takeApart(exe);
    // The wheel links `bin/pyseal-entry.py` and the marker to a file of its own blob.
    const sneaky = await frameOf(
      tree({
        'site-packages/sneaky/__init__.py': 'original\n',
        'bin/pyseal-entry.py': { link: '../site-packages/sneaky/__init__.py' },
        'data/.pyseal-complete': { link: '../site-packages/sneaky/__init__.py' },
        'data/pyvenv.cfg': { link: '../site-packages/sneaky/__init__.py' },
      }),
    );
    parts.manifest.blobs.push({ sha256: sneaky.sha256, kind: 'wheel', name: 'sneaky-1.0', size: sneaky.size, source: { payload: { offset: 0, length: 0 } } });
    parts.frames.push(sneaky.frame);
    const crafted = await putTogether(parts, join(dir, 'hello'));
    const home = join(dir, 'home');
    expect(runExe(crafted, [], { home }).stdout).toBe(EXPECTED);
    expect(runExe(crafted, ['self', 'restore'], { home }).code).toBe(0);
    expect(runExe(crafted, [], { home }).stdout).toBe(EXPECTED);
    expect(readFileSync(join(home, 'blobs', sneaky.sha256, 'site-packages', 'sneaky', '__init__.py'), 'utf8')).toBe('original\n');
    const env = join(home, 'envs', 'hello-app', names(join(home, 'envs', 'hello-app'))[0]!);
    for (const own of ['bin/pyseal-entry.py', '.pyseal-complete', 'pyvenv.cfg']) expect(lstatSync(join(env, own)).isFile(), own).toBe(true);
  });

  it('an honest wheel shipping a script named pyseal-entry.py leaves its blob untouched', () => {
    const dir = tempDir();
    const f = fixtures();
    const odd = makeWheel({ name: 'odd', version: '1.0', out: dir, files: { 'odd.py': '' }, data: { scripts: { 'pyseal-entry.py': "print('the wheel\\'s own file')\n" } } });
    const built = buildApp({ out: join(dir, 'hello'), wheels: [f.wheels.app, f.wheels.lib, odd] });
    const home = join(dir, 'home');
    expect(runExe(built, [], { home }).stdout).toBe(EXPECTED);
    const blob = names(join(home, 'blobs')).find((b) => existsSync(join(home, 'blobs', b, 'bin', 'pyseal-entry.py')))!;
    expect(readFileSync(join(home, 'blobs', blob, 'bin', 'pyseal-entry.py'), 'utf8')).toBe("print('the wheel\\'s own file')\n");
  });
});

describe('2. a cache someone else can write', () => {
  /** A cache with a fake interpreter planted where this executable's would go. */
  function planted(home: string) {
    const m = info.manifest;
    const python = join(home, 'blobs', m.python.blob, m.python.executable);
    const proof = join(home, '..', 'planted-python-ran');
    mkdirSync(join(python, '..'), { recursive: true });
    writeFileSync(python, `#!/bin/sh\ntouch ${proof}\n`, { mode: 0o755 });
    return proof;
  }

  it('refuses a cache root writable by others, before running anything from it', () => {
    const home = join(tempDir(), 'home');
    const proof = planted(home);
    chmodSync(home, 0o777);
    const r = runExe(exe, [], { home });
    expectUserError(r, new RegExp(`the pyseal cache ${home} can be written by other users \\(mode 777\\)`));
    expect(r.stderr).toMatch(/hint: make it yours and private \(chmod 700\), or set PYSEAL_HOME to a directory only you can write/);
    expect(existsSync(proof)).toBe(false);
  });

  it('refuses blobs/ or envs/ owned by another user, and a group-writable one', () => {
    const home = join(tempDir(), 'home');
    const proof = planted(home);
    chownSync(join(home, 'blobs'), 65534, 65534);
    expectUserError(runExe(exe, [], { home }), new RegExp(`the pyseal cache ${join(home, 'blobs')} belongs to another user \\(uid 65534\\)`));
    chownSync(join(home, 'blobs'), process.getuid!(), process.getgid!());
    chmodSync(join(home, 'blobs'), 0o775);
    expectUserError(runExe(exe, [], { home }), /can be written by other users \(mode 775\)/);
    expect(existsSync(proof)).toBe(false);
  });

  it('replaces a blob directory that is a link, without following it', () => {
    const dir = tempDir();
    const home = join(dir, 'home');
    const lib = wheelBlob(info.manifest, 'greetlib-2.1');
    const elsewhere = tree({ 'site-packages/greetlib/__init__.py': 'def greet(who):\n    return "trojan"\n' });
    mkdirSync(join(home, 'blobs'), { recursive: true, mode: 0o700 });
    symlinkSync(elsewhere, join(home, 'blobs', lib.sha256));
    expect(runExe(exe, [], { home }).stdout).toBe(EXPECTED);
    expect(lstatSync(join(home, 'blobs', lib.sha256)).isDirectory()).toBe(true);
    expect(readFileSync(join(elsewhere, 'site-packages', 'greetlib', '__init__.py'), 'utf8')).toContain('trojan');
  });

  it('makes its directories private, whatever the umask', () => {
    const home = join(tempDir(), 'cache', 'pyseal');
    const r = spawnSync('sh', ['-c', 'umask 002 && exec "$0"', exe], { env: { ...process.env, PYSEAL_HOME: home }, encoding: 'utf8' });
    expect(r.stdout).toBe(EXPECTED);
    for (const d of [home, join(home, 'blobs'), join(home, 'envs'), join(home, 'locks')]) expect(statSync(d).mode & 0o777, d).toBe(0o700);
    expect(runExe(exe, [], { home }).stdout).toBe(EXPECTED);
  });

  it('refuses a cache path with a line break, which would reach pyvenv.cfg', () => {
    const home = join(tempDir(), 'home\ninclude-system-site-packages = true');
    expectUserError(runExe(exe, [], { home }), /has control characters/);
  });
});

describe('3. self remove never deletes through links', () => {
  it('leaves linked directories and names pyseal never makes alone', () => {
    const dir = tempDir();
    const home = join(dir, 'home');
    expect(runExe(exe, [], { home }).stdout).toBe(EXPECTED);
    const precious = join(dir, 'precious');
    mkdirSync(join(precious, '1.0-aaaaaaaaaaaa'), { recursive: true });
    writeFileSync(join(precious, 'thesis.tex'), 'years of work');
    writeFileSync(join(precious, '1.0-aaaaaaaaaaaa', 'notes'), 'more');
    symlinkSync(precious, join(home, 'envs', 'someapp'));
    mkdirSync(join(home, 'blobs', 'my-notes'));
    writeFileSync(join(home, 'blobs', 'my-notes', 'keep'), 'x');
    writeFileSync(join(home, 'locks', 'README'), 'not a lock');
    const before = listTree(precious);
    expect(runExe(exe, ['self', 'remove'], { home }).code).toBe(0);
    expect(listTree(precious)).toEqual(before);
    expect(existsSync(join(home, 'blobs', 'my-notes', 'keep'))).toBe(true);
    expect(existsSync(join(home, 'locks', 'README'))).toBe(true);
  });

  it('refuses a cache whose locks/ is a link, deleting nothing', () => {
    const dir = tempDir();
    const home = join(dir, 'home');
    expect(runExe(exe, [], { home }).stdout).toBe(EXPECTED);
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'a.lock'), 'mine');
    rmSync(join(home, 'locks'), { recursive: true });
    symlinkSync(elsewhere, join(home, 'locks'));
    expectUserError(runExe(exe, ['self', 'remove'], { home }), /the pyseal cache entry .*locks is a symlink, which pyseal never makes/);
    expect(readdirSync(elsewhere)).toEqual(['a.lock']);
  });
});

describe('4. file names and hashes from locks', () => {
  const triple = hostTriple();
  let dir: string;
  let catalog: { path: string; tag: string; asset: string };
  let cache: string;
  let wheels: ReturnType<typeof demoApp>;

  beforeAll(() => {
    dir = tempDir('pyseal-locks');
    const f = fixtures();
    catalog = fixtureCatalog(dir, { archive: f.python.archive, version: f.python.version }, triple);
    wheels = demoApp(join(dir, 'wheels'));
    cache = join(dir, 'cache');
    cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
  });

  /** Builds `hello-app` from a loopback index, so that it writes its lock; returns the lock's text. */
  async function lockedProject(server: { mirror: string; index: string }) {
    const project = join(tempDir(), 'project');
    mkdirSync(project);
    const args = ['build', '--quiet', '--python-catalog', catalog.path, '--python-mirror', server.mirror, '--index-url', server.index, '--from', 'hello-app', '--level', LEVEL];
    const first = await pyseal.async([...args, '--out', join(project, 'first')], { buildCache: cache, cwd: project });
    expect(first.code).toBe(0);
    const lock = join(project, `pylock.hello-app-${triple}.toml`);
    return { project, args, lock, text: readFileSync(lock, 'utf8') };
  }

  it('refuses a path in a lock\'s file name, or in the last part of its URL, before writing anything', async () => {
    const f = fixtures();
    const server = await serveIndex({ python: f.python.interpreter, packages: [wheels.app, wheels.lib], distribution: { archive: f.python.archive, tag: catalog.tag, asset: catalog.asset } });
    try {
      const { project, args, lock, text } = await lockedProject(server);
      const escape = join(dir, `escaped-${process.pid}.whl`);
      const crafted = text.replace('name = "greetlib-2.1-py3-none-any.whl"', `name = "../../../../../../../..${escape}"`);
      expect(crafted).not.toBe(text);
      writeFileSync(lock, crafted);
      // A fresh build cache: the named file must not be made anywhere.
      const fresh = join(tempDir(), 'cache');
      cpSync(join(cache, 'stubs'), join(fresh, 'stubs'), { recursive: true });
      const r = await pyseal.async([...args, '--out', join(project, 'never')], { buildCache: fresh, cwd: project });
      expectUserError(r, /names the file ".*escaped-\d+\.whl", which is not a plain wheel or sdist file name/);
      expect(existsSync(escape)).toBe(false);

      // The same through the URL: no `name`, a percent-encoded path in its last part.
      const viaUrl = text.replace(/name = "greetlib-2\.1-py3-none-any\.whl"\n/, '').replace('/files/greetlib-2.1-py3-none-any.whl', '/files/..%2F..%2F..%2F..%2Fescaped.whl');
      writeFileSync(lock, viaUrl);
      expectUserError(await pyseal.async([...args, '--out', join(project, 'never')], { buildCache: fresh, cwd: project }), /names the file "\.\.\/\.\.\/\.\.\/\.\.\/escaped\.whl"/);
      expect(existsSync(join(fresh, '..', 'escaped.whl'))).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('refuses a "hash" that is not one, which could name an existing file', async () => {
    const f = fixtures();
    const server = await serveIndex({ python: f.python.interpreter, packages: [wheels.app, wheels.lib], distribution: { archive: f.python.archive, tag: catalog.tag, asset: catalog.asset } });
    try {
      const { project, args, lock, text } = await lockedProject(server);
      writeFileSync(lock, text.replace(/(name = "greetlib-2\.1-py3-none-any\.whl"[\s\S]*?sha256 = )"[0-9a-f]{64}"/, '$1"../../../../../../../../etc/passwd"'));
      const r = await pyseal.async([...args, '--out', join(project, 'never')], { buildCache: cache, cwd: project });
      expectUserError(r, /the sha256 of greetlib-2\.1-py3-none-any\.whl in .* is not 64 hex digits/);
      // The same rules hold for a user's own pylock.toml given with --lock.
      const own = join(project, 'pylock.toml');
      writeFileSync(own, `lock-version = "1.0"\n[[packages]]\nname = "x"\nversion = "1"\n[[packages.wheels]]\nname = "../x-1-py3-none-any.whl"\nurl = "${server.url('/files/x.whl')}"\nhashes = { sha256 = "${'a'.repeat(64)}" }\n`);
      expectUserError(await pyseal.async([...args.filter((a) => a !== 'hello-app' && a !== '--from'), '--wheel', wheels.app, '--lock', own, '--out', join(project, 'never')], { buildCache: cache, cwd: project }), /names the file "\.\.\/x-1-py3-none-any\.whl"/);
    } finally {
      await server.close();
    }
  });
});

describe('5. self restore verifies before it replaces', () => {
  it('a crafted executable naming another app\'s blob cannot take it away', async () => {
    const dir = tempDir();
    const home = join(dir, 'home');
    expect(runExe(exe, [], { home }).stdout).toBe(EXPECTED);
    const before = listTree(join(home, 'blobs'));
    // Mallory's executable names hello-app's greetlib blob, with other content.
    const parts = takeApart(exe);
    parts.manifest.app = 'mallory';
    const lib = wheelBlob(parts.manifest, 'greetlib-2.1');
    const other = await frameOf(tree({ 'site-packages/greetlib/__init__.py': 'def greet(who):\n    return "owned"\n' }));
    parts.frames[parts.manifest.blobs.indexOf(lib)] = other.frame;
    lib.size = other.size;
    const crafted = await putTogether(parts, join(dir, 'mallory'));
    expectUserError(runExe(crafted, ['self', 'restore'], { home }), /is damaged: it does not match its checksum/);
    expect(listTree(join(home, 'blobs'))).toEqual(before);
    expect(runExe(exe, [], { home }).stdout).toBe(EXPECTED);
  });

  it('a run whose environment lost a wheel blob puts it back', () => {
    const home = join(tempDir(), 'home');
    expect(runExe(exe, [], { home }).stdout).toBe(EXPECTED);
    const lib = wheelBlob(info.manifest, 'greetlib-2.1');
    execFileSync('rm', ['-rf', join(home, 'blobs', lib.sha256)]);
    const r = runExe(exe, [], { home });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(EXPECTED);
  });
});

/**
 * A different HOME (for its ~/.netrc) must not also hide the real rustup,
 * cargo and pyseal tools, which live under the real home by default.
 */
function rustBesideHome(): NodeJS.ProcessEnv {
  const home = homedir();
  return {
    RUSTUP_HOME: process.env.RUSTUP_HOME ?? join(home, '.rustup'),
    CARGO_HOME: process.env.CARGO_HOME ?? join(home, '.cargo'),
    PYSEAL_TOOLS_DIR: toolsRoot(),
  };
}

describe('6. credentials for private indexes', () => {
  const triple = hostTriple();
  let dir: string;
  let catalog: { path: string; tag: string; asset: string };
  let cache: string;

  beforeAll(() => {
    dir = tempDir('pyseal-auth');
    const f = fixtures();
    catalog = fixtureCatalog(dir, { archive: f.python.archive, version: f.python.version }, triple);
    cache = join(dir, 'cache');
    cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
  });

  it('builds from an index that wants basic auth, keeping the password out of the lock, the executable and every message', async () => {
    const f = fixtures();
    const wheels = demoApp(join(tempDir(), 'wheels'));
    const server = await serveIndex({ python: f.python.interpreter, packages: [wheels.app, wheels.lib], distribution: { archive: f.python.archive, tag: catalog.tag, asset: catalog.asset }, auth: 'alice:s3cret' });
    try {
      const index = server.index.replace('http://', 'http://alice:s3cret@');
      const mirror = server.mirror.replace('http://', 'http://alice:s3cret@');
      const project = join(tempDir(), 'project');
      mkdirSync(project);
      const common = ['build', '--quiet', '--python-catalog', catalog.path, '--python-mirror', mirror, '--index-url', index, '--level', LEVEL];
      for (const mode of ['embedded', 'lazy']) {
        const out = join(project, mode);
        const r = await pyseal.async([...common, '--mode', mode, '--from', 'hello-app', '--out', out, '--upgrade'], { buildCache: cache, cwd: project });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(readFileSync(out).includes('s3cret')).toBe(false);
        expect(runExe(out, [], { home: join(project, `home-${mode}`) }).stdout).toBe(`hello, world!\nargv0=${mode}\n`);
      }
      // Lazy: the files behind credentials were embedded, not left for the user's machine to fetch.
      const lazy = JSON.parse(pyseal(['inspect', '--json', join(project, 'lazy')]).stdout).manifest as Manifest;
      expect(lazy.blobs.filter((b) => 'url' in b.source)).toEqual([]);
      expect(readFileSync(join(project, `pylock.hello-app-${triple}.toml`), 'utf8')).not.toMatch(/s3cret|alice/);
      const unknown = await pyseal.async([...common, '--from', 'no-such-package', '--out', join(project, 'never')], { buildCache: cache, cwd: project });
      expectUserError(unknown, /no package named no-such-package on http:\/\/alice:\*\*\*\*@127\.0\.0\.1:\d+\/simple/);
      expect(unknown.stderr).not.toContain('s3cret');
      const wrong = await pyseal.async([...common.map((a) => a.replace('s3cret', 'wrong')), '--from', 'hello-app', '--upgrade', '--out', join(project, 'never')], { buildCache: join(tempDir(), 'c'), cwd: project });
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).not.toContain('wrong@');
      expect(wrong.stderr).toMatch(/credentials/);
    } finally {
      await server.close();
    }
  });

  it('takes credentials from ~/.netrc and from PIP_INDEX_URL', async () => {
    const f = fixtures();
    const wheels = demoApp(join(tempDir(), 'wheels'));
    const server = await serveIndex({ python: f.python.interpreter, packages: [wheels.app, wheels.lib], distribution: { archive: f.python.archive, tag: catalog.tag, asset: catalog.asset }, auth: 'bob:hunter2' });
    try {
      const home = tempDir('pyseal-netrc-home');
      writeFileSync(join(home, '.netrc'), 'machine 127.0.0.1\n  login bob\n  password hunter2\n', { mode: 0o600 });
      const project = join(tempDir(), 'project');
      mkdirSync(project);
      const common = ['build', '--quiet', '--python-catalog', catalog.path, '--python-mirror', server.mirror, '--level', LEVEL, '--from', 'hello-app', '--upgrade'];
      // Fresh build caches (nothing downloaded yet), with the stub copied in.
      const freshCache = () => {
        const c = join(tempDir(), 'cache');
        cpSync(join(cache, 'stubs'), join(c, 'stubs'), { recursive: true });
        return c;
      };
      const netrc = await pyseal.async([...common, '--index-url', server.index, '--out', join(project, 'netrc')], { buildCache: freshCache(), cwd: project, env: { HOME: home, ...rustBesideHome() } });
      expect(netrc.stderr).toBe('');
      expect(netrc.code).toBe(0);
      const viaEnv = await pyseal.async([...common, '--out', join(project, 'env')], { buildCache: freshCache(), cwd: project, env: { PIP_INDEX_URL: server.index.replace('http://', 'http://bob:hunter2@'), NETRC: '/nonexistent' } });
      expect(viaEnv.stderr).toBe('');
      expect(viaEnv.code).toBe(0);
      expect(readFileSync(join(project, 'env')).includes('hunter2')).toBe(false);
    } finally {
      await server.close();
    }
  });
});

describe('7. strings made to act on a terminal', () => {
  it('inspect and self info show control characters escaped', async () => {
    const dir = tempDir();
    const parts = takeApart(exe);
    parts.manifest.target = 'x86_64\u001b[2J\u001b[H all checks passed';
    wheelBlob(parts.manifest, 'greetlib-2.1').name = 'greetlib\u001b]0;owned\u0007\nfake line';
    parts.manifest.builder = 'pyseal\r\u001b[Kverified';
    const crafted = await putTogether(parts, join(dir, 'crafted'));
    const text = pyseal(['inspect', crafted]);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(text.stdout).toContain('target:       x86_64\\u{1b}[2J\\u{1b}[H all checks passed');
    expect(text.stdout).toContain('greetlib\\u{1b}]0;owned\\u{7}\\u{a}fake line');
    const selfInfo = runExe(crafted, ['self', 'info'], { home: join(dir, 'home') });
    expect(selfInfo.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(selfInfo.stdout).toContain('target:       x86_64\\u{1b}[2J\\u{1b}[H all checks passed');
  });
});

describe('also checked', () => {
  it('a lazy first run does not trust a file already in downloads/', async () => {
    const f = fixtures();
    const dir = tempDir();
    const catalog = fixtureCatalog(dir, { archive: f.python.archive, version: f.python.version }, hostTriple());
    const wheels = demoApp(join(dir, 'wheels'));
    const cache = join(dir, 'cache');
    cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
    const server = await serveIndex({ python: f.python.interpreter, packages: [wheels.app, wheels.lib], distribution: { archive: f.python.archive, tag: catalog.tag, asset: catalog.asset } });
    try {
      const out = join(dir, 'hello');
      const r = await pyseal.async(['build', '--quiet', '--mode', 'lazy', '--python-catalog', catalog.path, '--python-mirror', server.mirror, '--index-url', server.index, '--from', 'hello-app', '--level', LEVEL, '--out', out], { buildCache: cache, cwd: dir });
      expect(r.code).toBe(0);
      const lazy = JSON.parse(pyseal(['inspect', '--json', out]).stdout).manifest as Manifest;
      const wheel = lazy.blobs.find((b) => b.name === 'greetlib-2.1')!.source as { url: { sha256: string; size: number } };
      const home = join(dir, 'home');
      mkdirSync(join(home, 'downloads'), { recursive: true, mode: 0o700 });
      // Planted: right name and size, wrong bytes.
      writeFileSync(join(home, 'downloads', wheel.url.sha256), Buffer.alloc(wheel.url.size, 0x41));
      const run = await startExe(out, [], home).done;
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(EXPECTED);
      expect(server.log).toContain('GET /files/greetlib-2.1-py3-none-any.whl');
    } finally {
      await server.close();
    }
  });

  it('a redirect to a file: URL is refused, by the build and by the launcher', async () => {
    const f = fixtures();
    const dir = tempDir();
    const server = await serve({ '/cpython.tar.gz': { body: Buffer.alloc(0), redirect: `file://${f.python.archive}` } });
    try {
      const r = await pyseal.async(['build', '--quiet', '--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--distribution', server.url('/cpython.tar.gz'), '--distribution-sha256', 'a'.repeat(64), '--out', join(dir, 'never')], { buildCache: join(dir, 'cache') });
      expectUserError(r, /cannot download http:\/\/127\.0\.0\.1:\d+\/cpython\.tar\.gz: /);
      // The launcher: a lazy executable whose Python is mirrored to the redirecting server.
      const catalog = fixtureCatalog(dir, { archive: f.python.archive, version: f.python.version }, hostTriple());
      const index = await serveIndex({ python: f.python.interpreter, packages: [f.wheels.app, f.wheels.lib], distribution: { archive: f.python.archive, tag: catalog.tag, asset: catalog.asset } });
      try {
        const cache = join(dir, 'cache2');
        cpSync(join(f.buildCache, 'stubs'), join(cache, 'stubs'), { recursive: true });
        const out = join(dir, 'lazy');
        const built = await pyseal.async(['build', '--quiet', '--mode', 'lazy', '--python-catalog', catalog.path, '--python-mirror', index.mirror, '--index-url', index.index, '--from', 'hello-app', '--level', LEVEL, '--out', out], { buildCache: cache, cwd: dir });
        expect(built.code).toBe(0);
        const redirecting = await serve({ [`/${catalog.tag}/${catalog.asset}`]: { body: Buffer.alloc(0), redirect: 'file:///etc/passwd' } });
        try {
          const home = join(dir, 'home');
          const run = await startExe(out, [], home, { PYSEAL_PYTHON_MIRROR: redirecting.url('') }).done;
          expectUserError(run, /cannot download http:\/\/127\.0\.0\.1:\d+\/\d+\/cpython-.* \(cpython-[\d.]+\)/);
          expect(names(join(home, 'blobs')).filter((b) => !b.startsWith('.'))).toHaveLength(1); // only the launcher tool
        } finally {
          await redirecting.close();
        }
      } finally {
        await index.close();
      }
    } finally {
      await server.close();
    }
  });
});
