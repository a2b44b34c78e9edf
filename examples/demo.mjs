// @ts-check
/**
 * `npm run demo`: turns examples/hello into one executable and runs it twice,
 * showing the first run (installs into a fresh cache) and a warm start.
 *
 * The CPython distribution is made from one installed on this machine (see
 * test/fixtures/python.mjs for what it needs), since python-build-standalone's
 * downloads may be out of reach.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { fixturePython } from '../test/fixtures/python.mjs';
import { makeWheel } from '../test/fixtures/wheels.mjs';

const ROOT = join(import.meta.dirname, '..');
const PROJECT = join(ROOT, 'examples', 'hello');
const say = (s) => console.log(`\x1b[1m==> ${s}\x1b[0m`);

say('making a python-build-standalone style CPython from this machine');
const py = fixturePython();
console.log(`    ${relative(ROOT, py.archive)} (CPython ${py.version})`);

say('building the example app\'s wheel');
const src = join(PROJECT, 'src');
const files = {};
for (const file of readdirSync(join(src, 'hello_pyseal'))) {
  if (file.endsWith('.py')) files[`hello_pyseal/${file}`] = readFileSync(join(src, 'hello_pyseal', file), 'utf8');
}
const wheel = makeWheel({ name: 'hello-pyseal', version: '0.1.0', out: join(PROJECT, 'dist'), console_scripts: { 'hello-pyseal': 'hello_pyseal.cli:main' }, files });
console.log(`    ${relative(ROOT, wheel)}`);

say('pyseal build examples/hello');
const out = join(PROJECT, 'dist', 'hello-pyseal');
execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'build', PROJECT, '--distribution', py.archive, '--wheel', wheel, '--out', out], { stdio: 'inherit' });

const home = mkdtempSync(join(tmpdir(), 'pyseal-demo-home-'));
for (const label of ['first run (unpacks into a fresh cache)', 'second run (starts at once)']) {
  say(`${relative(ROOT, out)} demo   # ${label}`);
  const start = process.hrtime.bigint();
  const r = spawnSync(out, ['demo'], { env: { ...process.env, PYSEAL_HOME: home }, stdio: 'inherit' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) process.exit(r.status ?? 1);
  console.log(`    took ${ms.toFixed(0)} ms`);
}
say(`${relative(ROOT, out)} self info`);
spawnSync(out, ['self', 'info'], { env: { ...process.env, PYSEAL_HOME: home }, stdio: 'inherit' });

// The same app in lazy mode: CPython is written to a directory that a local
// server hosts, and fetched by the executable on its first run.
const hosted = join(PROJECT, 'dist', 'hosted');
const hostedFiles = new Map();
const server = createServer((req, res) => {
  const body = hostedFiles.get(decodeURIComponent(req.url ?? ''));
  if (body) res.writeHead(200, { 'content-length': body.length }).end(body);
  else res.writeHead(404).end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
say(`pyseal build examples/hello --mode lazy --blobs-dir examples/hello/dist/hosted --blobs-url ${base}`);
const lazy = join(PROJECT, 'dist', 'hello-pyseal-lazy');
execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'build', PROJECT, '--distribution', py.archive, '--wheel', wheel, '--mode', 'lazy', '--blobs-dir', hosted, '--blobs-url', base, '--out', lazy], { stdio: 'inherit' });
for (const name of readdirSync(hosted)) hostedFiles.set(`/${name}`, readFileSync(join(hosted, name)));
console.log(`    ${(statSync(lazy).size / 1e6).toFixed(2)} MB, against ${(statSync(out).size / 1e6).toFixed(2)} MB embedded`);
const lazyHome = mkdtempSync(join(tmpdir(), 'pyseal-demo-lazy-'));
say(`${relative(ROOT, lazy)} lazy   # first run: downloads CPython, then runs`);
const code = await new Promise((resolve) => spawn(lazy, ['lazy'], { env: { ...process.env, PYSEAL_HOME: lazyHome }, stdio: 'inherit' }).on('close', resolve));
server.close();
if (code !== 0) process.exit(code ?? 1);
console.log(`\nThe caches used here are ${home} and ${lazyHome}; without PYSEAL_HOME it is ~/.cache/pyseal.`);
