/**
 * PEP 440 versions and version specifiers, so that `Requires-Python`, lock
 * file constraints and the version comparisons of PEP 508 markers can be
 * decided at build time without asking a Python interpreter.
 */

export type PreLabel = 'a' | 'b' | 'rc';

/** A parsed version. Numbers are numbers, so `1.01` and `1.1` are the same value. */
export interface Version {
  epoch: number;
  release: number[];
  pre?: { label: PreLabel; number: number };
  post?: number;
  dev?: number;
  /** Local label segments: digit-only ones as numbers (they compare as integers), the rest lowercased. */
  local?: (string | number)[];
}

/**
 * Every spelling PEP 440 accepts and normalizes: a leading `v`, `alpha`/`beta`/
 * `c`/`pre`/`preview`, `rev`/`r`, `-N` as a post-release, optional separators
 * and numbers, `-`/`_` in local labels.
 */
const VERSION = new RegExp(
  [
    '^v?',
    '(?:(?<epoch>\\d+)!)?',
    '(?<release>\\d+(?:\\.\\d+)*)',
    '(?:[-_.]?(?<pre>alpha|a|beta|b|preview|pre|rc|c)[-_.]?(?<preN>\\d+)?)?',
    '(?:-(?<postImplicit>\\d+)|[-_.]?(?<post>post|rev|r)[-_.]?(?<postN>\\d+)?)?',
    '(?:[-_.]?(?<dev>dev)[-_.]?(?<devN>\\d+)?)?',
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$',
  ].join(''),
  'i',
);

const PRE_LABELS: Record<string, PreLabel> = { alpha: 'a', a: 'a', beta: 'b', b: 'b', c: 'rc', rc: 'rc', pre: 'rc', preview: 'rc' };

/** `undefined` when `text` is not a PEP 440 version (or has a number beyond 2^53). */
export function parseVersion(text: string): Version | undefined {
  const g = VERSION.exec(text.trim())?.groups;
  if (!g) return undefined;
  let safe = true;
  const int = (digits: string | undefined): number => {
    const n = Number(digits ?? '0');
    if (!Number.isSafeInteger(n)) safe = false;
    return n;
  };
  const version: Version = { epoch: int(g.epoch), release: g.release!.split('.').map(int) };
  if (g.pre) version.pre = { label: PRE_LABELS[g.pre.toLowerCase()]!, number: int(g.preN) };
  if (g.postImplicit !== undefined) version.post = int(g.postImplicit);
  else if (g.post) version.post = int(g.postN);
  if (g.dev) version.dev = int(g.devN);
  if (g.local) version.local = g.local.toLowerCase().split(/[-_.]/).map((s) => (/^\d+$/.test(s) ? int(s) : s));
  return safe ? version : undefined;
}

/** The normalized form: `V1.0-ALPHA.1_post-2` -> `1.0a1.post2`. */
export function formatVersion(v: Version): string {
  let text = (v.epoch ? `${v.epoch}!` : '') + v.release.join('.');
  if (v.pre) text += `${v.pre.label}${v.pre.number}`;
  if (v.post !== undefined) text += `.post${v.post}`;
  if (v.dev !== undefined) text += `.dev${v.dev}`;
  if (v.local) text += `+${v.local.join('.')}`;
  return text;
}

/** Developmental releases count as pre-releases, as PEP 440 says. */
export function isPrerelease(v: Version): boolean {
  return v.pre !== undefined || v.dev !== undefined;
}

function cmp<T extends number | string>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Release segments compare as if the shorter were padded with zeros: 1.0 == 1.0.0. */
function compareRelease(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = cmp(a[i] ?? 0, b[i] ?? 0);
    if (c) return c;
  }
  return 0;
}

const PRE_RANK: Record<PreLabel, number> = { a: 1, b: 2, rc: 3 };

/**
 * [rank, number] of the pre-release part. A bare dev release (`1.0.dev1`)
 * ranks below every pre-release of its release, a final (or post) above them.
 */
function preKey(v: Version): [number, number] {
  if (v.pre) return [PRE_RANK[v.pre.label], v.pre.number];
  return v.post === undefined && v.dev !== undefined ? [0, 0] : [4, 0];
}

/**
 * No local label sorts first; segment by segment, numbers compare as integers
 * and above any string; a label that is a prefix of another sorts first.
 */
function compareLocal(a: Version['local'], b: Version['local']): number {
  if (!a || !b) return cmp(a ? 1 : 0, b ? 1 : 0);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x !== typeof y) return typeof x === 'number' ? 1 : -1;
    const c = cmp(x, y);
    if (c) return c;
  }
  return cmp(a.length, b.length);
}

/** -1, 0 or 1 as `a` sorts before, with or after `b`. */
export function compareVersions(a: Version, b: Version): number {
  const [aRank, aNumber] = preKey(a);
  const [bRank, bNumber] = preKey(b);
  return (
    cmp(a.epoch, b.epoch) ||
    compareRelease(a.release, b.release) ||
    cmp(aRank, bRank) ||
    cmp(aNumber, bNumber) ||
    cmp(a.post ?? -1, b.post ?? -1) ||
    cmp(a.dev ?? Infinity, b.dev ?? Infinity) ||
    compareLocal(a.local, b.local)
  );
}

export type Operator = '~=' | '==' | '!=' | '<=' | '>=' | '<' | '>' | '===';

