/**
 * `pyseal release`: publishes built executables to a channel directory any
 * static host can serve:
 *
 *   <channel-dir>/channel.json      the signed document (see launcher/src/update/channel.rs)
 *   <channel-dir>/blobs/<sha256>    every part of every executable, by content
 *
 * An executable is cut at the edges of its embedded blobs (stub, each zstd
 * frame, the rest), so a release shares every unchanged part with the one
 * before it, and an installed executable downloads only the parts it lacks.
 * Blobs are written before the document that names them.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { UserError } from '../errors.js';
import { nativeAddon } from '../native.js';
import type { Inspection } from '../manifest.js';
import { readSigningKey, type SigningKey, writeFileAtomically } from './keys.js';

export const DOMAIN = 'pyseal channel v1\n';

export interface ReleaseOptions {
  inputs: string[];
  keys: string[];
  channelDir: string;
  /** `30d`, `12h`, `45m` or seconds. */
  expires: string;
  rollout?: number;
  minimumVersion?: string;
}

interface Part {
  sha256: string;
  size: number;
}

export interface ReleaseResult {
  app: string;
  version: string;
  sequence: number;
  expires: number;
  targets: string[];
  newBlobs: number;
  newBytes: number;
}

export async function release(o: ReleaseOptions): Promise<ReleaseResult> {
  if (o.keys.length === 0) throw new UserError('release needs a signing key', 'pass --key keys/pyseal.key (from `pyseal keygen`)', 2);
  const signers = o.keys.map(readSigningKey);
  const expiresIn = parseDuration(o.expires);
  if (o.rollout !== undefined && !(Number.isInteger(o.rollout) && o.rollout >= 1 && o.rollout <= 100)) {
    throw new UserError(`--rollout ${o.rollout} is not a percentage`, 'use a whole number from 1 to 100', 2);
  }
  const exes = await executables(o.inputs);
  const first = exes[0]!.inspection.manifest;
  const targets: Record<string, unknown> = {};
  for (const { path, inspection } of exes) {
    const m = inspection.manifest;
    if (m.app !== first.app || m.version !== first.version) {
      throw new UserError(`${path} is ${m.app} ${m.version}, the others ${first.app} ${first.version}`, 'release one version of one app at a time', 2);
    }
    if (targets[m.target]) throw new UserError(`two executables for ${m.target}`, 'release one executable per target', 2);
    const update = (m as { update?: { keys: string[] } }).update;
    if (!update) throw new UserError(`${path} was built without an update channel`, 'build it with --channel URL --public-key FILE', 2);
    if (!signers.some((s) => update.keys.includes(s.publicKey))) {
      throw new UserError(`${path} trusts none of the signing keys given`, 'sign with a key the build carries (its --public-key), or with the old and the new key while rotating', 2);
    }
    targets[m.target] = null;
  }
  const previous = readPreviousSequence(join(o.channelDir, 'channel.json'));
  const previousStubs = readPreviousStubs(join(o.channelDir, 'channel.json'));
  const blobsDir = join(o.channelDir, 'blobs');
  await mkdir(blobsDir, { recursive: true });
  let newBlobs = 0;
  let newBytes = 0;
  for (const { path, inspection } of exes) {
    const parts = cut(inspection);
    const described: Part[] = [];
    for (const [from, to] of parts) {
      const part = await writePart(path, from, to, blobsDir);
      if (part.written) {
        newBlobs++;
        newBytes += part.size;
      }
      described.push({ sha256: part.sha256, size: part.size });
    }
    const whole = await hashRange(path, 0, inspection.fileSize);
    const stub = described[0]!;
    const delta = await stubDelta(previousStubs[inspection.manifest.target], stub, blobsDir);
    targets[inspection.manifest.target] = {
      executable: { sha256: whole, size: inspection.fileSize },
      stub,
      manifest: described.at(-1)!,
      parts: described,
      ...(delta ? { stub_delta: delta } : {}),
    };
  }
  const now = Math.floor(Date.now() / 1000);
  const body = {
    app: first.app,
    version: first.version,
    sequence: previous + 1,
    expires: now + expiresIn,
    published: now,
    ...(o.minimumVersion ? { minimum_version: o.minimumVersion } : {}),
    ...(o.rollout !== undefined && o.rollout < 100 ? { rollout: o.rollout } : {}),
    targets,
  };
  await writeFileAtomically(join(o.channelDir, 'channel.json'), `${JSON.stringify(envelope(JSON.stringify(body, null, 1), signers), null, 2)}\n`, 0o644);
  return { app: first.app, version: first.version, sequence: body.sequence, expires: body.expires, targets: Object.keys(targets), newBlobs, newBytes };
}

/** The signed envelope: the body as the exact text each key signed. */
export function envelope(signed: string, signers: SigningKey[]): { format: 1; signed: string; signatures: { key: string; signature: string }[] } {
  const message = Buffer.concat([Buffer.from(DOMAIN), Buffer.from(signed)]);
  return { format: 1, signed, signatures: signers.map((s) => ({ key: s.publicKey, signature: s.sign(message) })) };
}

