/** PEP 425 compatibility and the target table. */
import { describe, expect, it } from 'vitest';

import { incompatibility, normalizeName, parseWheelName } from '../src/tags.js';
import { hostTriple, resolveTarget, TARGETS } from '../src/targets/index.js';

const py312 = { major: 3, minor: 12 };
const linux = resolveTarget('x86_64-unknown-linux-gnu');
const fits = (file: string, host = false) => incompatibility(parseWheelName(file)!, py312, linux.platformTags(host));

describe('wheel names', () => {
  it('parses names with and without a build tag, and compressed tag sets', () => {
    expect(parseWheelName('click-8.1.7-py3-none-any.whl')).toMatchObject({ distribution: 'click', version: '8.1.7', pythonTags: ['py3'] });
    const w = parseWheelName('numpy-2.1.0-1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl')!;
    expect(w.build).toBe('1');
    expect(w.platformTags).toEqual(['manylinux_2_17_x86_64', 'manylinux2014_x86_64']);
    expect(parseWheelName('not-a-wheel.zip')).toBeUndefined();
    expect(parseWheelName('too-few.whl')).toBeUndefined();
  });

  it('normalizes project names as PEP 503 does', () => {
    expect(normalizeName('Hello_World.Pkg')).toBe('hello-world-pkg');
    expect(normalizeName('a--_.b')).toBe('a-b');
  });
});

describe('tag compatibility for CPython 3.12 on x86_64 Linux', () => {
  it.each([
    'pkg-1-py3-none-any.whl',
    'pkg-1-py2.py3-none-any.whl',
    'pkg-1-py312-none-any.whl',
    'pkg-1-py38-none-any.whl',
    'pkg-1-cp312-cp312-manylinux_2_17_x86_64.whl',
    'pkg-1-cp312-cp312-manylinux2014_x86_64.whl',
    'pkg-1-cp312-cp312-manylinux_2_28_x86_64.whl',
    'pkg-1-cp39-abi3-manylinux_2_17_x86_64.whl',
    'pkg-1-cp312-none-any.whl',
    'pkg-1-cp312-cp312-manylinux1_x86_64.whl',
  ])('accepts %s', (file) => {
    expect(fits(file)).toBeUndefined();
  });

  it.each([
    ['pkg-1-cp311-cp311-manylinux_2_17_x86_64.whl', 'not for CPython 3.12'],
    ['pkg-1-cp313-abi3-manylinux_2_17_x86_64.whl', 'not for CPython 3.12'],
    ['pkg-1-py313-none-any.whl', 'not for CPython 3.12'],
    ['pkg-1-py2-none-any.whl', 'not for CPython 3.12'],
    ['pkg-1-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl', 'not for CPython 3.12'],
    ['pkg-1-cp312-cp312-manylinux_2_31_x86_64.whl', "not for this target's platform"],
    ['pkg-1-cp312-cp312-manylinux_2_17_aarch64.whl', "not for this target's platform"],
    ['pkg-1-cp312-cp312-win_amd64.whl', "not for this target's platform"],
    ['pkg-1-cp312-cp312-musllinux_1_2_x86_64.whl', "not for this target's platform"],
    ['pkg-1-cp311-cp311-win_amd64.whl', "not for CPython 3.12 and not for this target's platform"],
  ])('refuses %s: %s', (file, why) => {
    expect(fits(file)).toBe(why);
  });

  it('accepts locally built linux_x86_64 wheels only when building for the host', () => {
    expect(fits('pkg-1-cp312-cp312-linux_x86_64.whl', true)).toBeUndefined();
    expect(fits('pkg-1-cp312-cp312-linux_x86_64.whl', false)).toBe("not for this target's platform");
  });
});

describe('tag compatibility for a free-threaded CPython 3.14t (PEP 703)', () => {
  const ft = { major: 3, minor: 14, freethreaded: true };
  const fitsFt = (file: string) => incompatibility(parseWheelName(file)!, ft, linux.platformTags(false));
  it('takes cp314t and pure wheels, and refuses the GIL build\'s ABI and the stable ABI', () => {
    expect(fitsFt('pkg-1-cp314-cp314t-manylinux_2_17_x86_64.whl')).toBeUndefined();
    expect(fitsFt('pkg-1-py3-none-any.whl')).toBeUndefined();
    expect(fitsFt('pkg-1-cp314-none-any.whl')).toBeUndefined();
    expect(fitsFt('pkg-1-cp314-cp314-manylinux_2_17_x86_64.whl')).toBe('not for CPython 3.14 (free-threaded)');
    expect(fitsFt('pkg-1-cp39-abi3-manylinux_2_17_x86_64.whl')).toBe('not for CPython 3.14 (free-threaded)');
    expect(fits('pkg-1-cp312-cp312t-manylinux_2_17_x86_64.whl')).toBe('not for CPython 3.12');
  });
});

describe('targets', () => {
  it('has one row per triple, each complete', () => {
    expect(new Set(TARGETS.map((t) => t.triple)).size).toBe(TARGETS.length);
    for (const t of TARGETS) {
      expect(t.platformTags(false).length).toBeGreaterThan(0);
      expect(t.interpreter({ major: 3, minor: 12 })).toMatch(/^python\//);
      // The Windows stub only starts a process: MinGW's ABI serves the msvc CPython.
      expect(t.stub.rustTarget).toBe(t.triple.replace('-windows-msvc', '-windows-gnu'));
    }
    expect(resolveTarget('x86_64-pc-windows-msvc').interpreter({ major: 3, minor: 12 })).toBe('python/python.exe');
    expect(resolveTarget('x86_64-unknown-linux-gnu').interpreter({ major: 3, minor: 14, freethreaded: true })).toBe('python/bin/python3.14t');
    expect(resolveTarget('aarch64-apple-darwin').platformTags(false)).toContain('macosx_11_0_arm64');
  });

  it('knows this machine', () => {
    expect(resolveTarget().triple).toBe(hostTriple());
  });

  it('refuses unknown triples, listing the known ones', () => {
    expect(() => resolveTarget('riscv64gc-unknown-linux-gnu')).toThrow(/unknown target/);
  });
});
