#!/usr/bin/env node
/**
 * The `pyseal` command: parses arguments, calls the library, prints results and
 * errors. No build logic lives here.
 */
import { relative, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { type BuildResult, buildTargets } from './build.js';
import { listPythons, loadCatalog } from './catalog.js';
import { UserError } from './errors.js';
import { formatInspection, inspect, printable } from './inspect.js';
import { formatBytes, Reporter } from './progress.js';
import { resolveTarget, resolveTargets } from './targets/index.js';
import { prepareToolchain } from './toolchain/index.js';
import { keygen } from './update/keys.js';
import { release } from './update/release.js';
import { VERSION } from './version.js';

const MAIN_HELP = `pyseal ${VERSION}: one self-bootstrapping executable per Python app, release and target

Usage: pyseal <command> [options]

Commands:
  build [DIR]    build an executable from DIR (default: .) and the flags given
  inspect EXE    show what an executable carries
  python list    show the CPython versions pyseal's catalog offers for a target
  toolchain      fetch and check what building for targets needs (zig, cargo-zigbuild, uv, Rust targets)
  keygen         make an ed25519 key pair for signing update channels
  release DIR    publish built executables to a signed update channel directory

Options:
  -h, --help     show help (also: pyseal <command> --help)
  -V, --version  show pyseal's version
`;

const BUILD_HELP = `Usage: pyseal build [DIR] [options]

Builds one executable: from the project in DIR (its wheel made by its PEP 517
backend, its dependencies resolved and locked for the target), from published
packages (--from), or from wheels. Flags override [tool.pyseal] in
DIR/pyproject.toml.

Python:
  --python VERSION            CPython 3.X or 3.X.Y from pyseal's catalog (3.Xt: free-threaded); see \`pyseal python list\`
  --python-mirror URL         download base replacing GitHub's (also PYSEAL_PYTHON_MIRROR)
  --python-catalog FILE       a private catalog of the same shape as pyseal's
  --distribution PATH|URL     an install_only archive (.tar.gz or .tar.zst); overrides --python
  --distribution-sha256 HEX   its expected sha256 (required for URLs)

What to build:
  --from REQ                  a published package (PEP 508, e.g. 'black==24.10.0'); the first is the app (repeatable)
  -r, --requirements FILE     a requirements.txt (hashes honoured) (repeatable)
  --lock FILE                 take the dependencies from a pylock.toml or uv.lock (default: the project's own, if any)
  --extra NAME                an extra of the app to include (repeatable)
  --wheel FILE                a wheel to include as it is (repeatable; without a project or --from, the first is the app)
  --wheels DIR                every .whl file in DIR (repeatable)
  --upgrade                   resolve again instead of reusing the lock

Package index:
  --index-url URL             instead of PyPI
  --extra-index-url URL       another index (repeatable)
  --find-links DIR|URL        wheels and sdists in a directory or page (repeatable)
  --no-index                  only --find-links

Mode:
  --mode embedded|lazy        embedded (default): everything inside; lazy: Python and the wheels fetched on first run
  --blobs-dir DIR             lazy: write files that only exist locally to DIR, for you to host ...
  --blobs-url URL             ... at URL (otherwise they stay embedded)
  --compile-fetched           lazy: byte-compile the fetched wheels on first run (otherwise Python does on import)

Updates:
  --channel URL               where releases are published (\`EXE self update\` reads URL/channel.json)
  --public-key FILE           a key trusted to sign the channel (repeatable; from \`pyseal keygen\`)
  --update-check daily|never  daily: look for a release in the background once a day, told on the next run (default: never)

Output:
  --script NAME               the app's console script, or a file of its .data/scripts, to run (default: its only console script)
  --entry MODULE:FUNCTION     run this function instead of a console script
  --module NAME               run \`python -m NAME\` with the user's arguments
  --out FILE                  where to write the executable (default: DIR/dist/<app>)
  --level N                   zstd level, 1-22 (default: 19)
  --target TRIPLE             target triple, a comma-separated list, or all-linux / all (default: this machine)
  --host-python PATH          a CPython of this machine, to resolve, build and byte-compile for other targets
  --self-command WORD         first argument that opens the management commands (default: self)
  --gui                       Windows: no console window (errors go to a message box)
  --no-compile                do not byte-compile the wheels
  --json                      print one JSON object describing the build on stdout
  -q, --quiet                 no progress output
  -h, --help                  show this help
`;

const PYTHON_HELP = `Usage: pyseal python list [--target TRIPLE] [--json] [--python-catalog FILE]

Lists the CPython builds pyseal's catalog (python-build-standalone) offers for
a target, newest first: the value to give --python, the release, the variant
(default or free-threaded) and the archive's size when the catalog knows it.
Pre-releases are marked; a build never picks one unless --python names it.

Options:
  --target TRIPLE         target triple (default: this machine)
  --python-catalog FILE   a private catalog instead of pyseal's
  --json                  print the list as JSON
  -h, --help              show this help
`;

const TOOLCHAIN_HELP = `Usage: pyseal toolchain [--target TRIPLE] [--json]

Makes sure this machine has what building for the targets needs, fetching
what it lacks, and shows where each piece is: zig and cargo-zigbuild (they
link launcher stubs for every target), uv (it resolves dependencies for other
targets), and the Rust standard library for each target (added with rustup).
Builds do the same on first need; this does it ahead of time, e.g. on a CI
runner.

Options:
  --target TRIPLE   a triple, a comma-separated list, all-linux or all (default: this machine)
  --json            print what was found as JSON
  -h, --help        show this help
`;

const KEYGEN_HELP = `Usage: pyseal keygen --out DIR

Writes a new ed25519 key pair: DIR/pyseal.key (private, mode 0600: keep it
secret and backed up) and DIR/pyseal.pub (give it to pyseal build
--public-key). Never replaces an existing key.
`;

const RELEASE_HELP = `Usage: pyseal release EXE|DIR... --key FILE --channel-dir DIR [options]

Publishes one version of an app (one executable per target, built with
--channel) to a channel directory for any static host: DIR/channel.json, signed,
and DIR/blobs/<sha256>, the parts of every executable by content. Installed
executables then update with \`EXE self update\`, downloading only the parts
they lack.

Options:
  --key FILE              the private key to sign with (repeatable: old and new while rotating)
  --channel-dir DIR       the channel directory to write
  --expires DURATION      how long the document stays valid: 30d, 12h, 45m (default: 30d)
  --rollout PERCENT       offer the release to this share of installations (default: 100)
  --minimum-version V     installations older than V are told the update is required
  --json                  print what was released as JSON
  -h, --help              show this help
`;

const INSPECT_HELP = `Usage: pyseal inspect EXE [--json]

Shows the app, version, entry point, Python version, target and blobs of EXE.

Options:
  --json       print the inspection as JSON
  -h, --help   show this help
`;

const BUILD_OPTIONS = {
  mode: { type: 'string' },
  'blobs-dir': { type: 'string' },
  'blobs-url': { type: 'string' },
  'compile-fetched': { type: 'boolean' },
  python: { type: 'string' },
  'python-mirror': { type: 'string' },
  'python-catalog': { type: 'string' },
  from: { type: 'string', multiple: true },
  requirements: { type: 'string', multiple: true, short: 'r' },
  lock: { type: 'string' },
  extra: { type: 'string', multiple: true },
  'index-url': { type: 'string' },
  'extra-index-url': { type: 'string', multiple: true },
  'find-links': { type: 'string', multiple: true },
  'no-index': { type: 'boolean' },
  upgrade: { type: 'boolean' },
  distribution: { type: 'string' },
  'distribution-sha256': { type: 'string' },
  wheel: { type: 'string', multiple: true },
  wheels: { type: 'string', multiple: true },
  script: { type: 'string' },
  entry: { type: 'string' },
  module: { type: 'string' },
  out: { type: 'string' },
  level: { type: 'string' },
  target: { type: 'string' },
  'host-python': { type: 'string' },
  'self-command': { type: 'string' },
  'no-compile': { type: 'boolean' },
  gui: { type: 'boolean' },
  channel: { type: 'string' },
  'public-key': { type: 'string', multiple: true },
  'update-check': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const option = /'(-[^' ]*)/.exec(text)?.[1];
    const code = (err as { code?: string }).code;
    const message =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `unknown option ${option ?? text}`
        : code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
          ? `option ${option ?? text} needs a value`
          : text.split('\n')[0]!;
    throw new UserError(message, `run \`pyseal ${command} --help\` for the options`, 2);
  }
}

