// @ts-check
/**
 * Regenerates catalog/python.json from python-build-standalone SHA256SUMS files.
 *
 *   node scripts/python-catalog.mjs catalog/sums/*.SHA256SUMS > catalog/python.json
 *   node scripts/python-catalog.mjs --fetch 20241008      # saves catalog/sums/20241008.SHA256SUMS first
 *
 * A SHA256SUMS file is what each release publishes: `<sha256>  <asset>` per
 * line. Only install_only / install_only_stripped archives for the triples in
 * pyseal's target table are kept. `--fetch TAG` downloads a release's file from
 * PYSEAL_PYTHON_MIRROR or GitHub (needs `npm run build` for the fetcher).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { TARGETS } from '../dist/targets.js';

export const DEFAULT_SOURCE = 'https://github.com/astral-sh/python-build-standalone/releases/download';
const ROOT = join(import.meta.dirname, '..');
const ASSET = /^cpython-(\d+)\.(\d+)\.(\d+)\+(\d+)-(.+)-(install_only_stripped|install_only)\.tar\.(gz|zst)$/;

/**
 * @param {string} text contents of a SHA256SUMS file
 * @returns {{ version: string, tag: string, target: string, flavor: string, asset: string, sha256: string }[]}
 */
export function parseSums(text) {
  const triples = new Map(TARGETS.map((t) => [t.distributionTriple, t.triple]));
  const entries = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(\S+)\s*$/.exec(line.trim());
    if (!m) continue;
    const [, sha256, asset] = /** @type {[string, string, string]} */ (m);
    const a = ASSET.exec(asset);
    if (!a) continue;
    const target = triples.get(/** @type {string} */ (a[5]));
    if (!target) continue;
    entries.push({ version: `${a[1]}.${a[2]}.${a[3]}`, tag: /** @type {string} */ (a[4]), target, flavor: /** @type {string} */ (a[6]), asset, sha256 });
  }
  return entries;
}

/** @param {string} v */
const versionKey = (v) => v.split('.').map((n) => n.padStart(4, '0')).join('.');

/** @param {ReturnType<typeof parseSums>} entries */
export function makeCatalog(entries) {
  const unique = new Map(entries.map((e) => [e.asset, e]));
  const pythons = [...unique.values()].sort(
    (a, b) => versionKey(b.version).localeCompare(versionKey(a.version)) || b.tag.localeCompare(a.tag) || a.target.localeCompare(b.target) || a.flavor.localeCompare(b.flavor),
  );
  return { format: 1, source: DEFAULT_SOURCE, pythons };
}

async function fetchSums(tag) {
  const { fetchText } = await import('../dist/fetch.js');
  const base = process.env.PYSEAL_PYTHON_MIRROR || DEFAULT_SOURCE;
  const url = `${base.replace(/\/$/, '')}/${tag}/SHA256SUMS`;
  const { status, text } = await fetchText(url);
  if (status !== 200) throw new Error(`${url}: HTTP ${status}`);
  const dir = join(ROOT, 'catalog', 'sums');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${tag}.SHA256SUMS`), text);
  return join(dir, `${tag}.SHA256SUMS`);
}

if (process.argv[1] === import.meta.filename) {
  const args = process.argv.slice(2);
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--fetch') files.push(await fetchSums(args[++i]));
    else files.push(args[i]);
  }
  if (files.length === 0) {
    console.error('usage: node scripts/python-catalog.mjs [--fetch TAG] [SHA256SUMS...] > catalog/python.json');
    process.exit(2);
  }
  const entries = files.flatMap((f) => parseSums(readFileSync(/** @type {string} */ (f), 'utf8')));
  process.stderr.write(`python-catalog: ${entries.length} archives from ${files.map((f) => basename(/** @type {string} */ (f))).join(', ')}\n`);
  process.stdout.write(`${JSON.stringify(makeCatalog(entries), null, 2)}\n`);
}
