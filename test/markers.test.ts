/** PEP 508 environment markers, evaluated for pyseal's targets. */
import { describe, expect, it } from 'vitest';

import { UserError } from '../src/errors.js';
import { evaluateMarker, type MarkerEnvironment, markerEnvironment, parseMarker } from '../src/markers.js';
import { resolveTarget, TARGETS } from '../src/targets/index.js';

const linux = markerEnvironment(resolveTarget('x86_64-unknown-linux-gnu'), { version: '3.12.4' }, ['Foo.Bar', 'cli'], ['dev-tools']);
const evaluate = (marker: string, env: MarkerEnvironment = linux) => evaluateMarker(parseMarker(marker), env);

describe('evaluating markers on x86_64 Linux with CPython 3.12.4', () => {
  it.each<[string, boolean]>([
    // Strings
    ["os_name == 'posix'", true],
    ['os_name == "posix"', true],
    ["os_name != 'posix'", false],
    ["sys_platform == 'linux'", true],
    ["'linux' == sys_platform", true],
    ["platform_machine == 'x86_64'", true],
    ["platform_system == 'Linux'", true],
    ["platform_system == 'linux'", false],
    ["platform_python_implementation == 'CPython'", true],
    ["implementation_name == 'cpython'", true],
    ["os_name == \"it's\"", false],
    ["'a' == 'a'", true],
    ['os_name == sys_platform', false],
    // Versions compare as versions, not as strings
    ["python_version > '3.9'", true],
    ["python_version < '3.9'", false],
    ["python_version >= '3.12'", true],
    ["python_version == '3.12.0'", true],
    ["python_version == '3.12'", true],
    ["python_version != '3.12'", false],
    ["python_version == '3.1'", false],
    ["python_version == '3.*'", true],
    ["python_version != '3.12.*'", false],
    ["python_version ~= '3.10'", true],
    ["python_version ~= '3.13'", false],
    ["python_full_version >= '3.12.4'", true],
    ["python_full_version < '3.12.10'", true],
    ["python_full_version < '3.13'", true],
    ["python_full_version === '3.12.4'", true],
    ["python_full_version === '3.12.04'", false],
    ["implementation_version > '3.12.3'", true],
    // Reversed operands
    ["'3.8' <= python_version", true],
    ["'3.13' <= python_version", false],
    ["'3.13' > python_version", true],
    ["'3.10' < python_full_version", true],
    // Strings that are not versions fall back to string order
    ["platform_release >= '5'", false],
    ["platform_release == ''", true],
    ["os_name < 'z'", true],
    // in / not in: substrings
    ["'linux' in sys_platform", true],
    ["'lin' in sys_platform", true],
    ["'win' in sys_platform", false],
    ["sys_platform in 'linux darwin'", true],
    ["sys_platform not in 'win32 cygwin'", true],
    ["platform_machine in 'aarch64 arm64'", false],
    ["platform_machine not in 'aarch64 arm64'", true],
    // Precedence: `and` before `or`
    ["os_name == 'posix' or os_name == 'nt' and python_version < '3'", true],
    ["os_name == 'nt' and python_version > '3' or sys_platform == 'linux'", true],
    ["os_name == 'nt' or os_name == 'posix' and python_version < '3'", false],
    // Parentheses
    ["(os_name == 'posix' or os_name == 'nt') and python_version < '3'", false],
    ["os_name == 'posix' or (os_name == 'nt' and python_version < '3')", true],
    ["((os_name == 'posix'))", true],
    ["(sys_platform == 'win32' or (sys_platform == 'linux' and platform_machine == 'x86_64')) and python_version >= '3.8'", true],
    // Spacing
    ["python_version>='3.8'and(os_name=='posix')", true],
    ["  os_name  ==  'posix'  ", true],
    ["os_name == 'posix'\n and\tpython_version > '3'", true],
    // PEP 751 sets: membership of normalized names, not substrings
    ["'foo-bar' in extras", true],
    ["'FOO_bar' in extras", true],
    ["'foo' in extras", false],
    ["'cli' not in extras", false],
    ["'docs' not in extras", true],
    ["'dev_tools' in dependency_groups", true],
    ["'Dev.Tools' in dependency_groups", true],
    ["'dev' in dependency_groups", false],
    ["'cli' in dependency_groups", false],
    // `extra` is empty unless set
    ["extra == 'cli'", false],
  ])('%s -> %s', (marker, expected) => {
    expect(evaluate(marker)).toBe(expected);
  });

  it.each<[string, boolean]>([
    ["extra == 'foo-bar'", true],
    ["extra == 'FOO.BAR'", true],
    ["extra == 'foo__bar'", true],
    ["'Foo_Bar' == extra", true],
    ["extra == 'foo'", false],
    ["extra != 'foo'", true],
    ["extra != 'foo-bar'", false],
  ])('with extra "Foo_Bar": %s -> %s', (marker, expected) => {
    expect(evaluate(marker, { ...linux, extra: 'Foo_Bar' })).toBe(expected);
  });

  it('admits pre-release interpreters in version comparisons', () => {
    const rc = markerEnvironment(resolveTarget('x86_64-unknown-linux-gnu'), { version: '3.13.0rc2' });
    expect(evaluate("python_full_version >= '3.13.0a1'", rc)).toBe(true);
    expect(evaluate("python_version >= '3.13'", rc)).toBe(true);
    expect(evaluate("python_full_version >= '3.13'", rc)).toBe(false);
    expect(evaluate("python_full_version < '3.13'", rc)).toBe(false);
    expect(evaluate("python_full_version > '3.12'", rc)).toBe(true);
  });

  it('refuses ~= between strings that are not versions', () => {
    expect(() => evaluate("os_name ~= 'posix'")).toThrow(UserError);
    expect(() => evaluate("os_name ~= 'posix'")).toThrow('environment marker compares "posix" ~= "posix", which is only defined for PEP 440 versions');
  });
});

