/**
 * Every kind of entry point people ship: console scripts (elsewhere), native
 * programs and `#!python` scripts in a wheel's `.data/scripts` (how ruff, uv
 * and maturin reach PyPI), and `--module` (`python -m`).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { scriptsApp } from './fixtures/wheels.mjs';
import { buildApp, expectUserError, fixtures, pyseal, type Run, runExe, tempDir } from './helpers.js';

let wheel: string;

beforeAll(() => {
  wheel = scriptsApp(tempDir('pyseal-scripts'));
});

function inspectEntry(exe: string) {
  const r = pyseal(['inspect', exe]);
  expect(r.code).toBe(0);
  return { text: /entry point: +(.*)/.exec(r.stdout)?.[1], json: JSON.parse(pyseal(['inspect', '--json', exe]).stdout).manifest.entry };
}

describe('a native program from .data/scripts', () => {
  it('is executed directly: the launcher becomes the program, with the user\'s name, arguments, stdin and exit code', async () => {
    const dir = tempDir();
    const exe = buildApp({ out: join(dir, 'nt'), wheels: [wheel], args: ['--script', 'nativetool'] });
    expect(inspectEntry(exe)).toEqual({ text: 'nativetool (program, run directly)', json: { kind: 'program', script: 'nativetool' } });
    const home = join(dir, 'home');
    // exec, not a child: the pid the program reports is the one we started.
    const child = spawn(exe, ['a b', 'c'], { env: { ...process.env, PYSEAL_HOME: home } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout).toBe(`native pid=${child.pid} argv0=${exe} [a b] [c]\n`);
    expect(runExe(exe, ['--cat'], { home, input: 'shout\n' }).stdout).toBe('SHOUT\n');
    expect(runExe(exe, ['--exit', '7'], { home }).code).toBe(7);
  });
});

describe('a #!python script from .data/scripts', () => {
  it('runs with the app\'s interpreter and packages', () => {
    const dir = tempDir();
    const exe = buildApp({ out: join(dir, 'pt'), wheels: [wheel], args: ['--script', 'pytool'] });
    expect(inspectEntry(exe)).toEqual({ text: 'pytool (Python script)', json: { kind: 'script', script: 'pytool' } });
    const home = join(dir, 'home');
    const r: Run = runExe(exe, ['x', '--flag'], { home });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^python script 0\\.7 \\['x', '--flag'\\] ${join(home, 'envs', 'scripts-app', '0.7-')}[0-9a-f]{12}\\n$`));
  });
});

describe('--module', () => {
  it('runs python -m with the user\'s arguments, from the app or the standard library', () => {
    const dir = tempDir();
    const exe = buildApp({ out: join(dir, 'mod'), wheels: [wheel], args: ['--module', 'scripts_app'] });
    expect(inspectEntry(exe)).toEqual({ text: '-m scripts_app (module)', json: { kind: 'module', module: 'scripts_app' } });
    const home = join(dir, 'home');
    const r = runExe(exe, ['one', 'two'], { home });
    expect(r.stdout).toBe("module main ['one', 'two']\n");
    expect(r.code).toBe(2);

    const f = fixtures();
    const json = buildApp({ out: join(dir, 'jsontool'), wheels: [f.wheels.app, f.wheels.lib], args: ['--module', 'json.tool'] });
    expect(runExe(json, ['--compact'], { home, input: '{ "a" : [1, 2] }' }).stdout).toBe('{"a":[1,2]}\n');
  });

  it('comes from [tool.pyseal] too', () => {
    const dir = tempDir();
    const project = join(dir, 'proj');
    mkdirSync(project);
    writeFileSync(join(project, 'pyproject.toml'), `[tool.pyseal]\nmodule = "scripts_app"\nwheels = [${JSON.stringify(wheel)}]\n`);
    const r = pyseal(['build', project, '--quiet', '--distribution', fixtures().python.archive, '--level', '3', '--out', join(dir, 'exe')]);
    expect(r.stderr).toBe('');
    expect(inspectEntry(join(dir, 'exe')).json).toEqual({ kind: 'module', module: 'scripts_app' });
  });
});

describe('choosing what to run', () => {
  it('an app with only script files asks for one, naming them', () => {
    const dir = tempDir();
    const r = pyseal(['build', '--quiet', '--distribution', fixtures().python.archive, '--wheel', wheel, '--out', join(dir, 'x')]);
    expectUserError(r, /scripts_app-0\.7-py3-none-manylinux_2_17_x86_64\.whl has no console scripts, so pyseal cannot tell what to run/);
    expect(r.stderr).toMatch(/hint: pass --script with one of its script files \(nativetool, pytool\), --entry module:function or --module NAME/);
  });

  it('an unknown --script lists console scripts and script files alike', () => {
    const dir = tempDir();
    const r = pyseal(['build', '--quiet', '--distribution', fixtures().python.archive, '--wheel', wheel, '--script', 'ruff', '--out', join(dir, 'x')]);
    expectUserError(r, /has no console script or script file named "ruff"/);
    expect(r.stderr).toMatch(/hint: its scripts are: nativetool, pytool/);
  });
});
