/**
 * Configuration: `[project]` and `[tool.pyseal]` from DIR/pyproject.toml, with
 * command-line flags on top. Paths in pyproject.toml are relative to DIR; paths
 * on the command line are relative to the current directory.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import { parse as parseToml, TomlError } from 'smol-toml';

import { UserError } from './errors.js';
import { isHttpUrl } from './fetch.js';
import type { IndexOptions } from './pip.js';
import { readPublicKey } from './update/keys.js';

/** What the command line (or a library caller) may set. */
export interface BuildFlags {
  mode?: Mode;
  compileFetched?: boolean;
  blobsDir?: string;
  blobsUrl?: string;
  python?: string;
  pythonMirror?: string;
  pythonCatalog?: string;
  distribution?: string;
  distributionSha256?: string;
  hostPython?: string;
  from?: string[];
  requirements?: string[];
  lock?: string;
  extras?: string[];
  indexUrl?: string;
  extraIndexUrls?: string[];
  findLinks?: string[];
  noIndex?: boolean;
  upgrade?: boolean;
  wheels?: string[];
  wheelDirs?: string[];
  script?: string;
  entry?: string;
  module?: string;
  out?: string;
  level?: number;
  target?: string;
  selfCommand?: string;
  compile?: boolean;
  /** Windows: no console window (a `windows` subsystem stub running pythonw.exe). */
  gui?: boolean;
  /** The update channel's base URL (`EXE self update` reads `<URL>/channel.json`). */
  channel?: string;
  /** Public key files (or base64 keys) trusted to sign the channel. */
  publicKeys?: string[];
  /** `daily`: look for a new release in the background once a day; `never` (default). */
  updateCheck?: string;
}

/** embedded: every blob in the executable; lazy: fetched on first run. */
export type Mode = 'embedded' | 'lazy';

export interface Config
  extends Required<Pick<BuildFlags, 'mode' | 'compileFetched' | 'wheels' | 'wheelDirs' | 'level' | 'selfCommand' | 'compile' | 'from' | 'requirements' | 'extras' | 'upgrade' | 'gui'>> {
  /** Where lazy builds put local-only files for the user to host, and the URL they are served from. */
  blobs?: { dir: string; url: string };
  /** An updatable build: its channel and the keys it trusts (base64). */
  update?: { channel: string; keys: string[]; check_daily?: true };
  projectDir: string;
  /** `[project]` name and version, when there is a pyproject.toml. */
  project?: { name?: string; version?: string };
  python?: string;
  pythonMirror?: string;
  pythonCatalog?: string;
  lock?: string;
  index: IndexOptions;
  distribution?: string;
  distributionSha256?: string;
  /** A CPython of this machine, for building, resolving and byte-compiling for other targets. */
  hostPython?: string;
  script?: string;
  entry?: string;
  module?: string;
  out?: string;
  target?: string;
}

export const DEFAULT_LEVEL = 19;
export const DEFAULT_SELF_COMMAND = 'self';

/** `[tool.pyseal]` keys and their types; anything else is a typo worth reporting. */
const KEYS = {
  mode: 'string',
  'compile-fetched': 'boolean',
  'blobs-dir': 'string',
  'blobs-url': 'string',
  python: 'string',
  'python-mirror': 'string',
  'python-catalog': 'string',
  from: 'string[]',
  requirements: 'string[]',
  lock: 'string',
  extras: 'string[]',
  'index-url': 'string',
  'extra-index-urls': 'string[]',
  'find-links': 'string[]',
  'no-index': 'boolean',
  distribution: 'string',
  'distribution-sha256': 'string',
  'host-python': 'string',
  wheels: 'string[]',
  'wheel-dirs': 'string[]',
  script: 'string',
  entry: 'string',
  module: 'string',
  out: 'string',
  level: 'integer',
  target: 'string',
  'self-command': 'string',
  compile: 'boolean',
  gui: 'boolean',
  channel: 'string',
  'public-keys': 'string[]',
  'update-check': 'string',
} as const;

type Table = Record<string, unknown>;

