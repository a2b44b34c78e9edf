// @ts-check
/**
 * Regenerates catalog/python.json from the facts in catalog/sources/:
 *
 *   node scripts/python-catalog.mjs catalog/sources/* > catalog/python.json
 *   node scripts/python-catalog.mjs --fetch 20260901   # saves catalog/sources/20260901.SHA256SUMS first
 *
 * Two shapes of source are read (needs `npm run build`, for the PEP 440 order):
 *   - `*.SHA256SUMS`: what each python-build-standalone release publishes,
 *     `<sha256>  <asset>` per line;
 *   - `*.json`: uv's `download-metadata.json` shape (uv, MIT OR Apache-2.0):
 *     one object per CPython build with `url`, `sha256`, `build`, `variant`.
 * Only install_only / install_only_stripped archives for the eight triples
 * python-build-standalone ships (x86_64/aarch64 x linux-gnu, linux-musl,
 * apple-darwin, pc-windows-msvc) are kept, whether or not pyseal can build for
 * them yet. `--fetch TAG` downloads a release's SHA256SUMS from
 * PYSEAL_PYTHON_MIRROR or GitHub.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { compareVersions, parseVersion } from '../dist/pep440.js';

export const DEFAULT_SOURCE = 'https://github.com/astral-sh/python-build-standalone/releases/download';
const ROOT = join(import.meta.dirname, '..');
export const TRIPLES = [
  'x86_64-unknown-linux-gnu',
  'aarch64-unknown-linux-gnu',
  'x86_64-unknown-linux-musl',
  'aarch64-unknown-linux-musl',
  'x86_64-apple-darwin',
  'aarch64-apple-darwin',
  'x86_64-pc-windows-msvc',
  'aarch64-pc-windows-msvc',
];
/** `cpython-3.14.0rc1+20250918-x86_64-unknown-linux-gnu-freethreaded-install_only_stripped.tar.gz` */
const ASSET = /^cpython-(\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)\+(\d+)-(.+?)(-freethreaded)?-(install_only_stripped|install_only)\.tar\.(gz|zst)$/;

/**
 * @typedef {{ version: string, tag: string, target: string, variant: 'default' | 'freethreaded', flavor: string, asset: string, sha256: string }} Entry
 */

/**
 * One catalog entry from an asset name and its hash, or null for other assets.
 * @param {string} asset @param {string} sha256
 * @returns {Entry | null}
 */
export function entryOf(asset, sha256) {
  const a = ASSET.exec(asset);
  if (!a || !TRIPLES.includes(/** @type {string} */ (a[3])) || !/^[0-9a-f]{64}$/.test(sha256)) return null;
  return {
    version: /** @type {string} */ (a[1]),
    tag: /** @type {string} */ (a[2]),
    target: /** @type {string} */ (a[3]),
    variant: a[4] ? 'freethreaded' : 'default',
    flavor: /** @type {string} */ (a[5]),
    asset,
    sha256,
  };
}

/** @param {string} text contents of a SHA256SUMS file */
export function parseSums(text) {
  const entries = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(\S+)\s*$/.exec(line.trim());
    const entry = m && entryOf(/** @type {string} */ (m[2]), /** @type {string} */ (m[1]));
    if (entry) entries.push(entry);
  }
  return entries;
}

/**
 * uv's download metadata: `{ "<key>": { url, sha256, ... }, ... }`. Only
 * python-build-standalone's own release URLs are taken, by their asset name.
 * @param {string} text
 */
export function parseDownloadMetadata(text) {
  /** @type {Record<string, { url?: unknown, sha256?: unknown }>} */
  const doc = JSON.parse(text);
  const entries = [];
  for (const item of Object.values(doc)) {
    if (typeof item.url !== 'string' || typeof item.sha256 !== 'string' || !item.url.startsWith(`${DEFAULT_SOURCE}/`)) continue;
    const entry = entryOf(decodeURIComponent(item.url.slice(item.url.lastIndexOf('/') + 1)), item.sha256);
    if (entry) entries.push(entry);
  }
  return entries;
}

/** @param {string} v */
const pep440 = (v) => /** @type {import('../dist/pep440.js').Version} */ (parseVersion(v));

/**
 * Newest version first (PEP 440: 3.15.0rc1 < 3.15.0), then newest release,
 * then target, variant and flavor, so the output is stable.
 * @param {Entry[]} entries
 */
export function makeCatalog(entries) {
  const unique = new Map(entries.map((e) => [e.asset, e]));
  const pythons = [...unique.values()].sort(
    (a, b) =>
      compareVersions(pep440(b.version), pep440(a.version)) ||
      b.tag.localeCompare(a.tag) ||
      a.target.localeCompare(b.target) ||
      a.variant.localeCompare(b.variant) ||
      a.flavor.localeCompare(b.flavor),
  );
  return { format: 1, source: DEFAULT_SOURCE, pythons };
}

/**
 * One archive per line: readable, and a new release shows as added lines.
 * @param {ReturnType<typeof makeCatalog>} catalog
 */
export function formatCatalog(catalog) {
  const lines = catalog.pythons.map((e) => `  ${JSON.stringify(e)}`);
  return `{"format": ${catalog.format}, "source": ${JSON.stringify(catalog.source)}, "pythons": [\n${lines.join(',\n')}\n]}\n`;
}

/** @param {string} file */
function readSource(file) {
  const text = readFileSync(file, 'utf8');
  return file.endsWith('.json') ? parseDownloadMetadata(text) : parseSums(text);
}

/** @param {string} tag */
async function fetchSums(tag) {
  const { fetchText } = await import('../dist/fetch.js');
  const base = process.env.PYSEAL_PYTHON_MIRROR || DEFAULT_SOURCE;
  const url = `${base.replace(/\/$/, '')}/${tag}/SHA256SUMS`;
  const { status, text } = await fetchText(url);
  if (status !== 200) throw new Error(`${url}: HTTP ${status}`);
  const dir = join(ROOT, 'catalog', 'sources');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${tag}.SHA256SUMS`), text);
  return join(dir, `${tag}.SHA256SUMS`);
}

if (process.argv[1] === import.meta.filename) {
  const args = process.argv.slice(2);
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--fetch') files.push(await fetchSums(/** @type {string} */ (args[++i])));
    else files.push(/** @type {string} */ (args[i]));
  }
  if (files.length === 0) {
    console.error('usage: node scripts/python-catalog.mjs [--fetch TAG] [SOURCE...] > catalog/python.json');
    process.exit(2);
  }
  const entries = files.flatMap(readSource);
  process.stderr.write(`python-catalog: ${entries.length} archives from ${files.map((f) => basename(f)).join(', ')}\n`);
  process.stdout.write(formatCatalog(makeCatalog(entries)));
}
