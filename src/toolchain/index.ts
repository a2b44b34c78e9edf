/**
 * The tools a build may need beyond Node and cargo, and where they come from:
 * a program named by its variable (PYSEAL_UV, PYSEAL_ZIG, PYSEAL_CARGO_ZIGBUILD),
 * else one on PATH of a fitting version, else pyseal's pinned, hash-checked
 * copy, fetched on first need (see install.ts). Rust targets are added with
 * rustup when it is there.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

import { UserError } from '../errors.js';
import { runCaptured } from '../process.js';
import type { Reporter } from '../progress.js';
import type { Target } from '../targets/index.js';
import { ensureTool } from './install.js';
import { CARGO_ZIGBUILD, type PinnedTool, UV, ZIG } from './pinned.js';

/** A program on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

/** `uv 0.13.9 (...)` -> [0, 13, 9]. */
async function versionOf(program: string, args: string[] = ['--version']): Promise<number[] | undefined> {
  const r = await runCaptured(program, args, { quiet: true, cannotStart: (e) => new UserError(e.message) }).catch(() => undefined);
  const m = r && r.code === 0 ? /(\d+)\.(\d+)\.(\d+)/.exec(r.output) : null;
  return m ? m.slice(1, 4).map(Number) : undefined;
}

const atLeast = (v: number[] | undefined, min: number[]) => v !== undefined && (v[0]! - min[0]! || v[1]! - min[1]! || v[2]! - min[2]!) >= 0;

/**
 * A tool by variable, PATH (when its version is at least `min`), or the pinned
 * copy. With `optional`, a pinned copy that cannot be fetched gives undefined
 * rather than an error.
 */
async function find(tool: PinnedTool, variable: string, pathName: string, min: number[], reporter: Reporter, optional: boolean, versionArgs?: string[]): Promise<string | undefined> {
  const named = process.env[variable];
  if (named) {
    if (!existsSync(named)) throw new UserError(`${variable} names ${named}, which does not exist`, `point ${variable} at the ${tool.project} program, or unset it`);
    return named;
  }
  const found = onPath(pathName);
  if (found && atLeast(await versionOf(found, versionArgs), min)) return found;
  try {
    return await ensureTool(tool, reporter);
  } catch (err) {
    if (optional && err instanceof UserError) return undefined;
    throw err;
  }
}

/** uv 0.13 or newer (it filters a lock's wheels by target), or undefined when none can be had. */
export function findUv(reporter: Reporter): Promise<string | undefined> {
  return find(UV, 'PYSEAL_UV', 'uv', [0, 13, 0], reporter, true);
}

export interface ZigToolchain {
  /** The zig program. */
  zig: string;
  /** The cargo-zigbuild program (used as `cargo-zigbuild build ...`). */
  cargoZigbuild: string;
  /** What links the stub, for the stub cache key: `zig 0.15.2, cargo-zigbuild 0.20.1`. */
  id: string;
}

let zigToolchain: Promise<ZigToolchain> | undefined;

/** zig and cargo-zigbuild, which link launcher stubs for any target from this machine (looked for once per process). */
export function findZigToolchain(reporter: Reporter): Promise<ZigToolchain> {
  zigToolchain ??= lookForZigToolchain(reporter);
  zigToolchain.catch(() => {
    zigToolchain = undefined; // a failure (say, offline) may pass: try again next time
  });
  return zigToolchain;
}

async function lookForZigToolchain(reporter: Reporter): Promise<ZigToolchain> {
  const zig = (await find(ZIG, 'PYSEAL_ZIG', 'zig', ZIG_MIN, reporter, false, ['version']))!;
  const cargoZigbuild = (await find(CARGO_ZIGBUILD, 'PYSEAL_CARGO_ZIGBUILD', 'cargo-zigbuild', ZIGBUILD_MIN, reporter, false))!;
  const zigVersion = (await versionOf(zig, ['version']))?.join('.') ?? 'unknown';
  const zigbuildVersion = (await versionOf(cargoZigbuild))?.join('.') ?? 'unknown';
  return { zig, cargoZigbuild, id: `zig ${zigVersion}, cargo-zigbuild ${zigbuildVersion}` };
}

const ZIG_MIN = [0, 13, 0];
const ZIGBUILD_MIN = [0, 19, 0];

/**
 * Makes sure the Rust standard library for `rustTarget` is installed: added
 * with rustup (saying so on stderr) when rustup is there, else one line with
 * the fix.
 */
export async function ensureRustTarget(rustTarget: string, reporter: Reporter): Promise<boolean> {
  const rustup = process.env.RUSTUP ?? 'rustup';
  const installed = await runCaptured(rustup, ['target', 'list', '--installed'], { quiet: true, cannotStart: (e) => new UserError(e.message) }).catch(() => undefined);
  if (!installed || installed.code !== 0) return false; // no rustup: cargo will say what is missing
  if (installed.stdout.split('\n').some((l) => l.trim() === rustTarget)) return true;
  reporter.say(`adding the Rust target ${rustTarget} (rustup target add ${rustTarget})`);
  const added = await runCaptured(rustup, ['target', 'add', rustTarget], { cannotStart: (e) => new UserError(e.message) });
  if (added.code !== 0) {
    throw new UserError(`cannot add the Rust target ${rustTarget}: ${added.output.trim().split('\n').at(-1)}`, `run: rustup target add ${rustTarget}`);
  }
  return true;
}

/** Everything building for `targets` needs, fetched or added where missing (`pyseal toolchain`). */
export async function prepareToolchain(
  targets: readonly Target[],
  reporter: Reporter,
): Promise<{ zig: string; cargoZigbuild: string; uv: string | null; rustTargets: Record<string, 'installed' | 'unchecked (no rustup)'> }> {
  const zig = await findZigToolchain(reporter);
  const uv = (await findUv(reporter)) ?? null;
  const rustTargets: Record<string, 'installed' | 'unchecked (no rustup)'> = {};
  for (const t of targets) rustTargets[t.stub.rustTarget] = (await ensureRustTarget(t.stub.rustTarget, reporter)) ? 'installed' : 'unchecked (no rustup)';
  return { zig: zig.zig, cargoZigbuild: zig.cargoZigbuild, uv, rustTargets };
}
