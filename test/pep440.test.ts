/** PEP 440: parsing and normalizing versions, their order, and specifiers. */
import { describe, expect, it } from 'vitest';

import {
  compareVersions,
  formatVersion,
  isPrerelease,
  parseSpecifier,
  parseSpecifierSet,
  parseVersion,
  specifierSetContains,
  type MatchOptions,
  type Version,
} from '../src/pep440.js';

const v = (text: string): Version => {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(`test version ${text} does not parse`);
  return parsed;
};

describe('parsing and normalizing versions', () => {
  it.each([
    ['1.0', '1.0'],
    ['1', '1'],
    ['1.0.0', '1.0.0'],
    ['  1.0\n', '1.0'],
    ['v1.0', '1.0'],
    ['V2.1', '2.1'],
    ['01.002.0030', '1.2.30'],
    ['0!1.0', '1.0'],
    ['1!2.0', '1!2.0'],
    ['007!1', '7!1'],
    ['1.0a1', '1.0a1'],
    ['1.0ALPHA1', '1.0a1'],
    ['1.0-alpha.1', '1.0a1'],
    ['1.0.a1', '1.0a1'],
    ['1.0_b_2', '1.0b2'],
    ['1.0beta2', '1.0b2'],
    ['1.0c1', '1.0rc1'],
    ['1.0pre1', '1.0rc1'],
    ['1.0-preview-3', '1.0rc3'],
    ['1.0RC1', '1.0rc1'],
    ['1.0a', '1.0a0'],
    ['1.0rc', '1.0rc0'],
    ['1.0a01', '1.0a1'],
    ['1.0-1', '1.0.post1'],
    ['1.0post', '1.0.post0'],
    ['1.0.post', '1.0.post0'],
    ['1.0-post-2', '1.0.post2'],
    ['1.0_post_5', '1.0.post5'],
    ['1.0.r3', '1.0.post3'],
    ['1.0-rev4', '1.0.post4'],
    ['1.0REV4', '1.0.post4'],
    ['1.0a1-1', '1.0a1.post1'],
    ['1.0dev', '1.0.dev0'],
    ['1.0-dev3', '1.0.dev3'],
    ['1.0.DEV-4', '1.0.dev4'],
    ['1.0_dev_5', '1.0.dev5'],
    ['1.0-1-dev', '1.0.post1.dev0'],
    ['1.0+abc', '1.0+abc'],
    ['1.0+Ubuntu-1', '1.0+ubuntu.1'],
    ['1.0+abc_def.007', '1.0+abc.def.7'],
    ['1.0+1e5', '1.0+1e5'],
    ['V1!2.3-ALPHA.4_post-5.DEV6+Local_7', '1!2.3a4.post5.dev6+local.7'],
  ])('%j normalizes to %j', (text, normalized) => {
    expect(formatVersion(v(text))).toBe(normalized);
  });

  it.each([
    '',
    '   ',
    'v',
    '1.',
    '.1',
    '1..0',
    'a1',
    '1.0 a1',
    'v 1.0',
    '1.0+',
    '1.0+abc.',
    '1.0+abc..d',
    '1.0+ab c',
    '1.0+abc+def',
    '1!',
    '!1.0',
    '1.0-',
    '1.0_1',
    '1.0.1a1b1',
    '1.0dev1a1',
    '1.0.post1.post2',
    '1.0.dev1.post1',
    '1.0gamma1',
    '1.0-1-',
    '1,0',
    '99999999999999999999',
    '1.0.post99999999999999999999',
  ])('%j is not a version', (text) => {
    expect(parseVersion(text)).toBeUndefined();
  });

  it('splits every part out', () => {
    expect(parseVersion('2!1.02.3rc4.post5.dev6+ABC-007.x')).toEqual({
      epoch: 2,
      release: [1, 2, 3],
      pre: { label: 'rc', number: 4 },
      post: 5,
      dev: 6,
      local: ['abc', 7, 'x'],
    });
    expect(parseVersion('1.0')).toEqual({ epoch: 0, release: [1, 0] });
  });

  it.each([
    ['1.0', false],
    ['1.0a1', true],
    ['1.0.dev1', true],
    ['1.0.post1', false],
    ['1.0.post1.dev1', true],
    ['1.0+dev', false],
  ])('%s is a pre-release: %s', (text, pre) => {
    expect(isPrerelease(v(text))).toBe(pre);
  });
});