async function runBuild(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, BUILD_OPTIONS, 'build');
  if (values.help) {
    process.stdout.write(BUILD_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UserError(`build takes one project directory, got ${positionals.length}: ${positionals.join(' ')}`, 'run `pyseal build --help`', 2);
  let level: number | undefined;
  if (values.level !== undefined) {
    level = Number(values.level);
    if (!/^\d+$/.test(values.level)) throw new UserError(`--level ${values.level} is not a number`, 'use a zstd level from 1 to 22', 2);
  }
  const results = await buildTargets({
    projectDir: positionals[0] ?? '.',
    mode: values.mode as 'embedded' | 'lazy' | undefined,
    blobsDir: values['blobs-dir'],
    blobsUrl: values['blobs-url'],
    compileFetched: values['compile-fetched'],
    python: values.python,
    pythonMirror: values['python-mirror'],
    pythonCatalog: values['python-catalog'],
    from: values.from,
    requirements: values.requirements,
    lock: values.lock,
    extras: values.extra,
    indexUrl: values['index-url'],
    extraIndexUrls: values['extra-index-url'],
    findLinks: values['find-links'],
    noIndex: values['no-index'],
    upgrade: values.upgrade,
    distribution: values.distribution,
    distributionSha256: values['distribution-sha256'],
    wheels: values.wheel,
    wheelDirs: values.wheels,
    script: values.script,
    entry: values.entry,
    module: values.module,
    out: values.out,
    level,
    target: values.target,
    hostPython: values['host-python'],
    selfCommand: values['self-command'],
    compile: values['no-compile'] ? false : undefined,
    gui: values.gui,
    channel: values.channel,
    publicKeys: values['public-key'],
    updateCheck: values['update-check'],
    reporter: values.quiet || values.json ? new Reporter(process.stderr, false) : new Reporter(),
  });
  const shown = (out: string) => {
    const rel = relative(process.cwd(), out);
    return rel && !rel.startsWith('..') ? rel : out;
  };
  if (results.length === 1) {
    const result = results[0]!;
    if (values.json) {
      process.stdout.write(`${JSON.stringify(buildSummary(result))}\n`);
      return 0;
    }
    const m = result.manifest;
    process.stdout.write(`built ${shown(result.out)} (${formatBytes(result.size)}): ${m.app} ${m.version}, CPython ${m.python.version}, ${m.target}\n`);
    return 0;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ builds: results.map(buildSummary) })}\n`);
    return 0;
  }
  const m = results[0]!.manifest;
  const rows = results.map((r) => [r.manifest.target, `CPython ${r.manifest.python.version}`, formatBytes(r.size), shown(r.out)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => `  ${row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ')}`);
  process.stdout.write(`built ${results.length} executables of ${m.app} ${m.version}:\n${lines.join('\n')}\n`);
  return 0;
}

