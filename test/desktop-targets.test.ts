/**
 * Windows and macOS executables from this Linux machine: the payload where
 * signing keeps it, and the files checked by independent tools.
 *
 * - macOS cannot run here: each executable's structure and ad-hoc signature
 *   are checked by a reader written by others (the `object` crate, in
 *   test/fixtures/macho-check), every page hash recomputed; `rcodesign
 *   verify` too, when it is on PATH.
 * - Windows runs under Wine, with a stand-in python.exe (see
 *   test/fixtures/windows.mjs), after signing with osslsigncode and a
 *   throwaway certificate, and `osslsigncode verify`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { demoApp } from './fixtures/wheels.mjs';
import { fixtureCatalogOf, serveIndex } from './fixtures/index.js';
import { fixturePython } from './fixtures/python.mjs';
import { fixturePythonAarch64 } from './fixtures/python-aarch64.mjs';
import { fixturePythonMusl, fixturePythonMuslAarch64 } from './fixtures/python-musl.mjs';
import { ensureWine, standInWindowsPython, zig } from './fixtures/windows.mjs';
import { expectUserError, fixtures, LEVEL, pyseal, type Run, runExe, tempDir } from './helpers.js';

const LONG = 1_800_000;

/** Builds the independent Mach-O checker once (cargo, the `object` crate). */
function machoCheck(): (file: string) => { segments: { name: string; fileoff: number; filesize: number }[]; codeLimit: number; signatureOffset: number; fileSize: number; identifier: string; flags: number; pages: number; badPages: number[] } {
  const dir = join(import.meta.dirname, 'fixtures', 'macho-check');
  const target = join(fixtures().buildCache, 'macho-check-target');
  execFileSync(process.env.CARGO ?? 'cargo', ['build', '--quiet', '--locked', '--manifest-path', join(dir, 'Cargo.toml')], { env: { ...process.env, CARGO_TARGET_DIR: target }, stdio: 'pipe' });
  const bin = join(target, 'debug', 'macho-check');
  return (file) => JSON.parse(execFileSync(bin, [file], { encoding: 'utf8' }));
}

/** A stand-in python-build-standalone macOS tree: its interpreter is a real Mach-O for the target (never run here). */
function standInMacPython(dir: string, arch: 'aarch64' | 'x86_64', version = '3.12.8'): string {
  const minor = version.split('.').slice(0, 2).join('.');
  const root = join(dir, `mac-${arch}`);
  execFileSync('mkdir', ['-p', join(root, 'python', 'bin'), join(root, 'python', 'include', `python${minor}`), join(root, 'python', 'lib', `python${minor}`)]);
  writeFileSync(join(root, 'main.c'), 'int main(void) { return 0; }\n');
  execFileSync(zig(), ['cc', '-target', `${arch}-macos`, join(root, 'main.c'), '-o', join(root, 'python', 'bin', `python${minor}`)], { stdio: 'pipe' });
  writeFileSync(join(root, 'python', 'include', `python${minor}`, 'patchlevel.h'), `#define PY_VERSION "${version}"\n`);
  const archive = join(dir, `cpython-${version}-${arch}-apple-darwin-install_only.tar.gz`);
  execFileSync('tar', ['-C', root, '-czf', archive, 'python']);
  return archive;
}