describe('ordering', () => {
  /** Strictly increasing, each in normalized form. */
  const SORTED = [
    '0.0.1',
    '0.1',
    '0.9',
    '0.9.9',
    '0.10',
    '0.10.1',
    '1.0.dev456',
    '1.0a1',
    '1.0a1.post1',
    '1.0a2.dev456',
    '1.0a12.dev456',
    '1.0a12',
    '1.0b1.dev456',
    '1.0b2',
    '1.0b2.post345.dev456',
    '1.0b2.post345',
    '1.0rc1.dev456',
    '1.0rc1',
    '1.0',
    '1.0+abc',
    '1.0+abc.5',
    '1.0+abc.7',
    '1.0+abd',
    '1.0+5',
    '1.0+5.a',
    '1.0+6',
    '1.0+10',
    '1.0.post0.dev1',
    '1.0.post0',
    '1.0.post456.dev34',
    '1.0.post456',
    '1.0.post456+x',
    '1.0.15',
    '1.1.dev1',
    '1.1a1',
    '1.1rc1',
    '1.1',
    '1.1.0.1',
    '1.2',
    '2.0.dev0',
    '2.0',
    '10.0',
    '2023.12.1',
    '1!0.1',
    '1!1.0',
    '2!0.0.dev0',
  ];

  it.each(SORTED.slice(1).map((later, i) => [SORTED[i]!, later]))('%s < %s', (earlier, later) => {
    expect(compareVersions(v(earlier), v(later))).toBe(-1);
    expect(compareVersions(v(later), v(earlier))).toBe(1);
    expect(compareVersions(v(later), v(later))).toBe(0);
  });

  /** A seeded shuffle, so a failure can be reproduced. */
  function shuffled<T>(items: readonly T[], seed: number): T[] {
    const out = [...items];
    let state = seed;
    for (let i = out.length - 1; i > 0; i--) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const j = state % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  it.each([1, 2, 3, 42, 1234])('sorting a copy shuffled with seed %i restores the list', (seed) => {
    const copy = shuffled(SORTED, seed);
    expect(copy).not.toEqual(SORTED);
    expect(copy.map(v).sort(compareVersions).map(formatVersion)).toEqual(SORTED);
  });

  it.each([
    ['1.0', '1.0.0'],
    ['1', '1.0.0.0'],
    ['1.0a', '1.0a0'],
    ['1.0c1', '1.0rc1'],
    ['1.0-1', '1.0.post1'],
    ['1!1.0', '1!1'],
    ['0!1.0', '1.0'],
    ['1.0+ABC', '1.0+abc'],
    ['1.0+abc-5', '1.0+abc.5'],
    ['1.0+abc.05', '1.0+abc.5'],
    ['v1.01', '1.1'],
  ])('%s == %s', (a, b) => {
    expect(compareVersions(v(a), v(b))).toBe(0);
    expect(compareVersions(v(b), v(a))).toBe(0);
  });
});

describe('specifiers', () => {
  it.each([
    ['>=1.0', [{ operator: '>=', text: '1.0', wildcard: false }]],
    [' >= 1.0 , < 2 ', [{ operator: '>=', text: '1.0', wildcard: false }, { operator: '<', text: '2', wildcard: false }]],
    ['==1.2.*', [{ operator: '==', text: '1.2', wildcard: true }]],
    ['!=1.0a1.*', [{ operator: '!=', text: '1.0a1', wildcard: true }]],
    ['~=2.2', [{ operator: '~=', text: '2.2', wildcard: false }]],
    ['===foo-bar', [{ operator: '===', text: 'foo-bar', wildcard: false }]],
    ['==1.0+local', [{ operator: '==', text: '1.0+local', wildcard: false }]],
    ['', []],
    ['   ', []],
  ])('parses %j', (text, specifiers) => {
    expect(parseSpecifierSet(text)?.specifiers.map(({ operator, text, wildcard }) => ({ operator, text, wildcard }))).toEqual(specifiers);
  });

  it('keeps the parsed version, absent only for arbitrary strings', () => {
    expect(parseSpecifier('~= 1.4.5a4')?.version).toEqual({ epoch: 0, release: [1, 4, 5], pre: { label: 'a', number: 4 } });
    expect(parseSpecifier('===foo')?.version).toBeUndefined();
    expect(parseSpecifier('===1.0')?.version).toEqual({ epoch: 0, release: [1, 0] });
  });

  it.each([
    '1.0',
    '=1.0',
    '=>1.0',
    '>=',
    '>=1.0,',
    ',>=1.0',
    '>=1.0,,<2',
    '>= 1.0 1',
    '>=1.0 <2',
    '~=1',
    '~=1.0.*',
    '~=1.0+local',
    '>=1.0.*',
    '<1.*',
    '<1.0+local',
    '>=1.0+local',
    '==1.0.dev1.*',
    '==1.0+abc.*',
    '==1.*.*',
    '==*',
    '==not-a-version',
    '===',
  ])('refuses %j', (text) => {
    expect(parseSpecifierSet(text)).toBeUndefined();
  });

  it.each<[string, string, boolean]>([
    // Compatible release: >= V and == V without its last segment, .*
    ['~=2.2', '2.2', true],
    ['~=2.2', '2.2.0', true],
    ['~=2.2', '2.3', true],
    ['~=2.2', '2.9.9', true],
    ['~=2.2', '2.1.9', false],
    ['~=2.2', '3.0', false],
    ['~=2.2', '3.0.dev1', false],
    ['~=2.2.0', '2.2.5', true],
    ['~=2.2.0', '2.3', false],
    ['~=1.4.5a4', '1.4.5a4', true],
    ['~=1.4.5a4', '1.4.5a3', false],
    ['~=1.4.5a4', '1.4.6b1', true],
    ['~=1.4.5a4', '1.4.5', true],
    ['~=1.4.5a4', '1.5', false],
    ['~=2.2.post3', '2.2', false],
    ['~=2.2.post3', '2.2.post3', true],
    ['~=2.2.post3', '2.9', true],
    ['~=2.2.post3', '3.0', false],
    // Prefix matching
    ['==1.*', '1', true],
    ['==1.*', '1.0', true],
    ['==1.*', '1.9.9', true],
    ['==1.*', '1.5+local', true],
    ['==1.*', '0.9', false],
    ['==1.*', '2.0', false],
    ['==1.*', '1.0.dev1', false],
    ['==1.*', '1!1.0', false],
    ['==1.2.*', '1.2', true],
    ['==1.2.*', '1.2.0.0', true],
    ['==1.2.*', '1.2.3.post1', true],
    ['==1.2.*', '1.20', false],
    ['==1.2.*', '1.3', false],
    ['==1.0.0.*', '1', true],
    ['==1.0a1.*', '1.0a1', true],
    ['==1.0a1.*', '1.0.0a1.post2', true],
    ['==1.0a1.*', '1.0a2', false],
    ['==1.0a1.*', '1.0', false],
    ['==1.0.post1.*', '1.0.post1', true],
    ['==1.0.post1.*', '1.0.post2', false],
    ['!=1.2.*', '1.1.9', true],
    ['!=1.2.*', '1.2', false],
    ['!=1.2.*', '1.2.5', false],
    ['!=1.2.*', '1.2+x', false],
    ['!=1.2.*', '1.3', true],
    // Strict equality and local labels
    ['==1.0', '1.0.0', true],
    ['==1.0', '1.0+abc', true],
    ['==1.0', '1.0.post1', false],
    ['==1.0', '1.0a1', false],
    ['==1.0+abc', '1.0+abc', true],
    ['==1.0+abc', '1.0+ABC', true],
    ['==1.0+abc', '1.0', false],
    ['==1.0+abc', '1.0+abd', false],
    ['==1.0+abc', '1.0+abc.1', false],
    ['!=1.0', '1.0+abc', false],
    ['!=1.0', '1.0.0', false],
    ['!=1.0', '1.0.1', true],
    ['!=1.0+abc', '1.0', true],
    ['!=1.0+abc', '1.0+abc', false],
    // Inclusive ordering ignores local labels
    ['<=2.0', '2.0', true],
    ['<=2.0', '2.0+local', true],
    ['<=2.0', '2.0.post1', false],
    ['>=1.0', '1.0+anything', true],
    ['>=1.0', '0.9', false],
    ['>=1.0', '2.0b1', false],
    ['>=1.0a1', '1.0b1', true],
    ['>=1.0', '1!0.1', true],
    // Exclusive ordering
    ['<2', '1.9', true],
    ['<2', '1.9.post1', true],
    ['<2', '1.9+local', true],
    ['<2', '2', false],
    ['<2', '2.0a1', false],
    ['<2', '2.0.dev1', false],
    ['<2', '2.0+local', false],
    ['<2', '1!1.0', false],
    ['<2.0b1', '2.0a1', true],
    ['<2.0b1', '2.0b1', false],
    ['>1.7', '1.7.1', true],
    ['>1.7', '1.7', false],
    ['>1.7', '1.7.post1', false],
    ['>1.7', '1.7.0.post1', false],
    ['>1.7', '1.7+local', false],
    ['>1.7', '1.7.1+local', true],
    ['>1.7', '1.8.dev1', false],
    ['>1.7.post2', '1.7.post3', true],
    ['>1.7.post2', '1.7.post2', false],
    ['>1.7.post2', '1.7.1', true],
    // Arbitrary equality compares text
    ['===1.0', '1.0', true],
    ['===1.0', '1.0.0', false],
    ['===1.0', '1.0+local', false],
    ['===foobar', 'FooBar', true],
    ['===foobar', 'foobaz', false],
    // Sets
    ['>=1.0,<2,!=1.5', '1.4', true],
    ['>=1.0,<2,!=1.5', '1.5', false],
    ['>=1.0,<2,!=1.5', '2', false],
    ['>=1.0a1,<2', '1.5b1', true],
    ['>=0.9,!=1.0b1', '1.0b2', false],
    ['', '1.0', true],
    ['', '1.0a1', false],
    ['>=1.0', 'not a version', false],
  ])('%j contains %j: %s', (spec, version, expected) => {
    const set = parseSpecifierSet(spec)!;
    expect(set).toBeDefined();
    expect(specifierSetContains(set, version)).toBe(expected);
    if (parseVersion(version)) expect(specifierSetContains(set, v(version))).toBe(expected);
  });

  it.each<[string, string, MatchOptions, boolean]>([
    ['==1.*', '1.0.dev1', { prereleases: true }, true],
    ['>=1.0', '2.0b1', { prereleases: true }, true],
    ['', '1.0a1', { prereleases: true }, true],
    ['<2', '2.0a1', { prereleases: true }, false],
    ['~=2.2', '3.0.dev1', { prereleases: true }, false],
    ['>=1.0a1', '1.0b1', { prereleases: false }, false],
    ['>=1.0a1', '1.0', { prereleases: false }, true],
    ['===1.0a1', '1.0a1', {}, true],
  ])('%j contains %j with %j: %s', (spec, version, options, expected) => {
    expect(specifierSetContains(parseSpecifierSet(spec)!, version, options)).toBe(expected);
  });

  it('matches strings that are not versions only by ===', () => {
    expect(specifierSetContains(parseSpecifierSet('===local-build')!, 'local-build')).toBe(true);
    expect(specifierSetContains(parseSpecifierSet('===local-build,>=1')!, 'local-build')).toBe(false);
    expect(specifierSetContains(parseSpecifierSet('')!, 'local-build')).toBe(false);
  });
});