/** `pyseal build --json`: what release scripts need, without parsing text. */
function buildSummary(r: BuildResult) {
  const m = r.manifest;
  return {
    out: resolve(r.out),
    size: r.size,
    stubSize: r.stubSize,
    app: m.app,
    version: m.version,
    python: m.python.version,
    target: m.target,
    mode: m.blobs.some((b) => 'url' in b.source) ? 'lazy' : 'embedded',
    entry: m.entry,
    lockFile: r.lockFile ?? null,
    blobs: m.blobs.map((b) => ({
      kind: b.kind,
      name: b.name,
      sha256: b.sha256,
      size: b.size,
      ...('payload' in b.source ? { packed: b.source.payload.length } : { url: b.source.url.url, download: b.source.url.size }),
    })),
    compiledStub: r.compiledStub,
    compressedBlobs: r.compressedBlobs,
    timings: r.timings,
  };
}

async function runToolchain(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { target: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, 'toolchain');
  if (values.help) {
    process.stdout.write(TOOLCHAIN_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UserError(`toolchain takes no arguments, got ${positionals.join(' ')}`, 'usage: pyseal toolchain [--target TRIPLE] [--json]', 2);
  const found = await prepareToolchain(resolveTargets(values.target), new Reporter());
  if (values.json) {
    process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
    return 0;
  }
  const rows = [
    ['zig', found.zig],
    ['cargo-zigbuild', found.cargoZigbuild],
    ['uv', found.uv ?? '(out of reach: pip resolves, with approximate markers)'],
    ...Object.entries(found.rustTargets).map(([t, state]) => [`rust std ${t}`, state]),
  ];
  const width = Math.max(...rows.map((r) => r[0]!.length));
  process.stdout.write(`${rows.map(([k, v]) => `${k!.padEnd(width)}  ${v}`).join('\n')}\n`);
  return 0;
}

async function runPython(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { target: { type: 'string' }, 'python-catalog': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, 'python');
  if (values.help || positionals.length === 0) {
    process.stdout.write(PYTHON_HELP);
    return values.help ? 0 : 2;
  }
  if (positionals[0] !== 'list' || positionals.length > 1) {
    throw new UserError(`unknown command \`pyseal python ${positionals.join(' ')}\``, 'the python commands are: list', 2);
  }
  // Any triple the catalog knows, even one pyseal cannot build for yet.
  const catalog = loadCatalog(values['python-catalog'] ? resolve(values['python-catalog']) : undefined);
  const target = values.target && catalog.pythons.some((e) => e.target === values.target) ? { triple: values.target } : resolveTarget(values.target);
  const rows = listPythons(catalog, target);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ target: target.triple, pythons: rows }, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write(`the catalog has no CPython for ${target.triple}\n`);
    return 0;
  }
  const table = rows.map((r) => [r.request, r.tag, r.variant === 'freethreaded' ? 'free-threaded' : 'default', r.size === null ? '-' : formatBytes(r.size), r.prerelease ? 'pre-release' : '']);
  const header = ['python', 'release', 'variant', 'size', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write(`CPython for ${target.triple} (python-build-standalone), newest first:\n${[header, ...table].map(line).join('\n')}\n`);
  return 0;
}

async function runKeygen(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, 'keygen');
  if (values.help) {
    process.stdout.write(KEYGEN_HELP);
    return 0;
  }
  if (positionals.length || !values.out) throw new UserError('keygen needs --out DIR', 'usage: pyseal keygen --out keys/', 2);
  const made = await keygen(values.out);
  process.stdout.write(`wrote ${made.key} (private: keep it secret) and ${made.pub}\npublic key: ${made.publicKey}\n`);
  return 0;
}

