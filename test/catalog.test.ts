/** The CPython catalog: lookup, pre-releases, free-threaded builds, nearest versions, mirrors, `pyseal python list`, and the regeneration script. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { BUILTIN_CATALOG, type Catalog, downloadUrl, findPython, listPythons, loadCatalog, newestPython } from '../src/catalog.js';
import { resolveTarget } from '../src/targets/index.js';
import { expectUserError, pyseal, ROOT, tempDir } from './helpers.js';

const catalog = loadCatalog();
const linux = resolveTarget('x86_64-unknown-linux-gnu');
const EIGHT = [
  'x86_64-unknown-linux-gnu',
  'aarch64-unknown-linux-gnu',
  'x86_64-unknown-linux-musl',
  'aarch64-unknown-linux-musl',
  'x86_64-apple-darwin',
  'aarch64-apple-darwin',
  'x86_64-pc-windows-msvc',
  'aarch64-pc-windows-msvc',
];

/** A small catalog of made-up entries, to test the choice rules on their own. */
function tiny(entries: [string, string, string?][]): Catalog {
  return {
    format: 1,
    source: 'https://example.invalid',
    pythons: entries.map(([version, tag, variant]) => ({
      version,
      tag,
      target: linux.triple,
      flavor: 'install_only_stripped',
      ...(variant ? { variant: variant as 'freethreaded' } : {}),
      asset: `cpython-${version}+${tag}-${linux.triple}${variant ? '-freethreaded' : ''}-install_only_stripped.tar.gz`,
      sha256: 'a'.repeat(64),
    })),
  };
}

