// @ts-check
/**
 * `npm run bench`: builds a hello-world app and measures, side by side in one run:
 *   - cold build (stub compiled by cargo, blobs compressed) and warm rebuild
 *   - executable and stub size
 *   - first run beside `tar -I zstd -xf` of the same blobs (the floor)
 *   - warm start beside the same app in a plain venv of the same CPython
 *
 * Timings are medians of interleaved runs. Set BENCH_RUNS to change the count.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { fixturePython } from '../test/fixtures/python.mjs';
import { demoApp } from '../test/fixtures/wheels.mjs';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const LEVEL = Number(process.env.BENCH_LEVEL ?? 19);

const work = mkdtempSync(join(tmpdir(), 'pyseal-bench-'));
const cacheDir = join(work, 'build-cache');
const log = (s) => process.stderr.write(`${s}\n`);

/** @param {() => void} fn */
function time(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** @param {string} cmd @param {string[]} args @param {NodeJS.ProcessEnv} [env] */
function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.toString();
}

log('bench: preparing fixtures (CPython from this machine, demo wheels)');
const py = fixturePython();
const wheels = join(work, 'wheels');
const demo = demoApp(wheels);

const buildArgs = (out) => ['build', '--distribution', py.archive, '--wheel', demo.app, '--wheel', demo.lib, '--out', out, '--level', String(LEVEL), '--quiet'];
const buildEnv = { PYSEAL_BUILD_CACHE: cacheDir };

log('bench: cold build (compiles the launcher stub, compresses every blob)');
const exe = join(work, 'hello');
const coldBuild = time(() => run(process.execPath, [CLI, ...buildArgs(exe)], buildEnv));
log('bench: warm rebuilds');
const warmBuilds = [];
for (let i = 0; i < 5; i++) warmBuilds.push(time(() => run(process.execPath, [CLI, ...buildArgs(join(work, `hello-rebuild-${i}`))], buildEnv)));
const demo2 = demoApp(join(work, 'wheels2'), { version: '1.0.1', greeting: 'hi' });
const changedBuild = time(() =>
  run(process.execPath, [CLI, 'build', '--distribution', py.archive, '--wheel', demo2.app, '--wheel', demo2.lib, '--out', join(work, 'hello-changed'), '--level', String(LEVEL), '--quiet'], buildEnv),
);

const inspection = JSON.parse(run(process.execPath, [CLI, 'inspect', '--json', exe]));
const exeSize = statSync(exe).size;
const stubSize = inspection.stubSize;

// Lazy: the distribution and the dependency are written to a directory that a
// loopback server hosts, and fetched on first run.
log('bench: lazy build (Python and the dependency fetched on first run)');
const hosted = join(work, 'hosted');
const files = new Map();
const server = createServer((req, res) => {
  const body = files.get(decodeURIComponent(req.url ?? ''));
  if (!body) return res.writeHead(404).end();
  res.writeHead(200, { 'content-length': body.length }).end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
const lazyExe = join(work, 'hello-lazy');
run(process.execPath, [CLI, ...buildArgs(lazyExe), '--mode', 'lazy', '--blobs-dir', hosted, '--blobs-url', base], buildEnv);
for (const name of readdirSync(hosted)) files.set(`/${name}`, readFileSync(join(hosted, name)));
const lazySize = statSync(lazyExe).size;
const lazyInfo = JSON.parse(run(process.execPath, [CLI, 'inspect', '--json', lazyExe]));
const tool = lazyInfo.manifest.blobs.find((b) => b.kind === 'tool');
const stubDir = join(cacheDir, 'stubs');
const stubSizes = readdirSync(stubDir).map((k) => ({ size: statSync(join(stubDir, k, 'pyseal-launcher')).size, variant: readFileSync(join(stubDir, k, 'variant'), 'utf8') }));
// The embedded executable's own stub (the stubs directory also holds the lazy tool's).
const hostStub = JSON.parse(run(process.execPath, [CLI, 'inspect', '--json', exe])).stubSize;
const toolStub = Math.max(...stubSizes.map((s) => s.size));
/** Runs without blocking this process, which serves the files. */
const runAsync = (cmd, args, env) =>
  new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
    child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t) / 1e6) : reject(new Error(`${cmd} exited ${code}`))));
  });
