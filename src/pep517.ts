/**
 * Building wheels from source trees (the project itself, and sdists on the
 * host) through their PEP 517 backend, with build isolation.
 *
 * The build environment is a venv of the host distribution holding exactly the
 * `[build-system] requires` wheels (resolved by pip, downloaded and verified by
 * pyseal, installed by the same Rust installer as everything else). Environments
 * are cached by their requirement set, and wheels by a hash of their source, so
 * a rebuild of an unchanged project neither resolves nor downloads nor builds.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';

import { parse as parseToml } from 'smol-toml';

import { type BuildCache, CACHE_LAYOUT, publishDir } from './cache.js';
import type { Credentials } from './credentials.js';
import { native, UserError } from './errors.js';
import { fetchArtifacts } from './fetch.js';
import { nativeAddon } from './native.js';
import { type IndexOptions, resolveWithPip } from './pip.js';
import { CLEAN_PYTHON_ENV, lastLine, runCaptured } from './process.js';
import type { Reporter } from './progress.js';
import type { PythonVersion } from './tags.js';
import type { Target } from './targets/index.js';

export interface BuildSystem {
  requires: string[];
  backend: string;
  backendPath: string[];
}

/** What PEP 517 says a frontend assumes when pyproject.toml names no backend. */
const LEGACY: BuildSystem = { requires: ['setuptools>=40.8.0'], backend: 'setuptools.build_meta:__legacy__', backendPath: [] };

export interface HostPython extends PythonVersion {
  /** The host distribution's interpreter. */
  python: string;
  version: string;
  target: Target;
}

export interface BuildContext {
  host: HostPython;
  index: IndexOptions;
  cache: BuildCache;
  reporter: Reporter;
  /** For private indexes: sent with downloads to the hosts they belong to. */
  credentials: Credentials;
  /** Re-resolve build requirements even when a cached environment exists. */
  upgrade: boolean;
}

/** Whether `dir` is a Python project pyseal can build a wheel from. */
export function isBuildable(dir: string): boolean {
  return existsSync(join(dir, 'pyproject.toml')) || existsSync(join(dir, 'setup.py'));
}

export async function readBuildSystem(dir: string): Promise<BuildSystem> {
  const path = join(dir, 'pyproject.toml');
  if (!existsSync(path)) return LEGACY;
  const doc = parseToml(await readFile(path, 'utf8')) as { 'build-system'?: { requires?: unknown; 'build-backend'?: unknown; 'backend-path'?: unknown } };
  const bs = doc['build-system'];
  if (!bs) return LEGACY;
  const strings = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
  const requires = strings(bs.requires);
  if (!requires) throw new UserError(`[build-system] requires in ${path} must be a list of strings`);
  if (bs['build-backend'] === undefined) return { ...LEGACY, requires };
  if (typeof bs['build-backend'] !== 'string') throw new UserError(`[build-system] build-backend in ${path} must be a string`);
  const backendPath = strings(bs['backend-path'] ?? []) ?? [];
  for (const p of backendPath) {
    if (relative(dir, resolve(dir, p)).startsWith('..')) throw new UserError(`[build-system] backend-path ${p} in ${path} leaves the project`);
  }
  return { requires, backend: bs['build-backend'], backendPath };
}

/** Files that are build output or tool state, not source. */
const SKIP = new Set(['.git', '.hg', '.svn', '.venv', 'venv', 'node_modules', 'dist', 'build', '__pycache__', '.tox', '.nox', '.pytest_cache', '.mypy_cache', '.ruff_cache', 'target']);

async function hashSource(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (d: string) => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (SKIP.has(e.name) || e.name.endsWith('.egg-info') || /^pylock\..*\.toml$/.test(e.name)) continue;
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) {
        hash.update(`${relative(dir, full)}\0`);
        hash.update(await readFile(full));
      }
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

/**
 * Builds a wheel of the source tree `dir` (reusing one built from identical
 * source) and returns its path in the build cache.
 */
export async function buildWheel(dir: string, ctx: BuildContext, label = basename(dir)): Promise<string> {
  const system = await readBuildSystem(dir);
  const env = await buildEnvironment(system.requires, ctx);
  const key = createHash('sha256').update(JSON.stringify([CACHE_LAYOUT, await hashSource(dir), env.key, system])).digest('hex').slice(0, 32);
  const cached = ctx.cache.path('built', key);
  const existing = existsSync(cached) ? (await readdir(cached)).find((f) => f.endsWith('.whl')) : undefined;
  if (existing) return join(cached, existing);

  const task = ctx.reporter.task(`building ${label} (${system.backend})`);
  const builtDir = await ctx.cache.ensureDir('built');
  const tmp = ctx.cache.temp(builtDir, key);
  try {
    await mkdir(tmp, { recursive: true });
    const extra = (await runHook(env, system, dir, 'get_requires_for_build_wheel', tmp)) as string[];
    const missing = extra.filter((r) => !env.requirements.includes(r));
    const finalEnv = missing.length > 0 ? await buildEnvironment([...system.requires, ...missing], ctx) : env;
    const name = (await runHook(finalEnv, system, dir, 'build_wheel', tmp)) as string;
    if (typeof name !== 'string' || !name.endsWith('.whl') || !existsSync(join(tmp, name))) {
      throw new UserError(`the build backend ${system.backend} of ${label} did not produce a wheel`);
    }
    for (const f of await readdir(tmp)) if (f !== name) await rm(join(tmp, f), { recursive: true, force: true });
    await publishDir(tmp, cached);
    return join(cached, name);
  } finally {
    task.end();
    await rm(tmp, { recursive: true, force: true });
  }
}

