/** The command line's own surface: help texts (snapshots), version, usage errors. */
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';

import { describe, expect, it } from 'vitest';

import { VERSION } from '../src/version.js';
import { CLI, expectUserError, fixtures, pyseal, type Run } from './helpers.js';

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

describe('the process-level guard', () => {
  /**
   * Runs a build that waits on a server which never answers, with a module
   * preloaded (`node --import`) that fails from outside any promise chain of
   * pyseal's: an exception thrown by a timer, or a rejection nobody awaits.
   */
  async function crashDuring(failure: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
    const sockets: Socket[] = [];
    const stalled = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    const port = (stalled.address() as { port: number }).port;
    const f = fixtures();
    const preload = `data:text/javascript,setTimeout(() => { ${failure} }, 300);`;
    try {
      const child = spawn(process.execPath, ['--import', preload, CLI, 'build', '--quiet', '--wheel', f.wheels.app, '--wheel', f.wheels.lib, '--distribution', `http://127.0.0.1:${port}/cpython.tar.gz`, '--distribution-sha256', 'a'.repeat(64), '--out', '/nonexistent/never'], {
        env: { ...process.env, PYSEAL_BUILD_CACHE: f.buildCache, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      return await new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
    } finally {
      sockets.forEach((s) => s.destroy());
      stalled.close();
    }
  }

  it('turns an exception thrown from an event handler into one error line', async () => {
    const r = await crashDuring("throw new Error('boom from a timer')");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: internal error: boom from a timer\nhint: run again with PYSEAL_DEBUG=1 for details, and please report it\n');
  });

  it('turns a rejection nobody awaited into one error line, with the stack only under PYSEAL_DEBUG', async () => {
    const r = await crashDuring("Promise.reject(new Error('nobody awaited this'))");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: internal error: nobody awaited this\nhint: run again with PYSEAL_DEBUG=1 for details, and please report it\n');
    const debug = await crashDuring("Promise.reject(new Error('nobody awaited this'))", { PYSEAL_DEBUG: '1' });
    expect(debug.stderr).toMatch(/^error: internal error: nobody awaited this\nError: nobody awaited this\n\s+at /);
  });
});