const lazyRuns = [];
const embeddedFirst = [];
log(`bench: lazy first runs vs embedded first runs (${RUNS} each, interleaved)`);
for (let i = 0; i < RUNS; i++) {
  execFileSync('sync');
  lazyRuns.push(await runAsync(lazyExe, ['bench'], { PYSEAL_HOME: join(work, `lazy-home-${i}`) }));
  execFileSync('sync');
  embeddedFirst.push(await runAsync(exe, ['bench'], { PYSEAL_HOME: join(work, `emb-home-${i}`) }));
}
server.close();

// The floor: the same blob frames unpacked by tar and zstd, one after another.
const blobFiles = inspection.manifest.blobs.map((b) => join(cacheDir, 'blobs', `${b.sha256}.${LEVEL}.zst`));
const firstRuns = [];
const tarRuns = [];
log(`bench: first runs vs tar -I zstd (${RUNS} each, interleaved)`);
for (let i = 0; i < RUNS; i++) {
  const home = join(work, `home-${i}`);
  // Each timed run starts with nothing dirty waiting for the disk.
  execFileSync('sync');
  firstRuns.push(time(() => run(exe, ['bench'], { PYSEAL_HOME: home })));
  const dest = join(work, `tar-${i}`);
  execFileSync('sync');
  tarRuns.push(
    time(() => {
      for (const [j, f] of blobFiles.entries()) {
        const d = join(dest, String(j));
        mkdirSync(d, { recursive: true });
        execFileSync('tar', ['-I', 'zstd', '-xf', f, '-C', d]);
      }
    }),
  );
}
// Trees are deleted only after all timings: on ext4 mounted with `discard`,
// deleting 80 MB slows whatever runs next.

log('bench: plain venv with the same CPython and wheels');
const venv = join(work, 'venv');
run(py.python, ['-m', 'venv', venv]);
run(join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '-q', '--no-index', '--no-deps', demo.app, demo.lib], { PIP_FIND_LINKS: '' });
const venvCmd = join(venv, 'bin', demo.name);
const warmHome = { PYSEAL_HOME: join(work, 'home-0') };
run(exe, ['warm-up'], warmHome);
run(venvCmd, ['warm-up']);
// What pyseal runs on a warm start, minus the launcher: the environment's
// Python on the same entry script. The difference is the launcher's cost.
const envDir = run(exe, ['--where'], warmHome).split('\n')[1];
const entryScript = join(envDir, 'bin', 'pyseal-entry.py');
const venvPython = join(venv, 'bin', 'python');
const warmRuns = [];
const venvRuns = [];
const bareRuns = [];
log(`bench: warm starts vs plain venv (${RUNS * 4} each, interleaved)`);
for (let i = 0; i < RUNS * 4; i++) {
  warmRuns.push(time(() => run(exe, ['bench'], warmHome)));
  venvRuns.push(time(() => run(venvCmd, ['bench'])));
  bareRuns.push(time(() => run(venvPython, [entryScript, venvCmd, 'bench'])));
}

const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
const kb = (n) => `${(n / 1e3).toFixed(0)} KB`;
const ms = (n) => `${n.toFixed(1)} ms`;
const first = median(firstRuns);
const floor = median(tarRuns);
const warm = median(warmRuns);
const plain = median(venvRuns);
const bare = median(bareRuns);
const rows = [
  ['cold build (stub compiled)', ms(coldBuild), ''],
  ['warm rebuild (nothing changed)', ms(median(warmBuilds)), 'target <= 1000 ms'],
  ['rebuild after an app change', ms(changedBuild), ''],
  ['executable size', mb(exeSize), `zstd level ${LEVEL}`],
  ['embedded stub size', kb(stubSize), `target <= 800 KB (${stubSizes[0].variant} build)`],
  ['lazy tool (network launcher)', kb(toolStub), `inside the payload as a zstd blob of ${kb(tool.source.payload.length)}`],
  ['lazy executable size', mb(lazySize), 'target <= 1.5 MB'],
  ['lazy first run (loopback)', ms(median(lazyRuns)), `fetches ${mb(lazyInfo.manifest.blobs.filter((b) => b.source.url).reduce((n, b) => n + b.source.url.size, 0))}`],
  ['embedded first run, same moment', ms(median(embeddedFirst)), ''],
  ['first run', ms(first), ''],
  ['tar -I zstd -xf, same blobs', ms(floor), ''],
  ['first run / tar floor', `${(first / floor).toFixed(2)}x`, 'target <= 1.5x'],
  ['warm start', ms(warm), ''],
  ['plain venv: console script', ms(plain), 'pip\'s wrapper (imports re)'],
  ['plain venv: python + entry script', ms(bare), 'the same script pyseal runs'],
  ['warm start / venv console script', `${(warm / plain).toFixed(3)}x`, 'target <= 1.05x'],
  ['warm start / venv python + script', `${(warm / bare).toFixed(3)}x`, 'launcher overhead alone'],
];
const updateRows = await updateFigures();
const crossRows = process.env.BENCH_CROSS === '0' ? [] : await crossTargets();
const desktopRows = process.env.BENCH_CROSS === '0' ? [] : await desktopTargets();
const width = Math.max(...[...rows, ...updateRows, ...crossRows, ...desktopRows].map((r) => r[0].length));
console.log(`pyseal bench: CPython ${py.version}, demo app ${demo.name} + 1 dependency, ${RUNS} runs (medians)`);
for (const [k, v, note] of rows) console.log(`  ${k.padEnd(width)}  ${v.padStart(10)}  ${note}`);
console.log('self update (loopback HTTP, a patch release that changes only the app\'s code):');
for (const [k, v, note] of updateRows) console.log(`  ${k.padEnd(width)}  ${v.padStart(10)}  ${note}`);
if (crossRows.length) {
  console.log('other Linux targets (built here; aarch64 run under qemu-user):');
  for (const [k, v, note] of crossRows) console.log(`  ${k.padEnd(width)}  ${v.padStart(10)}  ${note}`);
}
if (desktopRows.length) {
  console.log('Windows and macOS (built here; Windows run under Wine with a stand-in python.exe):');
  for (const [k, v, note] of desktopRows) console.log(`  ${k.padEnd(width)}  ${v.padStart(10)}  ${note}`);
}
rmSync(work, { recursive: true, force: true });