export interface Specifier {
  operator: Operator;
  /** The version as written, without a trailing `.*`; what `===` compares. */
  text: string;
  /** Absent only for `===` with a string that is not a PEP 440 version. */
  version?: Version;
  /** `==1.2.*` / `!=1.2.*`: a prefix match. */
  wildcard: boolean;
}

/** Comma-separated specifiers; a version must satisfy all of them. */
export interface SpecifierSet {
  specifiers: Specifier[];
}

/** One clause such as `>= 1.0` or `==1.2.*`; `undefined` when PEP 440 does not allow it. */
export function parseSpecifier(text: string): Specifier | undefined {
  const m = /^\s*(~=|===|==|!=|<=|>=|<|>)\s*(\S+)\s*$/.exec(text);
  if (!m) return undefined;
  const operator = m[1] as Operator;
  let rest = m[2]!;
  if (operator === '===') {
    const version = parseVersion(rest);
    return { operator, text: rest, ...(version ? { version } : {}), wildcard: false };
  }
  const wildcard = rest.endsWith('.*');
  if (wildcard) {
    if (operator !== '==' && operator !== '!=') return undefined;
    rest = rest.slice(0, -2);
  }
  const version = parseVersion(rest);
  if (!version) return undefined;
  // PEP 440: no dev or local part in a prefix, local labels only with == and !=,
  // and ~= needs a release of at least two segments to drop the last one of.
  if (wildcard && (version.dev !== undefined || version.local)) return undefined;
  if (version.local && operator !== '==' && operator !== '!=') return undefined;
  if (operator === '~=' && version.release.length < 2) return undefined;
  return { operator, text: rest, version, wildcard };
}

/** `''` is the empty set, which every final version satisfies. */
export function parseSpecifierSet(text: string): SpecifierSet | undefined {
  if (text.trim() === '') return { specifiers: [] };
  const specifiers: Specifier[] = [];
  for (const clause of text.split(',')) {
    const specifier = parseSpecifier(clause);
    if (!specifier) return undefined;
    specifiers.push(specifier);
  }
  return { specifiers };
}

const base = (v: Version): Version => ({ epoch: v.epoch, release: v.release });

/**
 * `==P.*`: the candidate's release, padded with zeros, starts with P's. When P
 * names a pre- or post-release the release must be equal and those parts too;
 * anything after the prefix (dev, a post after a pre) is ignored.
 */
function prefixMatch(v: Version, prefix: Version): boolean {
  if (v.epoch !== prefix.epoch) return false;
  if (!prefix.pre && prefix.post === undefined) return prefix.release.every((n, i) => (v.release[i] ?? 0) === n);
  return (
    compareRelease(v.release, prefix.release) === 0 &&
    v.pre?.label === prefix.pre?.label &&
    v.pre?.number === prefix.pre?.number &&
    (prefix.post === undefined || v.post === prefix.post)
  );
}

function matches(s: Specifier, candidate: Version): boolean {
  const spec = s.version!;
  // A candidate's local label only counts when the specifier has one.
  const v = spec.local ? candidate : { ...candidate, local: undefined };
  const order = compareVersions(v, spec);
  switch (s.operator) {
    case '==':
      return s.wildcard ? prefixMatch(v, spec) : order === 0;
    case '!=':
      return s.wildcard ? !prefixMatch(v, spec) : order !== 0;
    case '<=':
      return order <= 0;
    case '>=':
      return order >= 0;
    case '<':
      // `<2` must not let in 2.0a1, unless it is itself `<2.0b1` or the like.
      return order < 0 && (isPrerelease(spec) || !isPrerelease(v) || compareVersions(base(v), base(spec)) !== 0);
    case '>':
      // `>1.7` must not let in 1.7.post1 (nor 1.7+local, gone with the label above).
      return order > 0 && (spec.post !== undefined || v.post === undefined || compareVersions(base(v), base(spec)) !== 0);
    case '~=':
      return order >= 0 && prefixMatch(v, { epoch: spec.epoch, release: spec.release.slice(0, -1) });
    case '===':
      return false; // handled on the text by the caller
  }
}

/** A specifier other than `!=` that names a pre-release lets pre-releases in. */
const namesPrerelease = (s: Specifier) => s.operator !== '!=' && s.version !== undefined && isPrerelease(s.version);

export interface MatchOptions {
  /**
   * `true` admits pre-releases, `false` never does; by default they are
   * admitted only when a specifier of the set names one.
   */
  prereleases?: boolean;
}

/**
 * Whether `version` satisfies every specifier of `set`. A string that is not a
 * PEP 440 version can only satisfy `===` clauses, which compare text.
 */
export function specifierSetContains(set: SpecifierSet, version: Version | string, options: MatchOptions = {}): boolean {
  const text = (typeof version === 'string' ? version.trim() : formatVersion(version)).toLowerCase();
  const arbitrary = (s: Specifier) => s.operator === '===' && s.text.toLowerCase() === text;
  const v = typeof version === 'string' ? parseVersion(version) : version;
  if (!v) return set.specifiers.length > 0 && set.specifiers.every(arbitrary);
  if (isPrerelease(v) && !(options.prereleases ?? set.specifiers.some(namesPrerelease))) return false;
  return set.specifiers.every((s) => (s.operator === '===' ? arbitrary(s) : matches(s, v)));
}

export function specifierContains(specifier: Specifier, version: Version | string, options: MatchOptions = {}): boolean {
  return specifierSetContains({ specifiers: [specifier] }, version, options);
}
