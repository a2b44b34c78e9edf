/** Configuration: pyproject.toml [tool.pyseal] under command-line flags. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEFAULT_LEVEL, loadConfig } from '../src/config.js';
import { tempDir } from './helpers.js';

function project(toml: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'pyproject.toml'), toml);
  return dir;
}

describe('loadConfig', () => {
  it('works without a pyproject.toml, with defaults', async () => {
    const dir = tempDir();
    const c = await loadConfig(dir, {});
    expect(c).toMatchObject({ projectDir: dir, wheels: [], wheelDirs: [], level: DEFAULT_LEVEL, selfCommand: 'self', compile: true });
    expect(c.project).toBeUndefined();
  });

  it('resolves pyproject paths against the project and flag paths against the cwd', async () => {
    const dir = project('[project]\nname = "app"\nversion = "2.0"\n[tool.pyseal]\nwheels = ["dist/app.whl"]\ndistribution = "py.tar.gz"\nout = "bin/app"\n');
    const cwd = tempDir();
    mkdirSync(join(cwd, 'sub'));
    const fromToml = await loadConfig(dir, {}, cwd);
    expect(fromToml.wheels).toEqual([join(dir, 'dist/app.whl')]);
    expect(fromToml.distribution).toBe(join(dir, 'py.tar.gz'));
    expect(fromToml.out).toBe(join(dir, 'bin/app'));
    expect(fromToml.project).toEqual({ name: 'app', version: '2.0' });
    const fromFlags = await loadConfig(dir, { wheels: ['sub/x.whl'], distribution: 'https://example.invalid/py.tar.gz', out: 'o' }, cwd);
    expect(fromFlags.wheels).toEqual([join(cwd, 'sub/x.whl')]);
    expect(fromFlags.distribution).toBe('https://example.invalid/py.tar.gz');
    expect(fromFlags.out).toBe(join(cwd, 'o'));
  });

  it('lets flags override every key', async () => {
    const dir = project('[tool.pyseal]\nlevel = 5\nself-command = "admin"\ncompile = true\ntarget = "aarch64-apple-darwin"\nscript = "a"\n');
    const c = await loadConfig(dir, { level: 9, selfCommand: 'manage', compile: false, target: 'x86_64-unknown-linux-gnu', entry: 'm:f' });
    expect(c).toMatchObject({ level: 9, selfCommand: 'manage', compile: false, target: 'x86_64-unknown-linux-gnu', entry: 'm:f' });
    // Script and entry are one setting: the flag's entry replaces the file's script.
    expect(c.script).toBeUndefined();
    await expect(loadConfig(project('[tool.pyseal]\nscript = "a"\nentry = "m:f"\n'), {})).rejects.toThrow(/more than one thing to run is set: --script a, --entry m:f/);
  });

  it('refuses bad values with the key named', async () => {
    await expect(loadConfig(project('[tool.pyseal]\nlevel = "high"\n'), {})).rejects.toThrow(/\[tool\.pyseal\] level .* must be a integer/);
    await expect(loadConfig(project('[tool.pyseal]\nself-command = "-x"\n'), {})).rejects.toThrow(/self command "-x" is not a plain word/);
    await expect(loadConfig(project('[tool.pyseal]\nlevel = 0\n'), {})).rejects.toThrow(/zstd level 0 is out of range/);
  });
});