interface BuildEnv {
  dir: string;
  python: string;
  key: string;
  requirements: string[];
}

/** A cached venv of the host Python holding the build requirements' wheels. */
async function buildEnvironment(requirements: string[], ctx: BuildContext): Promise<BuildEnv> {
  const key = createHash('sha256')
    .update(JSON.stringify([CACHE_LAYOUT, ctx.host.version, ctx.host.target.triple, [...requirements].sort(), ctx.index]))
    .digest('hex')
    .slice(0, 32);
  const dir = ctx.cache.path('build-envs', key);
  const python = join(dir, 'bin', 'python');
  if (existsSync(join(dir, 'pyseal-env.json')) && !ctx.upgrade) return { dir, python, key, requirements };

  const artifacts = requirements.length
    ? await resolveWithPip({ python: ctx.host.python, version: ctx.host, target: ctx.host.target, host: true, binaryOnly: true, requirements, requirementFiles: [], index: ctx.index, cwd: process.cwd() }).catch(
        (err: unknown) => {
          if (err instanceof UserError) throw new UserError(`build requirements: ${err.message}`, err.hint);
          throw err;
        },
      )
    : [];
  const wheels = await fetchArtifacts(artifacts, ctx);
  const envsDir = await ctx.cache.ensureDir('build-envs');
  const tmp = ctx.cache.temp(envsDir, key);
  try {
    await runProcess(ctx.host.python, ['-m', 'venv', '--without-pip', tmp], process.cwd(), `creating a build environment with ${ctx.host.python} failed`);
    for (const wheel of wheels) await native(() => nativeAddon().installWheel(wheel, tmp));
    // The venv's own site-packages points at the wheels' tree (processing
    // their .pth files), at its final path.
    const site = join(tmp, 'lib', `python${ctx.host.major}.${ctx.host.minor}`, 'site-packages');
    await writeFile(join(site, '_pyseal_build_env.pth'), `import site; site.addsitedir(${JSON.stringify(join(dir, 'site-packages'))})\n`);
    await writeFile(join(tmp, 'pyseal-env.json'), JSON.stringify({ requirements, artifacts }));
    if (ctx.upgrade) await rm(dir, { recursive: true, force: true });
    await publishDir(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { dir, python, key, requirements };
}

/** The PEP 517 hook runner, run by the build environment's Python in the source tree. */
const HOOK_RUNNER = `
import importlib, json, os, sys
backend_spec, backend_path, hook, out_dir, result_file = sys.argv[1:6]
for p in reversed(json.loads(backend_path)):
    sys.path.insert(0, os.path.abspath(p))
module, _, attrs = backend_spec.partition(":")
backend = importlib.import_module(module.strip())
for attr in filter(None, attrs.strip().split(".")):
    backend = getattr(backend, attr)
if hook == "get_requires_for_build_wheel":
    fn = getattr(backend, hook, None)
    result = list(fn({})) if fn else []
else:
    result = backend.build_wheel(out_dir, {}, None)
with open(result_file, "w") as f:
    json.dump({"result": result}, f)
`;

async function runHook(env: BuildEnv, system: BuildSystem, dir: string, hook: string, outDir: string): Promise<unknown> {
  const resultFile = join(outDir, `.${hook}.json`);
  await runProcess(env.python, ['-c', HOOK_RUNNER, system.backend, JSON.stringify(system.backendPath), hook, outDir, resultFile], dir, `the build backend ${system.backend} failed in ${hook} for ${dir}`);
  const { result } = JSON.parse(await readFile(resultFile, 'utf8')) as { result: unknown };
  await rm(resultFile, { force: true });
  return result;
}

/** Runs a step of a build; a failure is one line with the tool's last words. */
async function runProcess(cmd: string, args: string[], cwd: string, failure: string): Promise<void> {
  const r = await runCaptured(cmd, args, { cwd, env: CLEAN_PYTHON_ENV, cannotStart: (err) => new UserError(`cannot run ${cmd}: ${err.message}`) });
  if (r.code !== 0) {
    throw new UserError(`${failure}: ${lastLine(r.output, `exit code ${r.code}`)}`, 'run again with PYSEAL_DEBUG=1 to see the build output');
  }
}
