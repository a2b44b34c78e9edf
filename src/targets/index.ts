/**
 * Targets are data: one row per supported triple, holding everything that
 * differs between them (the CPython asset, wheel tags and their floors, the
 * interpreter's path, the executable's suffix, how the stub is compiled).
 * Adding a target is adding a row (and, to build its stub, having its Rust
 * target, which pyseal adds through rustup when it can).
 */
import { UserError } from '../errors.js';
import type { PythonVersion } from '../tags.js';
import { macos, manylinux, musllinux } from './platform-tags.js';

export type Os = 'linux' | 'macos' | 'windows';

/** A floor: the oldest system version a target's executables promise to run on. */
export type Floor = [major: number, minor: number];

export interface Floors {
  /** Newest glibc symbol version the launcher stub may need. */
  stubGlibc?: Floor;
  /** Newest glibc wheels may need: manylinux tags up to `manylinux_2_<minor>`. */
  manylinux?: Floor;
  /** Newest musl wheels may need: `musllinux_1_<minor>` and older. */
  musllinux?: Floor;
  /** Newest macOS wheels may require: `macosx_<major>_<minor>` and older tags. */
  macos?: Floor;
}

export interface Target {
  triple: string;
  os: Os;
  arch: 'x86_64' | 'aarch64';
  /** The C library on Linux. */
  libc?: 'gnu' | 'musl';
  /** Executable file suffix. */
  exeSuffix: string;
  /** The python-build-standalone triple in asset names. */
  distributionTriple: string;
  floors: Floors;
  /**
   * PEP 425 platform tags of wheels that run on this target, best first.
   * `linux_*` wheels (built on this machine) are only accepted when the
   * target is the host.
   */
  platformTags(hostBuild: boolean): string[];
  /** The interpreter inside an install_only tree, for a Python version and build. */
  interpreter(v: PythonVersion): string;
  /**
   * How the launcher stub is compiled: cargo for `rustTarget`, linked by zig
   * for `zigTarget` (which carries the glibc floor, as cargo-zigbuild spells
   * it); for macOS, the oldest version it runs on (MACOSX_DEPLOYMENT_TARGET).
   */
  stub: { rustTarget: string; zigTarget: string; macosDeploymentTarget?: string };
}

/**
 * uv's default for `*-unknown-linux-gnu` is manylinux_2_28, which most current
 * wheels and every Linux from 2019 on (glibc >= 2.28) satisfy. The stub needs
 * much less: glibc 2.17, python-build-standalone's own floor (CentOS 7, RHEL 7+).
 */
const GNU: Floors = { stubGlibc: [2, 17], manylinux: [2, 28] };
/** python-build-standalone's musl builds, and uv, assume musl 1.2. */
const MUSL: Floors = { musllinux: [1, 2] };

const unixInterpreter = (v: PythonVersion) => `python/bin/python${v.major}.${v.minor}${v.freethreaded ? 't' : ''}`;
/** python-build-standalone's Windows trees keep the interpreter at the top; the free-threaded one is `python3.13t.exe`. */
const windowsInterpreter = (v: PythonVersion) => (v.freethreaded ? `python/python${v.major}.${v.minor}t.exe` : 'python/python.exe');

function linux(arch: 'x86_64' | 'aarch64', libc: 'gnu' | 'musl'): Target {
  const triple = `${arch}-unknown-linux-${libc}`;
  const floors = libc === 'gnu' ? GNU : MUSL;
  return {
    triple,
    os: 'linux',
    arch,
    libc,
    exeSuffix: '',
    distributionTriple: triple,
    floors,
    platformTags: (host) => (libc === 'gnu' ? manylinux(arch, floors.manylinux!, host) : musllinux(arch, floors.musllinux!)),
    interpreter: unixInterpreter,
    stub: { rustTarget: triple, zigTarget: libc === 'gnu' ? `${triple}.${floors.stubGlibc!.join('.')}` : triple },
  };
}

function darwin(arch: 'x86_64' | 'aarch64'): Target {
  const triple = `${arch}-apple-darwin`;
  // uv's default deployment target: wheels built for macOS 13 and older.
  const floors: Floors = { macos: [13, 0] };
  return {
    triple,
    os: 'macos',
    arch,
    exeSuffix: '',
    distributionTriple: triple,
    floors,
    platformTags: () => macos(arch === 'aarch64' ? 'arm64' : 'x86_64', floors.macos!),
    interpreter: unixInterpreter,
    // The oldest macOS Rust supports for each: the stub starts wherever the CPython does.
    stub: { rustTarget: triple, zigTarget: triple, macosDeploymentTarget: arch === 'aarch64' ? '11.0' : '10.12' },
  };
}

export const TARGETS: readonly Target[] = [
  linux('x86_64', 'gnu'),
  linux('aarch64', 'gnu'),
  linux('x86_64', 'musl'),
  linux('aarch64', 'musl'),
  darwin('x86_64'),
  darwin('aarch64'),
  {
    triple: 'x86_64-pc-windows-msvc',
    os: 'windows',
    arch: 'x86_64',
    exeSuffix: '.exe',
    distributionTriple: 'x86_64-pc-windows-msvc',
    floors: {},
    platformTags: () => ['win_amd64'],
    interpreter: windowsInterpreter,
    // The stub only starts a process: the GNU ABI (which zig links, with no
    // Microsoft SDK) serves as well as MSVC's; CPython itself is the MSVC build.
    stub: { rustTarget: 'x86_64-pc-windows-gnu', zigTarget: 'x86_64-pc-windows-gnu' },
  },
];

/** Names for several targets at once. */
export const TARGET_GROUPS: Record<string, (t: Target) => boolean> = {
  all: () => true,
  'all-linux': (t) => t.os === 'linux',
};

/** The triple of the machine pyseal runs on (glibc assumed on Linux). */
export function hostTriple(): string {
  const arch = ({ x64: 'x86_64', arm64: 'aarch64' } as Record<string, string>)[process.arch];
  const os = ({ linux: 'unknown-linux-gnu', darwin: 'apple-darwin', win32: 'pc-windows-msvc' } as Record<string, string>)[process.platform];
  if (!arch || !os) {
    throw new UserError(`pyseal does not know this machine (${process.platform}/${process.arch}) as a target`, 'pass --target with one of: ' + TARGETS.map((t) => t.triple).join(', '));
  }
  return `${arch}-${os}`;
}

export function resolveTarget(triple?: string): Target {
  const wanted = triple ?? hostTriple();
  const target = TARGETS.find((t) => t.triple === wanted);
  if (!target) {
    throw new UserError(`unknown target ${JSON.stringify(wanted)}`, `supported targets: ${TARGETS.map((t) => t.triple).join(', ')}; or ${Object.keys(TARGET_GROUPS).join(', ')}`);
  }
  return target;
}

/**
 * `--target` as given: one triple, a comma-separated list, or a group
 * (`all`, `all-linux`); without one, this machine. Duplicates are dropped.
 */
export function resolveTargets(spec?: string): Target[] {
  if (spec === undefined) return [resolveTarget()];
  const found: Target[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const group = TARGET_GROUPS[part];
    for (const t of group ? TARGETS.filter(group) : [resolveTarget(part)]) if (!found.includes(t)) found.push(t);
  }
  if (found.length === 0) throw new UserError(`--target ${JSON.stringify(spec)} names no target`, `use a triple, a comma-separated list, or one of ${Object.keys(TARGET_GROUPS).join(', ')}`, 2);
  return found;
}

export function isHost(target: Target): boolean {
  try {
    return target.triple === hostTriple();
  } catch {
    return false;
  }
}
