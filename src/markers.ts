/**
 * PEP 508 environment markers, evaluated for a build target rather than for
 * the running interpreter: which requirements apply is decided at build time,
 * for the machine the executable will run on. Includes PEP 751's
 * `'name' in extras` / `'name' in dependency_groups`.
 */
import { UserError } from './errors.js';
import { parseSpecifier, parseVersion, specifierContains } from './pep440.js';
import { normalizeName } from './tags.js';
import type { Os, Target } from './targets/index.js';

const STRING_VARIABLES = [
  'os_name',
  'sys_platform',
  'platform_machine',
  'platform_python_implementation',
  'platform_release',
  'platform_system',
  'platform_version',
  'python_version',
  'python_full_version',
  'implementation_name',
  'implementation_version',
  'extra',
] as const;
const SET_VARIABLES = ['extras', 'dependency_groups'] as const;

export type StringVariable = (typeof STRING_VARIABLES)[number];
export type SetVariable = (typeof SET_VARIABLES)[number];
export type MarkerVariable = StringVariable | SetVariable;
export type MarkerOperator = '<' | '<=' | '==' | '!=' | '>=' | '>' | '~=' | '===' | 'in' | 'not in';

export type MarkerValue = { kind: 'variable'; name: MarkerVariable } | { kind: 'string'; value: string };

export interface MarkerComparison {
  kind: 'compare';
  left: MarkerValue;
  op: MarkerOperator;
  right: MarkerValue;
}

export type Marker = MarkerComparison | { kind: 'and' | 'or'; left: Marker; right: Marker };

/** Keyed by the marker variables' own names, so a marker is looked up as written. */
export interface MarkerEnvironment {
  os_name: string;
  sys_platform: string;
  platform_machine: string;
  platform_python_implementation: string;
  platform_release: string;
  platform_system: string;
  platform_version: string;
  python_version: string;
  python_full_version: string;
  implementation_name: string;
  implementation_version: string;
  /** The extra a dependency's markers are evaluated for; `''` when none. */
  extra?: string;
  /** PEP 751: the extras and dependency groups the lock is installed with. */
  extras?: ReadonlySet<string>;
  dependency_groups?: ReadonlySet<string>;
}

const isStringVariable = (name: string): name is StringVariable => (STRING_VARIABLES as readonly string[]).includes(name);
const isSetVariable = (name: string): name is SetVariable => (SET_VARIABLES as readonly string[]).includes(name);

interface Token {
  kind: 'string' | 'word' | 'op' | '(' | ')';
  text: string;
  /** Offset in the marker text, for messages. */
  at: number;
}

const TOKEN = /\s*(?:'([^']*)'|"([^"]*)"|([A-Za-z_][A-Za-z0-9_]*)|(===|==|!=|<=|>=|~=|<|>)|([()]))/y;

/** Parses a marker, throwing a UserError that quotes it when it is malformed. */
export function parseMarker(text: string): Marker {
  function fail(detail: string): never {
    throw new UserError(`invalid environment marker ${JSON.stringify(text)}: ${detail}`);
  }
  const column = (at: number) => `column ${at + 1}`;

  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (!/^\s*$/.test(text.slice(TOKEN.lastIndex))) {
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) {
      const at = start + (/^\s*/.exec(text.slice(start))?.[0].length ?? 0);
      const ch = text[at]!;
      fail(ch === "'" || ch === '"' ? `unterminated string at ${column(at)}` : `unexpected ${JSON.stringify(ch)} at ${column(at)}`);
    }
    const at = start + m[0].length - m[0].trimStart().length;
    if (m[1] !== undefined || m[2] !== undefined) tokens.push({ kind: 'string', text: m[1] ?? m[2]!, at });
    else if (m[3] !== undefined) tokens.push({ kind: 'word', text: m[3], at });
    else if (m[4] !== undefined) tokens.push({ kind: 'op', text: m[4], at });
    else tokens.push({ kind: m[5] as '(' | ')', text: m[5]!, at });
  }

  let i = 0;
  const where = (t: Token | undefined) => (t ? column(t.at) : 'the end');
  const isWord = (t: Token | undefined, word: string) => t?.kind === 'word' && t.text === word;

  function value(): MarkerValue {
    const t = tokens[i++];
    if (t?.kind === 'string') return { kind: 'string', value: t.text };
    if (t?.kind === 'word' && (isStringVariable(t.text) || isSetVariable(t.text))) return { kind: 'variable', name: t.text };
    if (t?.kind === 'word' && !['and', 'or', 'in', 'not'].includes(t.text)) return fail(`unknown marker variable ${JSON.stringify(t.text)} at ${column(t.at)}`);
    return fail(`expected a marker variable or a quoted string at ${where(t)}`);
  }

  function operator(): MarkerOperator {
    const t = tokens[i++];
    if (t?.kind === 'op') return t.text as MarkerOperator;
    if (isWord(t, 'in')) return 'in';
    if (isWord(t, 'not')) {
      if (isWord(tokens[i], 'in')) {
        i++;
        return 'not in';
      }
      return fail(`expected "in" after "not" at ${where(tokens[i])}`);
    }
    return fail(`expected a comparison operator at ${where(t)}`);
  }

  function comparison(): Marker {
    if (tokens[i]?.kind === '(') {
      i++;
      const inner = or();
      if (tokens[i]?.kind !== ')') fail(`expected ")" at ${where(tokens[i])}`);
      i++;
      return inner;
    }
    const leftToken = tokens[i];
    const left = value();
    const op = operator();
    const right = value();
    // Sets only make sense as what `in` looks into.
    const setOnLeft = left.kind === 'variable' && isSetVariable(left.name);
    if (setOnLeft || (right.kind === 'variable' && isSetVariable(right.name) && op !== 'in' && op !== 'not in')) {
      const name = setOnLeft ? left.name : (right as { name: string }).name;
      fail(`${JSON.stringify(name)} can only follow "in" or "not in" (at ${where(leftToken)})`);
    }
    return { kind: 'compare', left, op, right };
  }

  // `and` binds tighter than `or`; both group to the left.
  function and(): Marker {
    let marker = comparison();
    while (isWord(tokens[i], 'and')) {
      i++;
      marker = { kind: 'and', left: marker, right: comparison() };
    }
    return marker;
  }

  function or(): Marker {
    let marker = and();
    while (isWord(tokens[i], 'or')) {
      i++;
      marker = { kind: 'or', left: marker, right: and() };
    }
    return marker;
  }

  const marker = or();
  const rest = tokens[i];
  if (rest) fail(`unexpected ${JSON.stringify(rest.text)} at ${column(rest.at)}`);
  return marker;
}