describe('parsing markers', () => {
  it('builds the tree with and under or, both grouping to the left', () => {
    const cmp = (name: string, value: string) => ({ kind: 'compare', left: { kind: 'variable', name }, op: '==', right: { kind: 'string', value } });
    expect(parseMarker("os_name == 'a' or os_name == 'b' and sys_platform == 'c' or extra == 'd'")).toEqual({
      kind: 'or',
      left: { kind: 'or', left: cmp('os_name', 'a'), right: { kind: 'and', left: cmp('os_name', 'b'), right: cmp('sys_platform', 'c') } },
      right: cmp('extra', 'd'),
    });
    expect(parseMarker("'x' not in extras")).toEqual({ kind: 'compare', left: { kind: 'string', value: 'x' }, op: 'not in', right: { kind: 'variable', name: 'extras' } });
  });

  it.each([
    ['', 'expected a marker variable or a quoted string at the end'],
    ['   ', 'expected a marker variable or a quoted string at the end'],
    ['os_name', 'expected a comparison operator at the end'],
    ['os_name ==', 'expected a marker variable or a quoted string at the end'],
    ["os_name = 'posix'", 'unexpected "=" at column 9'],
    ["os_name == 'posix", 'unterminated string at column 12'],
    ['os_name == "posix\'', 'unterminated string at column 12'],
    ["foo == 'bar'", 'unknown marker variable "foo" at column 1'],
    ["os.name == 'posix'", 'unexpected "." at column 3'],
    ["os_name == 'posix' and", 'expected a marker variable or a quoted string at the end'],
    ["os_name == 'posix' or or os_name == 'nt'", 'expected a marker variable or a quoted string at column 23'],
    ["(os_name == 'posix'", 'expected ")" at the end'],
    ["os_name == 'posix')", 'unexpected ")" at column 19'],
    ["()", 'expected a marker variable or a quoted string at column 2'],
    ["os_name == 'posix' os_name == 'nt'", 'unexpected "os_name" at column 20'],
    ["os_name == 'posix' AND python_version > '3'", 'unexpected "AND" at column 20'],
    ["os_name not 'posix'", 'expected "in" after "not" at column 13'],
    ["os_name is 'posix'", 'expected a comparison operator at column 9'],
    ["os_name == == 'posix'", 'expected a marker variable or a quoted string at column 12'],
    ["not os_name == 'posix'", 'expected a marker variable or a quoted string at column 1'],
    ["extras == 'x'", '"extras" can only follow "in" or "not in" (at column 1)'],
    ["'x' == dependency_groups", '"dependency_groups" can only follow "in" or "not in" (at column 1)'],
    ["extras in 'x'", '"extras" can only follow "in" or "not in" (at column 1)'],
    ["os_name == 'posix' and 'x' in extras in 'y'", 'unexpected "in" at column 38'],
    ["os_name ==\n'posix' +", 'unexpected "+" at column 20'],
  ])('refuses %j: %s', (marker, detail) => {
    let error: unknown;
    try {
      parseMarker(marker);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(`invalid environment marker ${JSON.stringify(marker)}: ${detail}`);
    expect((error as UserError).message).not.toContain('\n');
  });
});

describe('marker environments of the targets', () => {
  const common = {
    platform_python_implementation: 'CPython',
    platform_release: '',
    platform_version: '',
    python_version: '3.12',
    python_full_version: '3.12.4',
    implementation_name: 'cpython',
    implementation_version: '3.12.4',
    extras: new Set<string>(),
    dependency_groups: new Set<string>(),
  };
  const expected: Record<string, Pick<MarkerEnvironment, 'os_name' | 'sys_platform' | 'platform_system' | 'platform_machine'>> = {
    'x86_64-unknown-linux-gnu': { os_name: 'posix', sys_platform: 'linux', platform_system: 'Linux', platform_machine: 'x86_64' },
    'aarch64-unknown-linux-gnu': { os_name: 'posix', sys_platform: 'linux', platform_system: 'Linux', platform_machine: 'aarch64' },
    'x86_64-unknown-linux-musl': { os_name: 'posix', sys_platform: 'linux', platform_system: 'Linux', platform_machine: 'x86_64' },
    'aarch64-unknown-linux-musl': { os_name: 'posix', sys_platform: 'linux', platform_system: 'Linux', platform_machine: 'aarch64' },
    'x86_64-apple-darwin': { os_name: 'posix', sys_platform: 'darwin', platform_system: 'Darwin', platform_machine: 'x86_64' },
    'aarch64-apple-darwin': { os_name: 'posix', sys_platform: 'darwin', platform_system: 'Darwin', platform_machine: 'arm64' },
    'x86_64-pc-windows-msvc': { os_name: 'nt', sys_platform: 'win32', platform_system: 'Windows', platform_machine: 'AMD64' },
  };

  it('has an expectation for every target', () => {
    expect(Object.keys(expected).sort()).toEqual(TARGETS.map((t) => t.triple).sort());
  });

  it.each(TARGETS.map((t) => [t.triple, t] as const))('%s', (triple, target) => {
    const env = markerEnvironment(target, { version: '3.12.4' });
    expect(env).toEqual({ ...common, ...expected[triple] });
    expect(evaluate(`sys_platform == '${env.sys_platform}' and platform_machine == '${env.platform_machine}'`, env)).toBe(true);
  });

  it('answers the markers real projects use, per target', () => {
    const on = (triple: string) => markerEnvironment(resolveTarget(triple), { version: '3.11.9' });
    const marker = parseMarker("sys_platform == 'win32' or (platform_machine == 'arm64' and platform_system == 'Darwin')");
    expect(TARGETS.filter((t) => evaluateMarker(marker, on(t.triple))).map((t) => t.triple)).toEqual(['aarch64-apple-darwin', 'x86_64-pc-windows-msvc']);
    const colorama = parseMarker('platform_system == "Windows"');
    expect(TARGETS.filter((t) => evaluateMarker(colorama, on(t.triple))).map((t) => t.triple)).toEqual(['x86_64-pc-windows-msvc']);
    const legacy = parseMarker('python_version < "3.11"');
    expect(evaluateMarker(legacy, on('x86_64-unknown-linux-gnu'))).toBe(false);
  });

  it('maps Windows on ARM to ARM64', () => {
    const target = { ...resolveTarget('x86_64-pc-windows-msvc'), arch: 'aarch64' as const };
    expect(markerEnvironment(target, { version: '3.13.1' }).platform_machine).toBe('ARM64');
  });

  it('carries extras and dependency groups as given', () => {
    const env = markerEnvironment(resolveTarget('x86_64-apple-darwin'), { version: '3.10.0' }, ['a', 'B_c'], ['test']);
    expect(env.extras).toEqual(new Set(['a', 'B_c']));
    expect(env.dependency_groups).toEqual(new Set(['test']));
    expect(env.python_version).toBe('3.10');
    expect(env.extra).toBeUndefined();
  });

  it.each(['3', 'three', '', '1!3.12.0', '3.12.0+local'])('refuses Python version %j', (version) => {
    expect(() => markerEnvironment(resolveTarget('x86_64-unknown-linux-gnu'), { version })).toThrow(UserError);
  });
});
