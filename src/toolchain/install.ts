/**
 * Fetching a pinned tool on first need: the wheel for this machine is found
 * on the package index (PyPI by default, or PYSEAL_TOOLS_INDEX_URL /
 * PIP_INDEX_URL), downloaded and checked against its pinned sha256, installed
 * by the Rust wheel installer into `<tools>/<project>-<version>/` (a temp dir,
 * then one rename), and reused from then on by every build and build cache.
 *
 *   <tools>/downloads/          the wheels, by sha256
 *   <tools>/<project>-<version>/  the installed tree (bin/, site-packages/)
 *
 * `<tools>` is PYSEAL_TOOLS_DIR, else `pyseal-tools` beside the default
 * build cache: it is shared by all build caches, so tests and CI runs that
 * use fresh build caches fetch nothing.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

import { BuildCache, publishDir } from '../cache.js';
import { Credentials } from '../credentials.js';
import { native, UserError } from '../errors.js';
import { fetchText, fetchToCache } from '../fetch.js';
import { nativeAddon } from '../native.js';
import type { Reporter } from '../progress.js';
import { hostTriple } from '../targets/index.js';
import type { PinnedTool } from './pinned.js';

export function toolsRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PYSEAL_TOOLS_DIR) return resolve(env.PYSEAL_TOOLS_DIR);
  if (process.platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'pyseal', 'tools');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'pyseal-tools');
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'pyseal-tools');
}

/** Where the tool's program is once installed (it may not be yet). */
export function toolProgram(tool: PinnedTool): string {
  return join(toolsRoot(), `${tool.project}-${tool.version}`, `${tool.program}${process.platform === 'win32' ? '.exe' : ''}`);
}

/** The tool's program, fetched and installed first if this machine lacks it. */
export async function ensureTool(tool: PinnedTool, reporter: Reporter): Promise<string> {
  const program = toolProgram(tool);
  if (existsSync(program)) return program;
  const host = hostTriple();
  const pin = tool.wheels[host];
  if (!pin) {
    throw new UserError(`pyseal has no ${tool.project} ${tool.version} pinned for this machine (${host})`, `install ${tool.project} and put it on PATH`);
  }
  const root = toolsRoot();
  const cache = new BuildCache(root);
  const index = (process.env.PYSEAL_TOOLS_INDEX_URL || process.env.PIP_INDEX_URL || 'https://pypi.org/simple').replace(/\/+$/, '');
  const credentials = Credentials.from({ indexUrl: index, extraIndexUrls: [], findLinks: [], noIndex: false });
  const hint = `pyseal fetches ${tool.project} ${tool.version} from ${index} on first need; set PYSEAL_TOOLS_INDEX_URL to an index that has ${pin.file}, or put ${tool.project} on PATH`;
  const url = await findFile(`${index}/${tool.project}/`, pin.file, credentials, hint);
  const wheel = await fetchToCache({ url, sha256: pin.sha256, label: pin.file }, { cache, reporter, credentials, hint });
  const tmp = cache.temp(await cache.ensureDir(), tool.project);
  const task = reporter.task(`installing ${tool.project} ${tool.version}`);
  try {
    await native(() => nativeAddon().installWheel(wheel, tmp));
    await publishDir(tmp, join(root, `${tool.project}-${tool.version}`));
  } finally {
    task.end();
    await rm(tmp, { recursive: true, force: true });
  }
  if (!existsSync(program)) throw new UserError(`${pin.file} does not hold ${tool.program}`, 'report this: the pinned wheel changed shape');
  return program;
}

/** The URL of `file` on a PEP 691 (JSON) or PEP 503 (HTML) project page. */
async function findFile(page: string, file: string, credentials: Credentials, hint: string): Promise<string> {
  const res = await fetchText(page, { accept: 'application/vnd.pypi.simple.v1+json, text/html;q=0.1', credentials, hint });
  if (res.status !== 200) throw new UserError(`cannot read ${page}: HTTP ${res.status}`, hint);
  let href: string | undefined;
  if (res.contentType.includes('json')) {
    href = ((JSON.parse(res.text) as { files?: { filename: string; url: string }[] }).files ?? []).find((f) => f.filename === file)?.url;
  } else {
    href = [...res.text.matchAll(/<a [^>]*href="([^"]+)"[^>]*>\s*([^<]+?)\s*<\/a>/g)].find((m) => m[2] === file)?.[1];
  }
  if (!href) throw new UserError(`${page} does not list ${file}`, hint);
  return new URL(href.replace(/&amp;/g, '&'), page).href.replace(/#.*$/, '');
}