/** The byte ranges an executable is cut into: the edges of its embedded blobs. */
export function cut(inspection: Inspection): [number, number][] {
  const edges = new Set([0, inspection.stubSize, inspection.fileSize]);
  for (const b of inspection.manifest.blobs) {
    if ('payload' in b.source) {
      edges.add(inspection.stubSize + b.source.payload.offset);
      edges.add(inspection.stubSize + b.source.payload.offset + b.source.payload.length);
    }
  }
  const sorted = [...edges].sort((a, b) => a - b);
  return sorted.slice(1).map((to, i) => [sorted[i]!, to]);
}

async function executables(inputs: string[]): Promise<{ path: string; inspection: Inspection }[]> {
  if (inputs.length === 0) throw new UserError('release needs the executables to publish', 'usage: pyseal release dist/ --key keys/pyseal.key --channel-dir public/stable', 2);
  const found: { path: string; inspection: Inspection }[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new UserError(`${input} does not exist`, 'pass the built executables, or the directory holding them', 2);
    if (statSync(input).isDirectory()) {
      for (const name of (await readdir(input)).sort()) {
        const path = join(input, name);
        if (name.startsWith('.') || !statSync(path).isFile()) continue;
        // A directory may hold other files (locks, checksums): only executables count.
        try {
          found.push({ path, inspection: nativeAddon().inspectExecutable(path) });
        } catch {
          continue;
        }
      }
    } else {
      try {
        found.push({ path: input, inspection: nativeAddon().inspectExecutable(input) });
      } catch {
        throw new UserError(`${input} is not a pyseal executable`, 'pass executables written by pyseal build', 2);
      }
    }
  }
  if (found.length === 0) throw new UserError(`no pyseal executables in ${inputs.join(', ')}`, 'build them first with pyseal build', 2);
  return found;
}

async function hashRange(path: string, from: number, to: number): Promise<string> {
  if (to <= from) return createHash('sha256').digest('hex');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: from, end: to - 1 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function writePart(path: string, from: number, to: number, dir: string): Promise<Part & { written: boolean }> {
  const sha256 = await hashRange(path, from, to);
  const dest = join(dir, sha256);
  const size = to - from;
  if (existsSync(dest) && statSync(dest).size === size) return { sha256, size, written: false };
  const tmp = `${dest}.tmp-${process.pid}`;
  const handle = await open(tmp, 'w', 0o644);
  try {
    for await (const chunk of createReadStream(path, { start: from, end: to - 1 })) await handle.write(chunk as Buffer);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, dest);
  return { sha256, size, written: true };
}

/**
 * A changed stub as a zstd delta against the previous release's, when the
 * channel still has that stub and the delta is smaller than the stub.
 */
async function stubDelta(previous: string | undefined, stub: Part, dir: string): Promise<{ from: string; sha256: string; size: number } | undefined> {
  if (!previous || previous === stub.sha256 || !existsSync(join(dir, previous))) return undefined;
  const tmp = join(dir, `.delta.tmp-${process.pid}`);
  try {
    nativeAddon().writeStubDelta(join(dir, previous), join(dir, stub.sha256), tmp);
    const size = statSync(tmp).size;
    if (size >= stub.size) return undefined;
    const sha256 = await hashRange(tmp, 0, size);
    await rename(tmp, join(dir, sha256));
    return { from: previous, sha256, size };
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Each target's stub part in the channel's current document. */
function readPreviousStubs(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const body = JSON.parse((JSON.parse(readFileSync(path, 'utf8')) as { signed: string }).signed) as { targets?: Record<string, { stub?: { sha256?: unknown } }> };
  const stubs: Record<string, string> = {};
  for (const [target, release] of Object.entries(body.targets ?? {})) {
    const sha = release.stub?.sha256;
    if (typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha)) stubs[target] = sha;
  }
  return stubs;
}

/** The sequence number of the channel's current document (0 when there is none). */
function readPreviousSequence(path: string): number {
  if (!existsSync(path)) return 0;
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { signed: string };
    const sequence = (JSON.parse(doc.signed) as { sequence?: unknown }).sequence;
    if (typeof sequence === 'number' && Number.isSafeInteger(sequence) && sequence >= 0) return sequence;
  } catch {
    // fall through
  }
  throw new UserError(`${path} is not a pyseal channel document`, 'point --channel-dir at the channel directory (or an empty one)', 2);
}

/** `30d`, `12h`, `45m`, `3600s` or `3600`, in seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([dhms]?)$/.exec(text.trim());
  const unit = { d: 86400, h: 3600, m: 60, s: 1, '': 1 } as const;
  const seconds = m ? Number(m[1]) * unit[m[2] as keyof typeof unit] : NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new UserError(`--expires ${text} is not a duration`, 'use a number with d, h, m or s, e.g. 30d', 2);
  }
  return seconds;
}
