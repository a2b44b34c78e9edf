/**
 * Staging: each wheel installed (PEP 427, by the Rust installer the launcher
 * shares) into a tree of its own, byte-compiled for the distribution's Python,
 * and named as a blob. Stages are cached by wheel hash, Python version and
 * options, so a rebuild only stages wheels it has not seen.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { type BuildCache, CACHE_LAYOUT, publishDir } from './cache.js';
import type { Distribution } from './distribution.js';
import { native, UserError } from './errors.js';
import type { WheelInfo } from './manifest.js';
import { type BlobHash, nativeAddon } from './native.js';
import { CLEAN_PYTHON_ENV, lastLine, runCaptured } from './process.js';
import type { Reporter } from './progress.js';

/** Every file in a wheel blob gets this mtime (1980-01-01, the zip epoch), so
 * the same wheel makes the same blob on any machine on any day. */
export const WHEEL_MTIME = 315532800;

export interface StagedWheel {
  wheel: string;
  sha256: string;
  info: WheelInfo;
  dir: string;
  blob: BlobHash;
}

interface StageMeta {
  info: WheelInfo;
  blob: BlobHash;
}

export interface StageOptions {
  /** Byte-compile with this interpreter (absolute path), or not at all. */
  compileWith?: string;
}

export async function stageWheels(
  wheels: readonly { path: string; sha256: string }[],
  dist: Distribution,
  options: StageOptions,
  cache: BuildCache,
  reporter: Reporter,
): Promise<StagedWheel[]> {
  const stagesDir = await cache.ensureDir('stages');
  const keyOf = (sha256: string) =>
    createHash('sha256')
      .update(JSON.stringify([CACHE_LAYOUT, sha256, `${dist.major}.${dist.minor}${dist.freethreaded ? "t" : ""}`, options.compileWith ? "compiled" : "plain"]))
      .digest('hex')
      .slice(0, 32);

  const result: (StagedWheel | undefined)[] = [];
  const fresh: { index: number; tmp: string; key: string }[] = [];
  for (const [index, wheel] of wheels.entries()) {
    const key = keyOf(wheel.sha256);
    const metaPath = join(stagesDir, key, 'meta.json');
    if (existsSync(metaPath)) {
      const meta = JSON.parse(await readFile(metaPath, 'utf8')) as StageMeta;
      result[index] = { wheel: wheel.path, sha256: wheel.sha256, info: meta.info, dir: join(stagesDir, key, 'tree'), blob: meta.blob };
    } else {
      fresh.push({ index, tmp: cache.temp(stagesDir, key), key });
    }
  }
  if (fresh.length === 0) return result as StagedWheel[];

  const task = reporter.task(`installing ${fresh.length} wheel${fresh.length === 1 ? '' : 's'}`);
  try {
    const infos: WheelInfo[] = [];
    for (const item of fresh) {
      infos.push(await native(() => nativeAddon().installWheel(wheels[item.index]!.path, join(item.tmp, 'tree'))));
    }
    if (options.compileWith) {
      task.label(`byte-compiling ${fresh.length} wheel${fresh.length === 1 ? '' : 's'}`);
      await byteCompile(options.compileWith, fresh.map((f) => join(f.tmp, 'tree')));
    }
    for (const [i, item] of fresh.entries()) {
      const wheel = wheels[item.index]!;
      const info = infos[i]!;
      const blob = await native(() => nativeAddon().hashBlob({ dir: join(item.tmp, 'tree'), mtime: WHEEL_MTIME }));
      await writeFile(join(item.tmp, 'meta.json'), JSON.stringify({ info, blob } satisfies StageMeta));
      // Tree and metadata appear together, by one rename; a concurrent build
      // that got there first keeps its equal copy.
      await publishDir(item.tmp, join(stagesDir, item.key));
      result[item.index] = { wheel: wheel.path, sha256: wheel.sha256, info, dir: join(stagesDir, item.key, 'tree'), blob };
    }
  } finally {
    task.end();
    await Promise.all(fresh.map((f) => rm(f.tmp, { recursive: true, force: true })));
  }
  return result as StagedWheel[];
}

/**
 * Compiles each tree's site-packages with unchecked-hash pycs (PEP 552): the
 * cache trees never change, so Python need not stat sources to trust them.
 * Files that do not compile (Python 2 leftovers, templates) are skipped, as
 * pip does. Recorded file names are relative (`site-packages/...`); Python
 * points them at the real location when it loads the pyc.
 */
const COMPILE_SCRIPT = `
import compileall, os, py_compile, sys
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
for root in sys.argv[1:]:
    site = os.path.join(root, "site-packages")
    if os.path.isdir(site):
        compileall.compile_dir(site, ddir="site-packages", quiet=2, invalidation_mode=mode, workers=1)
`;

async function byteCompile(python: string, trees: string[]): Promise<void> {
  // Two interpreters share the work: trees are independent.
  const groups: string[][] = [[], []];
  trees.forEach((t, i) => groups[i % 2]!.push(t));
  await Promise.all(groups.filter((g) => g.length > 0).map((g) => runPython(python, ['-c', COMPILE_SCRIPT, ...g])));
}

async function runPython(python: string, args: string[]): Promise<void> {
  const hint = 'pass --no-compile to skip byte-compilation';
  const r = await runCaptured(python, args, {
    env: CLEAN_PYTHON_ENV,
    cannotStart: (err) => new UserError(`cannot run the distribution's Python ${python} to byte-compile: ${err.message}`, hint),
  });
  if (r.code !== 0) throw new UserError(`byte-compiling with ${basename(python)} failed (exit ${r.code}): ${lastLine(r.output, '')}`, hint);
}
