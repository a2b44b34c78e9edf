/**
 * Targets are data: one row per supported triple. Adding a target is adding a
 * row here (and, for non-host targets, having its Rust target installed).
 */
import { UserError } from './errors.js';
import type { PythonVersion } from './tags.js';

export type Os = 'linux' | 'macos' | 'windows';

export interface Target {
  triple: string;
  os: Os;
  arch: 'x86_64' | 'aarch64';
  /** Executable file suffix. */
  exeSuffix: string;
  /** The python-build-standalone triple in asset names. */
  distributionTriple: string;
  /**
   * PEP 425 platform tags of wheels that run on this target, best first, for a
   * given glibc/macOS floor. `linux_*` wheels (built on this machine) are only
   * accepted when the target is the host.
   */
  platformTags(hostBuild: boolean): string[];
  /** The interpreter inside an install_only tree, for a Python version and build. */
  interpreter(v: PythonVersion): string;
  /** How the launcher stub is obtained. */
  stub: { kind: 'cargo'; rustTarget: string };
}

/**
 * uv's default for `x86_64-unknown-linux-gnu` is manylinux_2_28, which most
 * current wheels and every Linux from 2019 on (glibc >= 2.28) satisfy.
 */
const MANYLINUX_FLOOR = 28;

function manylinux(arch: string, hostBuild: boolean): string[] {
  const tags: string[] = [];
  for (let minor = MANYLINUX_FLOOR; minor >= (arch === 'x86_64' ? 5 : 17); minor--) {
    tags.push(`manylinux_2_${minor}_${arch}`);
    if (minor === 17) tags.push(`manylinux2014_${arch}`);
    if (minor === 12) tags.push(`manylinux2010_${arch}`);
    if (minor === 5) tags.push(`manylinux1_${arch}`);
  }
  if (hostBuild) tags.push(`linux_${arch}`);
  return tags;
}

function macos(arch: 'x86_64' | 'arm64'): string[] {
  const tags: string[] = [];
  const floor = arch === 'arm64' ? 11 : 10;
  for (let major = 15; major >= floor; major--) {
    const minors = major === 10 ? [16, 15, 14, 13, 12, 11, 10, 9] : [0];
    for (const minor of minors) {
      tags.push(`macosx_${major}_${minor}_${arch}`, `macosx_${major}_${minor}_universal2`);
    }
  }
  return tags;
}

const unixInterpreter = (v: PythonVersion) => `python/bin/python${v.major}.${v.minor}${v.freethreaded ? 't' : ''}`;
/** python-build-standalone's Windows trees keep the interpreter at the top; the free-threaded one is `python3.13t.exe`. */
const windowsInterpreter = (v: PythonVersion) => (v.freethreaded ? `python/python${v.major}.${v.minor}t.exe` : 'python/python.exe');

export const TARGETS: readonly Target[] = [
  {
    triple: 'x86_64-unknown-linux-gnu',
    os: 'linux',
    arch: 'x86_64',
    exeSuffix: '',
    distributionTriple: 'x86_64-unknown-linux-gnu',
    platformTags: (host) => manylinux('x86_64', host),
    interpreter: unixInterpreter,
    stub: { kind: 'cargo', rustTarget: 'x86_64-unknown-linux-gnu' },
  },
  {
    triple: 'aarch64-unknown-linux-gnu',
    os: 'linux',
    arch: 'aarch64',
    exeSuffix: '',
    distributionTriple: 'aarch64-unknown-linux-gnu',
    platformTags: (host) => manylinux('aarch64', host),
    interpreter: unixInterpreter,
    stub: { kind: 'cargo', rustTarget: 'aarch64-unknown-linux-gnu' },
  },
  {
    triple: 'x86_64-apple-darwin',
    os: 'macos',
    arch: 'x86_64',
    exeSuffix: '',
    distributionTriple: 'x86_64-apple-darwin',
    platformTags: () => macos('x86_64'),
    interpreter: unixInterpreter,
    stub: { kind: 'cargo', rustTarget: 'x86_64-apple-darwin' },
  },
  {
    triple: 'aarch64-apple-darwin',
    os: 'macos',
    arch: 'aarch64',
    exeSuffix: '',
    distributionTriple: 'aarch64-apple-darwin',
    platformTags: () => macos('arm64'),
    interpreter: unixInterpreter,
    stub: { kind: 'cargo', rustTarget: 'aarch64-apple-darwin' },
  },
  {
    triple: 'x86_64-pc-windows-msvc',
    os: 'windows',
    arch: 'x86_64',
    exeSuffix: '.exe',
    distributionTriple: 'x86_64-pc-windows-msvc',
    platformTags: () => ['win_amd64'],
    interpreter: windowsInterpreter,
    stub: { kind: 'cargo', rustTarget: 'x86_64-pc-windows-msvc' },
  },
];

/** The triple of the machine pyseal runs on. */
export function hostTriple(): string {
  const arch = ({ x64: 'x86_64', arm64: 'aarch64' } as Record<string, string>)[process.arch];
  const os = ({ linux: 'unknown-linux-gnu', darwin: 'apple-darwin', win32: 'pc-windows-msvc' } as Record<string, string>)[
    process.platform
  ];
  if (!arch || !os) {
    throw new UserError(`pyseal does not know this machine (${process.platform}/${process.arch}) as a target`, 'pass --target with one of: ' + TARGETS.map((t) => t.triple).join(', '));
  }
  return `${arch}-${os}`;
}

export function resolveTarget(triple?: string): Target {
  const wanted = triple ?? hostTriple();
  const target = TARGETS.find((t) => t.triple === wanted);
  if (!target) {
    throw new UserError(`unknown target ${JSON.stringify(wanted)}`, `supported targets: ${TARGETS.map((t) => t.triple).join(', ')}`);
  }
  return target;
}

export function isHost(target: Target): boolean {
  try {
    return target.triple === hostTriple();
  } catch {
    return false;
  }
}