/**
 * The same app for the other Linux targets: a cold build (the stub compiled
 * by cargo-zigbuild, after the host's: shared dependencies are built once)
 * and a warm rebuild per target, each stub's size, and the aarch64
 * executable's first run and warm start under qemu beside the aarch64
 * interpreter's own `python -c pass` under qemu (absolute qemu times mean
 * nothing; the ratio does).
 */
async function crossTargets() {
  const { ensureAarch64Runner, fixturePythonAarch64 } = await import('../test/fixtures/python-aarch64.mjs');
  const { fixturePythonMusl, fixturePythonMuslAarch64 } = await import('../test/fixtures/python-musl.mjs');
  log('bench: fixtures for the other Linux targets (aarch64 from Debian packages, musl compiled here)');
  ensureAarch64Runner();
  const dists = {
    'aarch64-unknown-linux-gnu': fixturePythonAarch64(),
    'x86_64-unknown-linux-musl': fixturePythonMusl(),
    'aarch64-unknown-linux-musl': fixturePythonMuslAarch64(),
  };
  // Byte-compiled by a CPython of this machine of the same version, as users would pass with --host-python.
  const host311 = fixturePython('3.11');
  const out = [['x86_64-unknown-linux-gnu stub', kb(hostStub), 'glibc <= 2.17']];
  const exes = {};
  for (const [triple, dist] of Object.entries(dists)) {
    const args = (o) => ['build', '--target', triple, '--distribution', dist.archive, '--host-python', host311.python, '--wheel', demo.app, '--wheel', demo.lib, '--out', o, '--level', String(LEVEL), '--quiet'];
    log(`bench: ${triple}: cold build (compiles its stub)`);
    exes[triple] = join(work, `hello-${triple}`);
    const cold = time(() => run(process.execPath, [CLI, ...args(exes[triple])], buildEnv));
    const warmRebuilds = [0, 1, 2].map((i) => time(() => run(process.execPath, [CLI, ...args(join(work, `hello-${triple}-${i}`))], buildEnv)));
    const stub = JSON.parse(run(process.execPath, [CLI, 'inspect', '--json', exes[triple]])).stubSize;
    out.push([`${triple} cold build`, ms(cold), 'stub compiled']);
    out.push([`${triple} warm rebuild`, ms(median(warmRebuilds)), 'target <= 1000 ms']);
    out.push([`${triple} stub`, kb(stub), triple.endsWith('gnu') ? 'glibc <= 2.17' : 'static']);
  }
  const arm = exes['aarch64-unknown-linux-gnu'];
  const armPython = dists['aarch64-unknown-linux-gnu'].python;
  const armFirst = [];
  const armWarm = [];
  const armPass = [];
  const n = Math.max(3, Math.floor(RUNS / 3));
  log(`bench: aarch64 under qemu: first runs, warm starts, python -c pass (${n} each, interleaved)`);
  for (let i = 0; i < n; i++) {
    const home = join(work, `arm-home-${i}`);
    armFirst.push(time(() => run(arm, ['bench'], { PYSEAL_HOME: home })));
    armWarm.push(time(() => run(arm, ['bench'], { PYSEAL_HOME: home })));
    armPass.push(time(() => run(armPython, ['-c', 'pass'])));
  }
  out.push(['aarch64 first run (qemu)', ms(median(armFirst)), '']);
  out.push(['aarch64 warm start (qemu)', ms(median(armWarm)), '']);
  out.push(['aarch64 python -c pass (qemu)', ms(median(armPass)), 'the interpreter alone']);
  out.push(['aarch64 warm start / python -c pass', `${(median(armWarm) / median(armPass)).toFixed(2)}x`, 'the app + launcher over a bare start']);
  return out;
}

