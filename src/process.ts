/**
 * Running the tools a build needs (pip, build backends, compileall) with their
 * output captured for error messages, and shown live under PYSEAL_DEBUG=1.
 */
import { spawn } from 'node:child_process';

import { UserError } from './errors.js';

export interface Captured {
  code: number | null;
  /** stdout and stderr, interleaved as they came. */
  output: string;
  /** stdout alone. */
  stdout: string;
}

/** The environment a distribution's Python must not inherit from the user's. */
export const CLEAN_PYTHON_ENV: NodeJS.ProcessEnv = { PYTHONHOME: undefined, PYTHONPATH: undefined, PYTHONNOUSERSITE: '1' };

/**
 * Runs `cmd`, capturing stdout and stderr together. A command that cannot be
 * started becomes `cannotStart` (one line for the user); its exit code is the
 * caller's to judge.
 */
export function runCaptured(
  cmd: string,
  args: string[],
  opts: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    cannotStart: (err: NodeJS.ErrnoException) => UserError;
    /** Each piece of output as it arrives (e.g. to label a progress line). */
    onOutput?: (text: string) => void;
    /** Stops the command (SIGTERM); the promise then rejects with the AbortError. */
    signal?: AbortSignal;
    /** Written to the command's stdin (otherwise stdin is empty). */
    input?: string;
    /** Not even under PYSEAL_DEBUG: a probe (a version) rather than a step of the build. */
    quiet?: boolean;
  },
): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(opts.signal ? { signal: opts.signal, killSignal: 'SIGTERM' as const } : {}),
    });
    let output = '';
    let stdout = '';
    const collect = (d: Buffer) => {
      const text = d.toString();
      output += text;
      opts.onOutput?.(text);
      if (process.env.PYSEAL_DEBUG && !opts.quiet) process.stderr.write(d);
    };
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      collect(d);
    });
    child.stderr!.on('data', collect);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on('error', (err) => reject(err.name === 'AbortError' ? err : opts.cannotStart(err)));
    child.on('close', (code) => resolve({ code, output, stdout }));
  });
}

/** The last non-empty line a tool printed, for a one-line error. */
export function lastLine(output: string, fallback: string): string {
  return (output.trim().split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? fallback).slice(0, 300);
}
