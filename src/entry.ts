/**
 * What the executable runs, and which wheel is the app: a console script
 * (`module:function`), `--entry`, `--module` (`python -m`), or a file of the
 * app wheel's `.data/scripts`, which is how Rust and Go programs published on
 * PyPI (ruff, uv, maturin) ship: a native program, run directly, or a
 * `#!python` script, run by the app's interpreter.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';

import type { Config } from './config.js';
import { UserError } from './errors.js';
import type { Entry, WheelInfo } from './manifest.js';
import { normalizeName } from './tags.js';

/** A wheel as far as choosing goes: its metadata, and its installed tree once staged. */
export interface Candidate {
  wheel: string;
  info: WheelInfo;
  /** The staged tree (`site-packages/`, `bin/`), when there is one. */
  dir?: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** `--entry` / a console script target: `module:function` (extras ignored). */
export function parseEntry(text: string, where: string): { module: string; function: string } {
  const spec = text.split('[')[0]!.trim();
  const [module, fn, ...rest] = spec.split(':').map((s) => s.trim());
  if (!module || !fn || rest.length > 0 || !IDENT.test(module) || !IDENT.test(fn)) {
    throw new UserError(`${where} ${JSON.stringify(text)} is not of the form module:function`, 'for example --entry myapp.cli:main', 2);
  }
  return { module, function: fn };
}

/** `black[d]==24.1 ; python_version > "3.8"` -> `black`. */
export function requirementName(requirement: string | undefined): string | undefined {
  return requirement ? /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(requirement)?.[1] : undefined;
}

/** The file of `.data/scripts` that `--script NAME` means (`ruff` also finds `ruff.exe`). */
function dataScript(info: WheelInfo, name: string): string | undefined {
  return info.dataScripts.find((s) => s === name) ?? info.dataScripts.find((s) => s === `${name}.exe`);
}

/** Whether the wheel provides `--script NAME` in any form. */
export function providesScript(info: WheelInfo, name: string): boolean {
  return name in info.consoleScripts || dataScript(info, name) !== undefined;
}

/** Every name `--script` accepts for this wheel. */
function scriptNames(info: WheelInfo): string[] {
  return [...Object.keys(info.consoleScripts), ...info.dataScripts];
}

/**
 * The app's own wheel: the one named like the project or the first --from;
 * else the one providing --script; else the first --wheel; else (directories
 * only) the one wheel with scripts; else the first.
 */
export function pickApp<C extends Candidate>(config: Config, candidates: C[], projectName: string | undefined): C {
  const name = projectName ?? requirementName(config.from[0]);
  if (name) {
    const match = candidates.find((c) => normalizeName(c.info.name) === normalizeName(name));
    if (match) return match;
  }
  if (config.script) {
    const providers = candidates.filter((c) => providesScript(c.info, config.script!));
    if (providers.length === 1) return providers[0]!;
  }
  if (config.wheels.length === 0) {
    const withScripts = candidates.filter((c) => scriptNames(c.info).length > 0);
    if (withScripts.length === 1) return withScripts[0]!;
  }
  return candidates[0]!;
}

/** Fails, listing what there is, when the app does not provide `--script NAME`. */
export function checkScript(config: Config, app: Candidate): void {
  if (!config.script || providesScript(app.info, config.script)) return;
  const names = scriptNames(app.info);
  throw new UserError(
    `${basename(app.wheel)} has no console script or script file named ${JSON.stringify(config.script)}`,
    names.length ? `its scripts are: ${names.join(', ')}` : 'it has no scripts; pass --entry module:function or --module NAME instead',
  );
}

/** The first bytes of a `#!python` script after pyseal's installer made it relocatable. */
const RELOCATED_PYTHON_SCRIPT = "#!/bin/sh\n'''exec'";

/**
 * The manifest's entry for the staged app wheel. `stdlib` is the
 * distribution's standard library directory, to check `--module` names.
 */
export function pickEntry(config: Config, app: Candidate, wheels: Candidate[], stdlib: string): Entry {
  const scripts = app.info.consoleScripts;
  const names = Object.keys(scripts);
  const wheel = basename(app.wheel);
  if (config.entry) return { kind: 'function', ...parseEntry(config.entry, '--entry') };
  if (config.module) {
    checkModule(config.module, wheels, stdlib);
    return { kind: 'module', module: config.module };
  }
  if (config.script) {
    checkScript(config, app);
    const target = scripts[config.script];
    if (target) return { kind: 'function', ...parseEntry(target, `console script ${config.script}`), script: config.script };
    const file = dataScript(app.info, config.script)!;
    return { kind: isPythonScript(app, file) ? 'script' : 'program', script: file };
  }
  if (names.length === 1) return { kind: 'function', ...parseEntry(scripts[names[0]!]!, `console script ${names[0]}`), script: names[0]! };
  if (names.length === 0) {
    const files = app.info.dataScripts;
    const hint = files.length ? `pass --script with one of its script files (${files.join(', ')}), --entry module:function or --module NAME` : 'pass --entry module:function or --module NAME';
    throw new UserError(`${wheel} has no console scripts, so pyseal cannot tell what to run`, hint);
  }
  throw new UserError(`${wheel} has several console scripts: ${names.join(', ')}`, 'pick one with --script NAME');
}

/** Whether a staged `.data/scripts` file is a Python script (it was `#!python`) rather than a program. */
function isPythonScript(app: Candidate, file: string): boolean {
  if (!app.dir) return false;
  const path = join(app.dir, 'bin', file);
  const head = Buffer.alloc(RELOCATED_PYTHON_SCRIPT.length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return head.toString('latin1') === RELOCATED_PYTHON_SCRIPT;
}

/**
 * `--module NAME` must be importable: its top-level package or module is in
 * one of the wheels or in CPython's standard library.
 */
function checkModule(module: string, wheels: Candidate[], stdlib: string): void {
  const top = module.split('.')[0]!;
  const inWheel = wheels.some((w) => w.info.topLevel.some((t) => t === top || t === `${top}.py` || t.startsWith(`${top}.`)));
  const inStdlib = [join(stdlib, top), join(stdlib, `${top}.py`)].some((p) => existsSync(p)) || builtinExtension(stdlib, top);
  if (!inWheel && !inStdlib) {
    throw new UserError(`module ${module} is in none of the wheels, nor in CPython's standard library`, 'check the name: --module takes what you would pass to python -m');
  }
}

/** Extension modules of the standard library (`lib-dynload/_json.cpython-312-...so`). */
function builtinExtension(stdlib: string, top: string): boolean {
  try {
    return readdirSync(join(stdlib, 'lib-dynload')).some((f) => f.startsWith(`${top}.`));
  } catch {
    return false;
  }
}