function read(v: MarkerValue, env: MarkerEnvironment): string {
  if (v.kind === 'string') return v.value;
  return isStringVariable(v.name) ? (env[v.name] ?? '') : '';
}

function compare(c: MarkerComparison, env: MarkerEnvironment): boolean {
  const { left, op, right } = c;
  if (right.kind === 'variable' && isSetVariable(right.name)) {
    const wanted = normalizeName(read(left, env));
    const found = [...(env[right.name] ?? [])].some((name) => normalizeName(name) === wanted);
    return op === 'in' ? found : !found;
  }
  let l = read(left, env);
  let r = read(right, env);
  // PEP 685: extras compare by their normalized names.
  if ((left.kind === 'variable' && left.name === 'extra') || (right.kind === 'variable' && right.name === 'extra')) {
    l = normalizeName(l);
    r = normalizeName(r);
  }
  if (op === 'in') return r.includes(l);
  if (op === 'not in') return !r.includes(l);
  // PEP 508: version operators follow PEP 440 when both sides are versions
  // (the right side as a specifier, so `== '3.*'` works), else Python's own
  // string comparison where Python has the operator.
  const specifier = parseSpecifier(op + r);
  const version = op === '===' ? l : parseVersion(l);
  if (specifier && version !== undefined) return specifierContains(specifier, version, { prereleases: true });
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    case '>=':
      return l >= r;
    default:
      throw new UserError(`environment marker compares ${JSON.stringify(l)} ${op} ${JSON.stringify(r)}, which is only defined for PEP 440 versions`);
  }
}

export function evaluateMarker(marker: Marker, env: MarkerEnvironment): boolean {
  switch (marker.kind) {
    case 'and':
      return evaluateMarker(marker.left, env) && evaluateMarker(marker.right, env);
    case 'or':
      return evaluateMarker(marker.left, env) || evaluateMarker(marker.right, env);
    case 'compare':
      return compare(marker, env);
  }
}

/** What `os.name`, `sys.platform`, `platform.system()` and `platform.machine()` say on each OS. */
const PLATFORMS: Record<Os, { os_name: string; sys_platform: string; platform_system: string; machine: Record<Target['arch'], string> }> = {
  linux: { os_name: 'posix', sys_platform: 'linux', platform_system: 'Linux', machine: { x86_64: 'x86_64', aarch64: 'aarch64' } },
  macos: { os_name: 'posix', sys_platform: 'darwin', platform_system: 'Darwin', machine: { x86_64: 'x86_64', aarch64: 'arm64' } },
  windows: { os_name: 'nt', sys_platform: 'win32', platform_system: 'Windows', machine: { x86_64: 'AMD64', aarch64: 'ARM64' } },
};

/**
 * The environment CPython `python.version` (full, like `3.12.7`) will see on
 * `target`. The kernel's release and version are not known at build time, so
 * they are empty: markers on them compare as strings and rarely match.
 */
export function markerEnvironment(
  target: Target,
  python: { version: string },
  extras: readonly string[] = [],
  dependencyGroups: readonly string[] = [],
): MarkerEnvironment {
  const full = python.version.trim();
  const parsed = parseVersion(full);
  if (!parsed || parsed.release.length < 2 || parsed.epoch || parsed.local) {
    throw new UserError(`${JSON.stringify(python.version)} is not a Python version like 3.12.7`);
  }
  const platform = PLATFORMS[target.os];
  return {
    os_name: platform.os_name,
    sys_platform: platform.sys_platform,
    platform_machine: platform.machine[target.arch],
    platform_python_implementation: 'CPython',
    platform_release: '',
    platform_system: platform.platform_system,
    platform_version: '',
    python_version: `${parsed.release[0]}.${parsed.release[1]}`,
    python_full_version: full,
    implementation_name: 'cpython',
    implementation_version: full,
    extras: new Set(extras),
    dependency_groups: new Set(dependencyGroups),
  };
}