describe('the built-in catalog', () => {
  it('is exactly what scripts/python-catalog.mjs makes from catalog/sources', () => {
    const dir = join(ROOT, 'catalog', 'sources');
    const sources = readdirSync(dir).map((f) => join(dir, f));
    const generated = execFileSync(process.execPath, [join(ROOT, 'scripts', 'python-catalog.mjs'), ...sources], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(generated).toBe(readFileSync(BUILTIN_CATALOG, 'utf8'));
  });

  it('reaches release 20260814 (3.14.7, 3.15.0rc1) and carries all eight triples, free-threaded builds included', () => {
    expect(new Set(catalog.pythons.map((e) => e.target))).toEqual(new Set(EIGHT));
    for (const triple of EIGHT) {
      expect(findPython(catalog, '3.14', { triple })).toMatchObject({ version: '3.14.7', tag: '20260814', variant: 'default' });
      expect(findPython(catalog, '3.14t', { triple })).toMatchObject({ version: '3.14.7', variant: 'freethreaded', asset: expect.stringContaining('-freethreaded-install_only') });
    }
    expect(catalog.pythons.some((e) => e.version === '3.15.0rc1')).toBe(true);
  });
});

describe('findPython', () => {
  it('defaults to the newest stable CPython, never a pre-release', () => {
    expect(newestPython(catalog, linux)).toBe('3.14.7');
    expect(findPython(catalog, undefined, linux)).toMatchObject({ version: '3.14.7', variant: 'default', asset: 'cpython-3.14.7+20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz' });
  });

  it('takes the newest patch release of a minor version, or the exact one asked for', () => {
    expect(findPython(catalog, '3.12', linux).version).toMatch(/^3\.12\.\d+$/);
    expect(findPython(catalog, '3.12.5', linux)).toMatchObject({ version: '3.12.5' });
    expect(findPython(catalog, '3.13', resolveTarget('aarch64-apple-darwin')).asset).toMatch(/^cpython-3\.13\.\d+\+\d+-aarch64-apple-darwin-install_only_stripped\.tar\.gz$/);
  });

  it('gives a minor version with only pre-releases its newest one, and an exact pre-release when named', () => {
    expect(findPython(catalog, '3.15', linux)).toMatchObject({ version: '3.15.0rc1', tag: '20260814' });
    expect(findPython(catalog, '3.15.0b2', linux)).toMatchObject({ version: '3.15.0b2' });
    expect(findPython(catalog, '3.15t', linux)).toMatchObject({ version: '3.15.0rc1', variant: 'freethreaded' });
    // 3.15.0 means the final release, which is not out yet.
    expect(() => findPython(catalog, '3.15.0', linux)).toThrow(/CPython 3\.15\.0 is not in the Python catalog/);
  });

  it('prefers a stable release over pre-releases of the same minor version, and the newest build of a version', () => {
    const c = tiny([
      ['3.16.0rc1', '20270101'],
      ['3.16.0', '20270201'],
      ['3.16.0', '20270301'],
      ['3.16.1a1', '20270401'],
    ]);
    expect(findPython(c, '3.16', linux)).toMatchObject({ version: '3.16.0', tag: '20270301' });
    expect(findPython(c, undefined, linux)).toMatchObject({ version: '3.16.0', tag: '20270301' });
    expect(findPython(c, '3.16.1a1', linux)).toMatchObject({ version: '3.16.1a1' });
  });

  it('picks free-threaded builds only with a "t", and says where none exist', () => {
    expect(findPython(catalog, '3.13t', linux).variant).toBe('freethreaded');
    expect(findPython(catalog, '3.13', linux).variant).toBe('default');
    expect(() => findPython(catalog, '3.12t', linux)).toThrow(/CPython 3\.12t is not in the Python catalog.*/);
    try {
      findPython(catalog, '3.12t', linux);
    } catch (err) {
      expect((err as { hint?: string }).hint).toMatch(/^nearest versions there: 3\.13\.\d+t/);
    }
  });

  it('lists the nearest versions it has when it lacks one', () => {
    expect(() => findPython(catalog, '3.8', linux)).toThrow(/CPython 3\.8 is not in the Python catalog for x86_64-unknown-linux-gnu/);
    try {
      findPython(catalog, '3.12.99', linux);
    } catch (err) {
      expect((err as { hint?: string }).hint).toMatch(/^nearest versions there: 3\.12\.\d+, 3\.12\.\d+, 3\.12\.\d+, 3\.12\.\d+$/);
    }
    expect(() => findPython(catalog, 'latest', linux)).toThrow(/is not of the form 3\.X or 3\.X\.Y/);
    expect(() => findPython(catalog, '3.12tt', linux)).toThrow(/is not of the form/);
  });
});

describe('downloadUrl', () => {
  it('uses the release page unless a mirror replaces its base', () => {
    const entry = findPython(catalog, '3.14.7', linux);
    expect(downloadUrl(catalog, entry)).toBe('https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz');
    expect(downloadUrl(catalog, entry, 'https://mirror.example/pbs/')).toBe('https://mirror.example/pbs/20260814/cpython-3.14.7%2B20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz');
  });
});

describe('pyseal python list', () => {
  it('shows one row per version and variant, newest first, pre-releases marked', () => {
    const rows = listPythons(catalog, linux);
    expect(rows[0]).toMatchObject({ version: '3.15.0rc1', variant: 'default', prerelease: true, request: '3.15.0rc1' });
    const stable = rows.find((r) => !r.prerelease)!;
    expect(stable).toMatchObject({ version: '3.14.7', request: '3.14.7', tag: '20260814', size: null });
    expect(rows.find((r) => r.request === '3.14.7t')).toMatchObject({ variant: 'freethreaded' });
    const r = pyseal(['python', 'list', '--target', 'aarch64-pc-windows-msvc']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^CPython for aarch64-pc-windows-msvc \(python-build-standalone\), newest first:\npython +release +variant +size\n3\.15\.0rc1 +20260814 +default +- +pre-release\n/);
    expect(r.stdout).toMatch(/\n3\.14\.7t +20260814 +free-threaded +-\n/);
  });

  it('prints JSON, reads a private catalog, and refuses unknown targets', () => {
    const json = JSON.parse(pyseal(['python', 'list', '--json']).stdout) as { target: string; pythons: { version: string }[] };
    expect(json.target).toBe('x86_64-unknown-linux-gnu');
    expect(json.pythons.length).toBeGreaterThan(50);
    const file = join(tempDir(), 'catalog.json');
    const c = tiny([['3.16.0', '20270201', ], ['3.16.0', '20270201', 'freethreaded']]);
    c.pythons[0]!.size = 31_000_000;
    writeFileSync(file, JSON.stringify(c));
    expect(pyseal(['python', 'list', '--python-catalog', file]).stdout).toMatch(/3\.16\.0 +20270201 +default +31\.0 MB\n3\.16\.0t +20270201 +free-threaded +-\n$/);
    expectUserError(pyseal(['python', 'list', '--target', 'sparc-sun-solaris']), /unknown target "sparc-sun-solaris"/);
    expectUserError(pyseal(['python', 'lst']), /unknown command `pyseal python lst`/);
  });
});
