/**
 * The build cache: everything pyseal can reuse between builds of any app.
 *
 *   downloads/<sha256>           fetched files, named by content (<sha256>.partial: unfinished)
 *   named/<sha256>/<filename>    the same files under their own names (hard links)
 *   build-envs/<key>/            PEP 517 build environments, by requirement set
 *   built/<key>/                 wheels built from source, by a hash of the source
 *   sdists/<sha256>/             unpacked sdists
 *   distributions/<sha256>-<layout>/  unpacked distribution archive (tree/) and what it is (meta.json)
 *   stages/<key>/                an installed, byte-compiled wheel (tree/) and its metadata (meta.json)
 *   blobs/<sha256>.<level>.zst   compressed blobs
 *   stubs/<key>/                 compiled launcher stubs
 *   tools/<key>/                 the network-capable launcher, as a lazy build's `tool` blob tree
 *   cargo/, cargo-min-size/      cargo's target directories for stub builds (standard, std rebuilt for size)
 *
 * Entries appear by rename once complete, so a crashed build leaves at worst an
 * unused `.tmp-<pid>-*` behind, never a half-written entry; the next build
 * removes those whose process is gone (`clearDebris`).
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Bumped whenever an entry's layout changes, and part of every entry's name, so
 * a newer pyseal never mistakes an older one's entry for its own.
 */
export const CACHE_LAYOUT = 3;

export function buildCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PYSEAL_BUILD_CACHE) return resolve(env.PYSEAL_BUILD_CACHE);
  if (process.platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'pyseal', 'build');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'pyseal-build');
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'pyseal-build');
}

export class BuildCache {
  constructor(readonly root: string) {}

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /**
   * A fresh temp path inside `dir` for work that is renamed into place when
   * done. The owner's pid comes first, so debris can be told from work in progress.
   */
  temp(dir: string, label: string): string {
    return join(dir, `.tmp-${process.pid}-${label}-${Math.random().toString(36).slice(2, 8)}`);
  }

  /**
   * Removes what killed builds left: `.tmp-<pid>-*` entries, one level down in
   * the cache's directories, older than `before` and whose process no longer
   * runs. A live process's temps (this one's, or another build's) stay. Never
   * fails a build: debris that cannot be removed now is left for later.
   */
  async clearDebris(before: number): Promise<number> {
    let removed = 0;
    const dirs = [this.root, ...(await subdirs(this.root)), ...(await subdirs(this.path('named')))];
    for (const dir of dirs) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
        if (!pid || pid === process.pid || alive(pid)) continue;
        const path = join(dir, name);
        const info = await lstat(path).catch(() => undefined);
        if (!info || info.mtimeMs >= before) continue;
        // An interrupted download goes back to being a partial one, which the
        // next fetch of that file continues with a Range request.
        const download = dir === this.path('downloads') && /^\.tmp-\d+-([0-9a-f]{64})-/.exec(name)?.[1];
        if (download && info.isFile() && !existsSync(join(dir, `${download}.partial`))) {
          await rename(path, join(dir, `${download}.partial`)).then(
            () => removed++,
            () => {},
          );
          continue;
        }
        await rm(path, { recursive: true, force: true }).then(
          () => removed++,
          () => {},
        );
      }
    }
    return removed;
  }

  async ensureDir(...parts: string[]): Promise<string> {
    const dir = this.path(...parts);
    await mkdir(dir, { recursive: true });
    return dir;
  }
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => join(dir, e.name));
}

/** Whether a process with this pid exists (EPERM: it does, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Publishes a finished temp directory. When another build published the same
 * entry first, keeps theirs (entries are content-addressed, so they are equal).
 */
export async function publishDir(tmp: string, dest: string): Promise<void> {
  try {
    await rename(tmp, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      await rm(tmp, { recursive: true, force: true });
      return;
    }
    throw err;
  }
}
