/** `pyseal inspect EXE`: what an executable carries, read by the launcher's own code. */
import { existsSync } from 'node:fs';

import { native, UserError } from './errors.js';
import type { Entry, Inspection } from './manifest.js';
import { nativeAddon } from './native.js';
import { formatBytes } from './progress.js';

export async function inspect(path: string): Promise<Inspection> {
  if (!existsSync(path)) throw new UserError(`${path} does not exist`);
  return native(() => nativeAddon().inspectExecutable(path));
}

/**
 * Text from a payload, safe for a terminal: `inspect` is what people run on a
 * file they do not trust yet, so no control character (an escape sequence
 * that clears the screen or fakes output, a line break that fakes a line)
 * reaches it unescaped.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

export function formatInspection(path: string, i: Inspection): string {
  const m = i.manifest;
  const p = printable;
  const entry = describeEntry(m.entry);
  const lines = [
    `${p(path)}`,
    `  app:          ${p(m.app)} ${p(m.version)}`,
    `  build:        ${i.buildId}`,
    `  entry point:  ${p(entry)}`,
    `  python:       ${p(m.python.version)} (${p(m.python.executable)})`,
    `  target:       ${p(m.target)}`,
    `  self command: ${p(m.self_command)}`,
    `  built by:     ${p(m.builder)}`,
    `  size:         ${formatBytes(i.fileSize)} (launcher ${formatBytes(i.stubSize)}, payload ${formatBytes(i.payloadSize)})`,
    `  blobs:`,
  ];
  const width = Math.max(...m.blobs.map((b) => p(b.name).length));
  for (const b of m.blobs) {
    const packed = 'payload' in b.source ? formatBytes(b.source.payload.length) : `fetched (${formatBytes(b.source.url.size)})`;
    lines.push(`    ${p(b.sha256.slice(0, 12))}  ${p(b.kind).padEnd(6)}  ${p(b.name).padEnd(width)}  ${formatBytes(b.size).padStart(9)} -> ${packed.padStart(9)}`);
  }
  return lines.join('\n');
}

/** `demo.cli:main (script demo)`, `-m http.server`, `program ruff`, `script tool`: what runs, and how. */
export function describeEntry(e: Entry): string {
  switch (e.kind) {
    case 'function':
      return `${e.module}:${e.function}${e.script ? ` (script ${e.script})` : ''}`;
    case 'module':
      return `-m ${e.module} (module)`;
    default:
      return `${e.script} (${e.kind === 'program' ? 'program, run directly' : 'Python script'})`;
  }
}
