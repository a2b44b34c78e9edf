/** The command line's own surface: help texts (snapshots), version, usage errors. */
import { describe, expect, it } from 'vitest';

import { VERSION } from '../src/version.js';
import { expectUserError, pyseal } from './helpers.js';

describe('pyseal CLI', () => {
  it('prints help', () => {
    const r = pyseal(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatchSnapshot();
  });

  it('prints build help', () => {
    const r = pyseal(['build', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatchSnapshot();
  });

  it('prints inspect help', () => {
    expect(pyseal(['inspect', '--help']).stdout).toMatchSnapshot();
  });

  it('prints its version', () => {
    expect(pyseal(['--version']).stdout).toBe(`pyseal ${VERSION}\n`);
  });

  it('shows usage and exits 2 without a command', () => {
    const r = pyseal([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: pyseal <command>');
  });

  it('refuses unknown commands and options with exit code 2', () => {
    const cmd = pyseal(['bundle']);
    expectUserError(cmd, /unknown command "bundle"/);
    expect(cmd.code).toBe(2);
    const opt = pyseal(['inspect', '--yaml', 'x']);
    expectUserError(opt, /unknown option --yaml/);
    expect(opt.code).toBe(2);
    expectUserError(pyseal(['build', '--wheel']), /option --wheel needs a value/);
  });
});
