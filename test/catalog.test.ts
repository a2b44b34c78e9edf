/** The CPython catalog: lookup, nearest versions, mirrors, and the regeneration script. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { BUILTIN_CATALOG, downloadUrl, findPython, loadCatalog, newestPython } from '../src/catalog.js';
import { resolveTarget, TARGETS } from '../src/targets.js';
import { ROOT } from './helpers.js';

const catalog = loadCatalog();
const linux = resolveTarget('x86_64-unknown-linux-gnu');

describe('the built-in catalog', () => {
  it('is exactly what scripts/python-catalog.mjs makes from catalog/sums', () => {
    const sums = readdirSync(join(ROOT, 'catalog', 'sums')).map((f) => join(ROOT, 'catalog', 'sums', f));
    const generated = execFileSync(process.execPath, [join(ROOT, 'scripts', 'python-catalog.mjs'), ...sums], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(generated).toBe(readFileSync(BUILTIN_CATALOG, 'utf8'));
  });

  it('has every version for every target', () => {
    const versions = new Set(catalog.pythons.map((e) => e.version));
    for (const v of versions) {
      for (const t of TARGETS) expect(catalog.pythons.some((e) => e.version === v && e.target === t.triple), `${v} ${t.triple}`).toBe(true);
    }
  });
});

describe('findPython', () => {
  it('takes the newest patch release of a minor version, or the exact one asked for', () => {
    expect(findPython(catalog, '3.12', linux)).toMatchObject({ version: '3.12.7', tag: '20241008', asset: 'cpython-3.12.7+20241008-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz' });
    expect(findPython(catalog, '3.12.5', linux)).toMatchObject({ version: '3.12.5', tag: '20240814' });
    expect(findPython(catalog, '3.11', resolveTarget('aarch64-apple-darwin')).asset).toBe('cpython-3.11.10+20241008-aarch64-apple-darwin-install_only_stripped.tar.gz');
    expect(newestPython(catalog, linux)).toBe('3.13.0');
  });

  it('lists the nearest versions it has when it lacks one', () => {
    expect(() => findPython(catalog, '3.10', linux)).toThrow(/CPython 3\.10 is not in the Python catalog for x86_64-unknown-linux-gnu/);
    try {
      findPython(catalog, '3.12.99', linux);
    } catch (err) {
      expect((err as { hint?: string }).hint).toBe('nearest versions there: 3.12.7, 3.12.6, 3.12.5, 3.13.0');
    }
    expect(() => findPython(catalog, 'latest', linux)).toThrow(/is not of the form 3\.X or 3\.X\.Y/);
  });
});

describe('downloadUrl', () => {
  it('uses the release page unless a mirror replaces its base', () => {
    const entry = findPython(catalog, '3.12.7', linux);
    expect(downloadUrl(catalog, entry)).toBe('https://github.com/astral-sh/python-build-standalone/releases/download/20241008/cpython-3.12.7%2B20241008-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz');
    expect(downloadUrl(catalog, entry, 'https://mirror.example/pbs/')).toBe('https://mirror.example/pbs/20241008/cpython-3.12.7%2B20241008-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz');
  });
});