/**
 * Windows and macOS: each stub's size, and the Windows launcher's warm start
 * under Wine beside the stand-in python.exe started directly (the launcher
 * has no exec there: the difference is its own start plus one more process,
 * which is what Wine charges most for). macOS cannot run here.
 */
async function desktopTargets() {
  const { ensureWine, standInWindowsPython, zig } = await import('../test/fixtures/windows.mjs');
  log('bench: Windows and macOS stubs (Wine prefix and stand-in python.exe on first use)');
  const wine = ensureWine();
  const out = [];
  const win = join(work, 'hello.exe');
  const py = standInWindowsPython();
  const winArgs = (o) => ['build', '--target', 'x86_64-pc-windows-msvc', '--distribution', py.archive, '--no-compile', '--wheel', demo.app, '--wheel', demo.lib, '--out', o, '--level', String(LEVEL), '--quiet'];
  const cold = time(() => run(process.execPath, [CLI, ...winArgs(win)], buildEnv));
  out.push(['x86_64-pc-windows-msvc cold build', ms(cold), 'stub compiled (x86_64-pc-windows-gnu)']);
  out.push(['x86_64-pc-windows-msvc stub', kb(JSON.parse(run(process.execPath, [CLI, 'inspect', '--json', win])).stubSize), '']);
  for (const arch of ['aarch64', 'x86_64']) {
    // A stand-in macOS tree: a real Mach-O for the target as its interpreter (never run here).
    const root = join(work, `mac-${arch}`);
    mkdirSync(join(root, 'python', 'bin'), { recursive: true });
    mkdirSync(join(root, 'python', 'include', 'python3.12'), { recursive: true });
    writeFileSync(join(root, 'main.c'), 'int main(void) { return 0; }\n');
    run(zig(), ['cc', '-target', `${arch}-macos`, join(root, 'main.c'), '-o', join(root, 'python', 'bin', 'python3.12')]);
    writeFileSync(join(root, 'python', 'include', 'python3.12', 'patchlevel.h'), '#define PY_VERSION "3.12.8"\n');
    const archive = join(work, `cpython-3.12.8-${arch}-apple-darwin-install_only.tar.gz`);
    run('tar', ['-C', root, '-czf', archive, 'python']);
    const exe = join(work, `hello-${arch}-apple-darwin`);
    const macCold = time(() => run(process.execPath, [CLI, 'build', '--target', `${arch}-apple-darwin`, '--distribution', archive, '--no-compile', '--wheel', demo.app, '--wheel', demo.lib, '--out', exe, '--level', String(LEVEL), '--quiet'], buildEnv));
    out.push([`${arch}-apple-darwin cold build`, ms(macCold), 'stub compiled, signed ad hoc']);
    out.push([`${arch}-apple-darwin stub`, kb(JSON.parse(run(process.execPath, [CLI, 'inspect', '--json', exe])).stubSize), '']);
  }
  const home = `Z:${join(work, 'win-home').replaceAll('/', '\\')}`;
  const env = { ...wine, PYSEAL_HOME: home };
  // Wine's helper processes outlive a run and hold inherited pipes open: no pipes.
  const wineRun = (args) => {
    const r = spawnSync('wine', args, { env: { ...process.env, ...env }, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`wine ${args.join(' ')} failed (${r.status})`);
  };
  wineRun([win, 'bench']);
  const pythonExe = readdirSync(join(work, 'win-home', 'blobs')).map((b) => join(work, 'win-home', 'blobs', b, 'python', 'python.exe')).find((f) => existsSync(f));
  // One wineserver for all runs, as Windows has one kernel.
  const server = spawn('wineserver', ['-f', '-p'], { env: { ...process.env, ...env }, stdio: 'ignore', detached: true });
  server.unref();
  const launcher = [];
  const alone = [];
  const n = Math.max(5, RUNS);
  log(`bench: Windows warm starts under Wine (${n} each, interleaved)`);
  for (let i = 0; i < n; i++) {
    launcher.push(time(() => wineRun([win, 'bench'])));
    alone.push(time(() => wineRun([pythonExe, 'bench'])));
  }
  spawnSync('wineserver', ['-k'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  out.push(['Windows warm start (Wine)', ms(median(launcher)), '']);
  out.push(['stand-in python.exe alone (Wine)', ms(median(alone)), 'the interpreter started directly']);
  out.push(['Windows warm start / python.exe alone', `${(median(launcher) / median(alone)).toFixed(2)}x`, 'one more process start: Wine\'s dearest step']);
  return out;
}

/**
 * Self-update: the share of the executable a patch release downloads (the
 * app's frame and the manifest part, never CPython), the time from `self
 * update` to the new version's first output, and what watching for a
 * pending release costs a warm start (an updatable build beside the same
 * build without a channel).
 */
async function updateFigures() {
  log('bench: self update (keygen, two releases on a loopback channel)');
  const channelDir = join(work, 'channel');
  let served = 0;
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    const file = join(channelDir, ...path.split('/').filter((p) => p && p !== '..'));
    if (!existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
    const body = readFileSync(file);
    served += body.length;
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  run(process.execPath, [CLI, 'keygen', '--out', join(work, 'keys')]);
  const channelArgs = ['--channel', base, '--public-key', join(work, 'keys', 'pyseal.pub')];
  const builds = {};
  for (const version of ['1.0.0', '1.0.1']) {
    const wheels = demoApp(join(work, `update-${version}`), { version });
    builds[version] = join(work, `update-${version}`, 'out', 'hello-app');
    await runAsync(process.execPath, [CLI, 'build', '--distribution', py.archive, '--wheel', wheels.app, '--wheel', wheels.lib, ...channelArgs, '--out', builds[version], '--level', String(LEVEL), '--quiet'], buildEnv);
  }
  const plain = join(work, 'update-plain');
  run(process.execPath, [CLI, ...buildArgs(plain)], buildEnv);
  const publish = (version) => run(process.execPath, [CLI, 'release', join(work, `update-${version}`, 'out'), '--key', join(work, 'keys', 'pyseal.key'), '--channel-dir', channelDir]);
  publish('1.0.0');
  publish('1.0.1');
  const size = statSync(builds['1.0.0']).size;
  const shares = [];
  const times = [];
  const n = Math.max(3, Math.floor(RUNS / 3));
  log(`bench: self update, ${n} times from a fresh copy of 1.0.0`);
  for (let i = 0; i < n; i++) {
    const dir = join(work, `update-user-${i}`);
    mkdirSync(dir, { recursive: true });
    const exe = join(dir, 'hello-app');
    writeFileSync(exe, readFileSync(builds['1.0.0']), { mode: 0o755 });
    const home = { PYSEAL_HOME: join(dir, 'home') };
    run(exe, ['bench'], home);
    served = 0;
    times.push((await runAsync(exe, ['self', 'update'], home)) + (await runAsync(exe, ['bench'], home)));
    shares.push(served / size);
  }
  // The pending check on a warm start: updatable (settled) vs the same app without a channel.
  const userExe = join(work, 'update-user-0', 'hello-app');
  const userHome = { PYSEAL_HOME: join(work, 'update-user-0', 'home') };
  const plainHome = { PYSEAL_HOME: join(work, 'update-plain-home') };
  run(plain, ['bench'], plainHome);
  const watched = [];
  const unwatched = [];
  log(`bench: warm starts with and without an update channel (${RUNS * 4} each, interleaved)`);
  for (let i = 0; i < RUNS * 4; i++) {
    watched.push(time(() => run(userExe, ['bench'], userHome)));
    unwatched.push(time(() => run(plain, ['bench'], plainHome)));
  }
  server.close();
  return [
    ['patch release download', `${(median(shares) * 100).toFixed(2)} %`, `of the ${mb(size)} executable; target <= 5 %`],
    ['self update to first output', ms(median(times)), 'loopback: check, fetch, verify, install, switch, run'],
    ['warm start, updatable build', ms(median(watched)), ''],
    ['warm start, no channel', ms(median(unwatched)), ''],
    ['updatable / no channel', `${(median(watched) / median(unwatched)).toFixed(3)}x`, 'the pending check: target <= 1.01x'],
  ];
}
