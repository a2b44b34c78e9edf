/**
 * Wheel file names (PEP 427) and whether a wheel's tags (PEP 425) fit a
 * CPython version on a target.
 */

export interface WheelName {
  /** Distribution name as written in the file name. */
  distribution: string;
  version: string;
  build?: string;
  pythonTags: string[];
  abiTags: string[];
  platformTags: string[];
  /** `py3-none-any` form, for messages. */
  tagString: string;
}

/** PEP 503 normalization: `Foo_Bar.baz` -> `foo-bar-baz`. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

export function parseWheelName(fileName: string): WheelName | undefined {
  if (!fileName.endsWith('.whl')) return undefined;
  const parts = fileName.slice(0, -4).split('-');
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  const [distribution, version] = parts as [string, string];
  const build = parts.length === 6 ? parts[2] : undefined;
  const [py, abi, plat] = parts.slice(-3) as [string, string, string];
  if (!distribution || !version || !py || !abi || !plat) return undefined;
  return {
    distribution,
    version,
    ...(build ? { build } : {}),
    pythonTags: py.split('.'),
    abiTags: abi.split('.'),
    platformTags: plat.split('.'),
    tagString: `${py}-${abi}-${plat}`,
  };
}

export interface PythonVersion {
  major: number;
  minor: number;
  /** The free-threaded build (PEP 703): its own ABI (`cp314t`), and no stable ABI (abi3). */
  freethreaded?: boolean;
}

/** `cp312`, or `cp314t` for a free-threaded build: the ABI tag of version-specific wheels. */
export function abiTag(v: PythonVersion): string {
  return `cp${v.major}${v.minor}${v.freethreaded ? 't' : ''}`;
}

/** Whether one python/abi tag pair can be imported by CPython `major.minor`. */
function interpreterFits(py: string, abi: string, v: PythonVersion): boolean {
  const cp = `cp${v.major}${v.minor}`;
  if (v.freethreaded && abi !== 'none') return abi === abiTag(v) && py === cp;
  const pyMatch = /^(cp|py)(\d)(\d*)$/.exec(py);
  if (!pyMatch) return false;
  const [, impl, majorText, minorText] = pyMatch as unknown as [string, string, string, string];
  const major = Number(majorText);
  const minor = minorText === '' ? undefined : Number(minorText);
  if (major !== v.major) return false;
  if (abi === 'abi3') {
    // Stable ABI: built for cp3N, runs on every CPython 3.M with M >= N.
    return impl === 'cp' && minor !== undefined && minor <= v.minor;
  }
  if (abi === cp) return py === cp;
  if (abi === 'none') {
    if (impl === 'cp') return py === cp;
    return minor === undefined || minor <= v.minor;
  }
  return false;
}

/**
 * `undefined` when the wheel fits; otherwise why not, for the error message.
 */
export function incompatibility(wheel: WheelName, python: PythonVersion, platformTags: readonly string[]): string | undefined {
  const platformOk = wheel.platformTags.some((p) => p === 'any' || platformTags.includes(p));
  const interpreterOk = wheel.pythonTags.some((py) => wheel.abiTags.some((abi) => interpreterFits(py, abi, python)));
  if (platformOk && interpreterOk) return undefined;
  const reasons: string[] = [];
  if (!interpreterOk) reasons.push(`not for CPython ${python.major}.${python.minor}${python.freethreaded ? ' (free-threaded)' : ''}`);
  if (!platformOk) reasons.push(`not for this target's platform`);
  return reasons.join(' and ');
}

/**
 * How well a wheel fits, lower is better, in the order installers prefer
 * (packaging's `sys_tags`, which uv follows): the interpreter and ABI first
 * (`cp312-cp312`, then `cp312-abi3`, `cp311-abi3`, ..., then `cp312-none`,
 * `py312`, `py3`), the platform second (best first in `platformTags`, `any`
 * last). `undefined` when the wheel does not fit at all.
 */
export function wheelRank(wheel: WheelName, python: PythonVersion, platformTags: readonly string[]): number | undefined {
  if (incompatibility(wheel, python, platformTags)) return undefined;
  const cp = `cp${python.major}${python.minor}`;
  const interpreterRank = (py: string, abi: string): number => {
    if (abi === abiTag(python) && py === cp) return 0;
    if (abi === 'abi3') return 1 + (python.minor - Number(py.slice(3)));
    if (abi === 'none' && py === cp) return 100;
    if (abi === 'none' && py === `py${python.major}${python.minor}`) return 101;
    if (abi === 'none' && py === `py${python.major}`) return 102;
    if (abi === 'none') return 103 + (python.minor - Number(py.slice(3) || 0));
    return 1000;
  };
  let best = Infinity;
  for (const py of wheel.pythonTags) {
    for (const abi of wheel.abiTags) {
      if (!interpreterFits(py, abi, python)) continue;
      for (const platform of wheel.platformTags) {
        const p = platform === 'any' ? platformTags.length : platformTags.indexOf(platform);
        if (p < 0) continue;
        best = Math.min(best, interpreterRank(py, abi) * 10_000 + p);
      }
    }
  }
  return Number.isFinite(best) ? best : undefined;
}