export async function loadConfig(projectDir: string, flags: BuildFlags, cwd = process.cwd()): Promise<Config> {
  const dir = resolve(cwd, projectDir);
  const pyprojectPath = join(dir, 'pyproject.toml');
  let tool: Table = {};
  let project: Config['project'];
  if (existsSync(pyprojectPath)) {
    let doc: Table;
    try {
      doc = parseToml(await readFile(pyprojectPath, 'utf8')) as Table;
    } catch (err) {
      const detail = err instanceof TomlError ? `line ${err.line}: ${err.message.split('\n')[0]}` : String(err);
      throw new UserError(`cannot parse ${pyprojectPath}: ${detail}`);
    }
    const p = (doc.project ?? {}) as Table;
    project = {
      ...(typeof p.name === 'string' ? { name: p.name } : {}),
      ...(typeof p.version === 'string' ? { version: p.version } : {}),
    };
    tool = ((doc.tool as Table | undefined)?.pyseal ?? {}) as Table;
    validate(tool, pyprojectPath);
  }

  const fromToml = (key: keyof typeof KEYS) => tool[key];
  const tomlPath = (v: unknown) => (typeof v === 'string' ? absolutize(v, dir) : undefined);
  const cliPath = (v: string | undefined) => (v === undefined ? undefined : absolutize(v, cwd));

  const level = flags.level ?? (fromToml('level') as number | undefined) ?? DEFAULT_LEVEL;
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new UserError(`zstd level ${level} is out of range`, 'use a level from 1 (fastest) to 22 (smallest)', 2);
  }
  const selfCommand = flags.selfCommand ?? (fromToml('self-command') as string | undefined) ?? DEFAULT_SELF_COMMAND;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(selfCommand)) {
    throw new UserError(`self command ${JSON.stringify(selfCommand)} is not a plain word`, 'use letters, digits, ".", "_" or "-", not starting with "-"', 2);
  }

  const tomlList = (key: keyof typeof KEYS) => (fromToml(key) as string[] | undefined) ?? [];
  const list = (flag: string[] | undefined, key: keyof typeof KEYS) => (flag?.length ? flag : tomlList(key));
  // Paths and URLs: a flag's path is relative to the cwd, a file's to the project.
  const links = flags.findLinks?.length ? flags.findLinks.map((l) => locationFlag(l, cwd)) : tomlList('find-links').map((l) => locationToml(l, dir)!);
  const mode = flags.mode ?? (fromToml('mode') as string | undefined) ?? 'embedded';
  if (mode !== 'embedded' && mode !== 'lazy') {
    throw new UserError(`mode ${JSON.stringify(mode)} is neither "embedded" nor "lazy"`, 'embedded puts everything in the executable; lazy fetches Python and the wheels on first run', 2);
  }
  const blobsDir = cliPath(flags.blobsDir) ?? tomlPath(fromToml('blobs-dir'));
  const blobsUrl = flags.blobsUrl ?? (fromToml('blobs-url') as string | undefined);
  if ((blobsDir === undefined) !== (blobsUrl === undefined)) {
    throw new UserError('--blobs-dir and --blobs-url go together', 'write local files to a directory (--blobs-dir) and name the URL it will be served from (--blobs-url)', 2);
  }
  if (blobsUrl !== undefined && !isHttpUrl(blobsUrl)) {
    throw new UserError(`--blobs-url ${blobsUrl} is not an http(s) URL`, undefined, 2);
  }
  if (blobsDir && mode !== 'lazy') {
    throw new UserError('--blobs-dir and --blobs-url only apply to lazy builds', 'add --mode lazy', 2);
  }
  const compileFetched = flags.compileFetched ?? (fromToml('compile-fetched') as boolean | undefined) ?? false;
  if (compileFetched && mode !== 'lazy') {
    throw new UserError('--compile-fetched only applies to lazy builds (embedded wheels are compiled when building)', 'add --mode lazy', 2);
  }
  const config: Config = {
    projectDir: dir,
    mode,
    compileFetched,
    ...(blobsDir && blobsUrl ? { blobs: { dir: blobsDir, url: blobsUrl } } : {}),
    from: list(flags.from, 'from'),
    requirements: flags.requirements?.length ? flags.requirements.map((r) => absolutize(r, cwd)) : tomlList('requirements').map((r) => absolutize(r, dir)),
    extras: list(flags.extras, 'extras'),
    upgrade: flags.upgrade ?? false,
    index: {
      ...((flags.indexUrl ?? fromToml('index-url')) ? { indexUrl: (flags.indexUrl ?? fromToml('index-url')) as string } : {}),
      extraIndexUrls: list(flags.extraIndexUrls, 'extra-index-urls'),
      findLinks: links,
      noIndex: flags.noIndex ?? (fromToml('no-index') as boolean | undefined) ?? false,
    },
    wheels: flags.wheels?.length ? flags.wheels.map((w) => absolutize(w, cwd)) : ((fromToml('wheels') as string[] | undefined) ?? []).map((w) => absolutize(w, dir)),
    wheelDirs: flags.wheelDirs?.length
      ? flags.wheelDirs.map((w) => absolutize(w, cwd))
      : ((fromToml('wheel-dirs') as string[] | undefined) ?? []).map((w) => absolutize(w, dir)),
    level,
    selfCommand,
    compile: flags.compile ?? (fromToml('compile') as boolean | undefined) ?? true,
    gui: flags.gui ?? (fromToml('gui') as boolean | undefined) ?? false,
  };
  if (project) config.project = project;
  const channel = flags.channel ?? (fromToml('channel') as string | undefined);
  // A key is a file (relative to where it was named) or the base64 key itself.
  const keyAt = (k: string, base: string) => (/^[A-Za-z0-9+/]{43}=$/.test(k) ? k : absolutize(k, base));
  const keys = flags.publicKeys?.length ? flags.publicKeys.map((k) => keyAt(k, cwd)) : ((fromToml('public-keys') as string[] | undefined) ?? []).map((k) => keyAt(k, dir));
  if (channel || keys.length) {
    if (!channel) throw new UserError('--public-key needs --channel URL', 'pass the URL the channel directory will be served from', 2);
    if (!keys.length) throw new UserError('--channel needs --public-key FILE', 'make a key pair with `pyseal keygen --out keys/` and pass keys/pyseal.pub', 2);
    let url: URL;
    try {
      url = new URL(channel);
    } catch {
      throw new UserError(`--channel ${JSON.stringify(channel)} is not a URL`, 'use the https URL the channel directory is served from', 2);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UserError(`--channel ${channel} is not an http(s) URL`, 'use the https URL the channel directory is served from', 2);
    if (url.username || url.password) throw new UserError('--channel must not carry credentials', 'executables are public: serve the channel without a password', 2);
    const check = flags.updateCheck ?? (fromToml('update-check') as string | undefined) ?? 'never';
    if (check !== 'never' && check !== 'daily') throw new UserError(`--update-check ${check} is not never or daily`, 'use --update-check daily, or leave it out', 2);
    config.update = { channel: channel.replace(/\/+$/, ''), keys: keys.map(readPublicKey), ...(check === 'daily' ? { check_daily: true as const } : {}) };
  } else if (flags.updateCheck ?? fromToml('update-check')) {
    throw new UserError('--update-check needs --channel URL and --public-key FILE', 'an update check needs a channel to check', 2);
  }
  const python = flags.python ?? (fromToml('python') as string | undefined);
  if (python) config.python = python;
  const mirror = flags.pythonMirror ?? (fromToml('python-mirror') as string | undefined) ?? (process.env.PYSEAL_PYTHON_MIRROR || undefined);
  if (mirror) config.pythonMirror = mirror;
  const catalog = cliPath(flags.pythonCatalog) ?? tomlPath(fromToml('python-catalog'));
  if (catalog) config.pythonCatalog = catalog;
  const lock = cliPath(flags.lock) ?? tomlPath(fromToml('lock'));
  if (lock) config.lock = lock;
  const distribution = flags.distribution !== undefined ? locationFlag(flags.distribution, cwd) : locationToml(fromToml('distribution'), dir);
  if (distribution) config.distribution = distribution;
  const sha = flags.distributionSha256 ?? (fromToml('distribution-sha256') as string | undefined);
  if (sha) config.distributionSha256 = sha;
  const hostPython = cliPath(flags.hostPython) ?? tomlPath(fromToml('host-python'));
  if (hostPython) config.hostPython = hostPython;
  // What to run is one setting: a flag for any of them replaces all from the file.
  const runFlags = flags.script !== undefined || flags.entry !== undefined || flags.module !== undefined;
  const pick = (flag: string | undefined, key: 'script' | 'entry' | 'module') => (runFlags ? flag : (fromToml(key) as string | undefined));
  const script = pick(flags.script, 'script');
  if (script) config.script = script;
  const entry = pick(flags.entry, 'entry');
  if (entry) config.entry = entry;
  const module = pick(flags.module, 'module');
  if (module) config.module = module;
  const out = cliPath(flags.out) ?? tomlPath(fromToml('out'));
  if (out) config.out = out;
  const target = flags.target ?? (fromToml('target') as string | undefined);
  if (target) config.target = target;
  const runs = [config.script && `--script ${config.script}`, config.entry && `--entry ${config.entry}`, config.module && `--module ${config.module}`].filter(Boolean);
  if (runs.length > 1) {
    throw new UserError(`more than one thing to run is set: ${runs.join(', ')}`, 'use one of --script NAME, --entry MODULE:FUNCTION or --module NAME (or script, entry, module in [tool.pyseal])', 2);
  }
  if (config.module && !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(config.module)) {
    throw new UserError(`--module ${JSON.stringify(config.module)} is not a module name`, 'for example --module http.server', 2);
  }
  return config;
}

function validate(tool: Table, file: string): void {
  for (const [key, value] of Object.entries(tool)) {
    const type = KEYS[key as keyof typeof KEYS];
    if (!type) {
      throw new UserError(`unknown key ${JSON.stringify(key)} in [tool.pyseal] of ${file}`, `known keys: ${Object.keys(KEYS).join(', ')}`);
    }
    const ok =
      type === 'string'
        ? typeof value === 'string'
        : type === 'integer'
          ? Number.isInteger(value)
          : type === 'boolean'
            ? typeof value === 'boolean'
            : Array.isArray(value) && value.every((v) => typeof v === 'string');
    if (!ok) throw new UserError(`[tool.pyseal] ${key} in ${file} must be ${type === 'string[]' ? 'a list of strings' : `a ${type}`}`);
  }
}

function absolutize(p: string, base: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

function locationFlag(v: string, cwd: string): string {
  return isHttpUrl(v) ? v : absolutize(v, cwd);
}

function locationToml(v: unknown, dir: string): string | undefined {
  if (typeof v !== 'string') return undefined;
  return isHttpUrl(v) ? v : absolutize(v, dir);
}