describe('macOS executables (built and checked here; macOS itself cannot run here)', () => {
  for (const arch of ['aarch64', 'x86_64'] as const) {
    const triple = `${arch}-apple-darwin`;
    it(
      `${triple}: the payload in its own segment before __LINKEDIT, signed ad hoc over every byte`,
      async () => {
        const dir = tempDir();
        const wheels = demoApp(join(dir, 'wheels'));
        const out = join(dir, 'hello');
        const r = await pyseal.async(['build', '--quiet', '--target', triple, '--distribution', standInMacPython(dir, arch), '--no-compile', '--wheel', wheels.app, '--wheel', wheels.lib, '--level', LEVEL, '--out', out]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const check = machoCheck()(out);
        expect(check.segments.map((s) => s.name).slice(-2)).toEqual(['__PYSEAL', '__LINKEDIT']);
        const linkedit = check.segments.at(-1)!;
        expect(linkedit.fileoff + linkedit.filesize).toBe(check.fileSize);
        expect(check.badPages).toEqual([]);
        expect(check.codeLimit).toBe(check.signatureOffset);
        expect(check.identifier).toBe('hello');
        // ad hoc | linker-signed: a later `codesign --sign` replaces it.
        expect(check.flags).toBe(0x20002);
        // The launcher's own reader finds the payload inside the segment.
        const info = JSON.parse(pyseal(['inspect', '--json', out]).stdout);
        expect(info.manifest.target).toBe(triple);
        const segment = check.segments.at(-2)!;
        expect(info.stubSize).toBe(segment.fileoff);
        // One flipped byte of the payload, and the signature no longer holds.
        const bytes = readFileSync(out);
        bytes[segment.fileoff + 1000]! ^= 1;
        writeFileSync(`${out}-tampered`, bytes);
        expect(machoCheck()(`${out}-tampered`).badPages).toEqual([Math.floor((segment.fileoff + 1000) / 4096)]);
        if (spawnSync('sh', ['-c', 'command -v rcodesign'], { stdio: 'ignore' }).status === 0) {
          const v = spawnSync('rcodesign', ['verify', out], { encoding: 'utf8' });
          // rcodesign reports an ad hoc signature as "no cryptographic signature present", and nothing else.
          expect(v.stderr + v.stdout).not.toMatch(/mismatch|error:(?!.*problems reported)/i);
        }
      },
      LONG,
    );
  }
});

describe('Windows executables, signed, run under Wine', () => {
  let dir: string;
  let exe: string;
  let signed: string;
  let wine: NodeJS.ProcessEnv;

  /** Runs under Wine with a cache of its own; stdin given. */
  function run(file: string, args: string[], home: string, input = ''): Run {
    // Wine's drive Z: is the Unix root.
    const r = spawnSync('wine', [file, ...args], { env: { ...wine, PYSEAL_HOME: `Z:${home.replaceAll('/', '\\')}` }, input, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, signal: r.signal, stdout: r.stdout.replace(/\r\n/g, '\n'), stderr: r.stderr.replace(/\r\n/g, '\n') };
  }

  beforeAll(async () => {
    wine = ensureWine();
    dir = tempDir('pyseal-windows');
    const wheels = demoApp(join(dir, 'wheels'));
    const python = standInWindowsPython();
    exe = join(dir, 'hello.exe');
    const r = await pyseal.async(['build', '--quiet', '--target', 'x86_64-pc-windows-msvc', '--distribution', python.archive, '--no-compile', '--wheel', wheels.app, '--wheel', wheels.lib, '--level', LEVEL, '--out', exe]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // A throwaway certificate, as a release would use its own.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=pyseal test', '-days', '2', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
    signed = join(dir, 'hello-signed.exe');
    execFileSync('osslsigncode', ['sign', '-certs', join(dir, 'cert.pem'), '-key', join(dir, 'key.pem'), '-n', 'hello', '-in', exe, '-out', signed], { stdio: 'pipe' });
  }, LONG);

  afterAll(() => {
    if (dir && !process.env.PYSEAL_KEEP_TEMP) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the payload where Authenticode covers it: signed, verified, and still read', () => {
    expect(readFileSync(exe).length % 8).toBe(0);
    const verify = spawnSync('osslsigncode', ['verify', '-CAfile', join(dir, 'cert.pem'), '-in', signed], { encoding: 'utf8' });
    expect(verify.stdout).toMatch(/Signature verification: ok/);
    // The signature follows the payload; the reader finds the payload through the security directory.
    expect(readFileSync(signed).length).toBeGreaterThan(readFileSync(exe).length);
    expect(JSON.parse(pyseal(['inspect', '--json', signed]).stdout).manifest.target).toBe('x86_64-pc-windows-msvc');
    // A changed payload byte breaks the signature.
    const bytes = readFileSync(signed);
    const info = JSON.parse(pyseal(['inspect', '--json', signed]).stdout);
    bytes[info.stubSize + 100]! ^= 1;
    writeFileSync(join(dir, 'tampered.exe'), bytes);
    expect(spawnSync('osslsigncode', ['verify', '-CAfile', join(dir, 'cert.pem'), '-in', join(dir, 'tampered.exe')], { encoding: 'utf8' }).stdout).toMatch(/MISMATCH/);
  });

  it('installs on first run and starts Python with the entry script, the wheels on PYTHONPATH, arguments as given', () => {
    const home = join(dir, 'home');
    const r = run(signed, ['two words', 'say "hi"', 'back\\slash\\', ''], home);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^script: # Written by pyseal: starts hello-app 1\.0\.0\.\n/);
    const args = [...r.stdout.matchAll(/^arg: <(.*)>$/gm)].map((m) => m[1]);
    expect(args.slice(1)).toEqual(['two words', 'say "hi"', 'back\\slash\\', '']);
    expect(r.stdout).toMatch(/^PYTHONPATH: .*\\blobs\\[0-9a-f]{64}\\site-packages;.*\\blobs\\[0-9a-f]{64}\\site-packages$/m);
    expect(existsSync(join(home, 'envs', 'hello-app'))).toBe(true);
    // Warm: the same, from the cache.
    expect(run(signed, ['again'], home).stdout).toMatch(/arg: <again>/);
  });

  it('unpacks and runs from a cache whose files lie deeper than 260 characters', () => {
    const home = join(dir, 'long', ...Array.from({ length: 2 }, (_, i) => `a-directory-name-of-forty-characters-${i}-`));
    const r = run(signed, ['deep'], home);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/arg: <deep>/);
    expect(r.stdout).toMatch(/^PYTHONPATH: .{260,}/m);
    // The distribution's deepest file was written (through a verbatim path) and kept its content.
    const deep = readdirSync(join(home, 'blobs'), { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('deep.py'));
    expect(deep).toBeDefined();
    expect(`Z:${join(home, 'blobs', deep!)}`.length).toBeGreaterThan(260);
    expect(readFileSync(join(home, 'blobs', deep!), 'utf8')).toBe('# deep\n');
  });

  it('passes the exit code and stdin through', () => {
    const home = join(dir, 'home-io');
    expect(run(signed, ['--exit', '7'], home).code).toBe(7);
    expect(run(signed, ['--stdin'], home, 'piped in').stdout).toMatch(/^stdin: PIPED IN$/m);
  });

  it('--gui makes a windows-subsystem stub that runs pythonw.exe', async () => {
    const wheels = demoApp(join(dir, 'wheels-gui'));
    const gui = join(dir, 'hello-gui.exe');
    const r = await pyseal.async(['build', '--quiet', '--gui', '--target', 'x86_64-pc-windows-msvc', '--distribution', standInWindowsPython().archive, '--no-compile', '--wheel', wheels.app, '--wheel', wheels.lib, '--level', LEVEL, '--out', gui]);
    expect(r.code).toBe(0);
    const bytes = readFileSync(gui);
    const pe = bytes.readUInt32LE(0x3c);
    // IMAGE_SUBSYSTEM_WINDOWS_GUI (2) in the optional header.
    expect(bytes.readUInt16LE(pe + 24 + 68)).toBe(2);
    expect(JSON.parse(pyseal(['inspect', '--json', gui]).stdout).manifest.python.executable).toBe('python/pythonw.exe');
    const console = readFileSync(exe);
    expect(console.readUInt16LE(console.readUInt32LE(0x3c) + 24 + 68)).toBe(3);
  }, LONG);

  it('a damaged executable says so, under Wine too', () => {
    const bytes = readFileSync(exe);
    writeFileSync(join(dir, 'cut.exe'), bytes.subarray(0, bytes.length - 10));
    expectUserError(run(join(dir, 'cut.exe'), [], join(dir, 'home-cut')), /carries no pyseal payload/);
  });
});

describe('--target all', () => {
  it('writes one executable per target for the demo app: Linux ones run, the Windows one runs under Wine, the macOS ones check out', async () => {
    const f = fixtures();
    const dir = tempDir();
    const wine = ensureWine();
    // python-build-standalone is out of reach: a catalog of fixture CPythons of one version, served on loopback.
    const arm = fixturePythonAarch64();
    const version = arm.version;
    const x86 = fixturePython(`${arm.major}.${arm.minor}`);
    const catalog = fixtureCatalogOf(dir, [
      { archive: x86.archive, version: x86.version, triple: 'x86_64-unknown-linux-gnu' },
      { archive: arm.archive, version, triple: 'aarch64-unknown-linux-gnu' },
      { archive: fixturePythonMusl().archive, version: fixturePythonMusl().version, triple: 'x86_64-unknown-linux-musl' },
      { archive: fixturePythonMuslAarch64().archive, version: fixturePythonMuslAarch64().version, triple: 'aarch64-unknown-linux-musl' },
      { archive: standInWindowsPython(version).archive, version, triple: 'x86_64-pc-windows-msvc' },
      { archive: standInMacPython(dir, 'aarch64', version), version, triple: 'aarch64-apple-darwin' },
      { archive: standInMacPython(dir, 'x86_64', version), version, triple: 'x86_64-apple-darwin' },
    ]);
    const server = await serveIndex({ python: f.python.interpreter, packages: [], distributions: catalog.distributions });
    try {
      const project = join(dir, 'hello');
      cpSync(join(import.meta.dirname, '..', 'examples', 'hello'), project, { recursive: true });
      const wheels = demoApp(join(dir, 'wheels'));
      const r = await pyseal.async(['build', project, '--target', 'all', '--python', `${arm.major}.${arm.minor}`, '--python-catalog', catalog.path, '--python-mirror', server.mirror, '--host-python', x86.python, '--wheel', wheels.app, '--wheel', wheels.lib, '--level', LEVEL]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toMatch(/^built 7 executables of /);
      const out = (triple: string) => join(project, 'dist', readdirSync(join(project, 'dist')).find((n) => n.includes(triple))!);
      for (const triple of ['x86_64-unknown-linux-gnu', 'x86_64-unknown-linux-musl']) {
        const run = runExe(out(triple), ['all'], { home: join(dir, `home-${triple}`) });
        expect(run.stderr, triple).toBe('');
        expect(run.code, triple).toBe(0);
      }
      const win = spawnSync('wine', [out('x86_64-pc-windows-msvc'), 'all'], { env: { ...wine, PYSEAL_HOME: `Z:${join(dir, 'home-windows').replaceAll('/', '\\')}` }, encoding: 'utf8', timeout: 120_000 });
      expect(win.stderr).toBe('');
      expect(win.stdout).toMatch(/arg: <all>/);
      for (const triple of ['aarch64-apple-darwin', 'x86_64-apple-darwin']) {
        const check = machoCheck()(out(triple));
        expect(check.segments.map((s) => s.name).slice(-2), triple).toEqual(['__PYSEAL', '__LINKEDIT']);
        expect(check.badPages, triple).toEqual([]);
      }
      expect(JSON.parse(pyseal(['inspect', '--json', out('aarch64-unknown-linux-gnu')]).stdout).manifest.target).toBe('aarch64-unknown-linux-gnu');
    } finally {
      await server.close();
    }
  }, LONG);
});