async function runRelease(args: string[]): Promise<number> {
  const options = {
    key: { type: 'string', multiple: true },
    'channel-dir': { type: 'string' },
    expires: { type: 'string' },
    rollout: { type: 'string' },
    'minimum-version': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } satisfies ParseArgsConfig['options'];
  const { values, positionals } = parse(args, options, 'release');
  if (values.help) {
    process.stdout.write(RELEASE_HELP);
    return 0;
  }
  if (!values['channel-dir']) throw new UserError('release needs --channel-dir DIR', 'usage: pyseal release dist/ --key keys/pyseal.key --channel-dir public/stable', 2);
  const result = await release({
    inputs: positionals,
    keys: values.key ?? [],
    channelDir: values['channel-dir'],
    expires: values.expires ?? '30d',
    ...(values.rollout !== undefined ? { rollout: Number(values.rollout) } : {}),
    ...(values['minimum-version'] ? { minimumVersion: values['minimum-version'] } : {}),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  }
  const until = new Date(result.expires * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  process.stdout.write(
    `released ${result.app} ${result.version} (sequence ${result.sequence}, valid until ${until}) for ${result.targets.join(', ')}: ${result.newBlobs} new part(s), ${formatBytes(result.newBytes)}\n`,
  );
  return 0;
}

async function runInspect(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, 'inspect');
  if (values.help) {
    process.stdout.write(INSPECT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UserError('inspect takes one executable', 'usage: pyseal inspect EXE [--json]', 2);
  const path = positionals[0]!;
  const inspection = await inspect(path);
  process.stdout.write(values.json ? `${JSON.stringify(inspection, null, 2)}\n` : `${formatInspection(path, inspection)}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'build':
      return runBuild(rest);
    case 'inspect':
      return runInspect(rest);
    case 'python':
      return runPython(rest);
    case 'keygen':
      return runKeygen(rest);
    case 'release':
      return runRelease(rest);
    case 'toolchain':
      return runToolchain(rest);
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      process.stdout.write(MAIN_HELP);
      return command === undefined ? 2 : 0;
    case '-V':
    case '--version':
      process.stdout.write(`pyseal ${VERSION}\n`);
      return 0;
    default:
      throw new UserError(`unknown command ${JSON.stringify(command)}`, 'the commands are: build, inspect, python, toolchain, keygen, release', 2);
  }
}

function report(err: unknown): number {
  // Messages quote file names, URLs and payload strings: none may act on the terminal.
  if (err instanceof UserError) {
    process.stderr.write(`error: ${printable(err.message)}\n`);
    if (err.hint) process.stderr.write(`hint: ${printable(err.hint)}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: internal error: ${printable(message.split('\n')[0]!)}\n`);
  if (process.env.PYSEAL_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write('hint: run again with PYSEAL_DEBUG=1 for details, and please report it\n');
  return 1;
}

// The last line of defence: an error nothing caught (thrown from an event
// handler, a rejected promise nobody awaited) still ends in one `error:` line
// and a non-zero exit, never a Node stack trace (that only with PYSEAL_DEBUG=1).
const fatal = (err: unknown) => {
  process.exit(report(err));
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
