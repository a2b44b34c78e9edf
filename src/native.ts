/**
 * The native addon (native/, built by @napi-rs/cli): the only way TypeScript
 * touches payload bytes, tar streams and wheels.
 */
import { createRequire } from 'node:module';

import type { Inspection, Manifest, WheelInfo } from './manifest.js';

export interface BlobSource {
  dir?: string;
  archive?: string;
  mtime?: number;
}

export interface BlobHash {
  sha256: string;
  size: number;
}

export interface Progress {
  readonly done: number;
}

interface Addon {
  Progress: new () => Progress;
  hashBlob(source: BlobSource): Promise<BlobHash>;
  compressBlob(source: BlobSource, level: number, sha256: string, out: string, progress?: Progress | null): Promise<number>;
  extractArchive(archive: string, dest: string): Promise<BlobHash>;
  installWheel(wheel: string, dest: string): Promise<WheelInfo>;
  readWheel(wheel: string): Promise<WheelInfo>;
  writeExecutable(stub: string, manifest: Manifest, blobFiles: (string | null)[], out: string): Promise<void>;
  inspectExecutable(path: string): Inspection;
  sha256File(path: string): Promise<string>;
  writeStubDelta(old: string, next: string, out: string): void;
}

const require = createRequire(import.meta.url);

let addon: Addon | undefined;

/** Loaded on first use, so `pyseal --help` works even before `npm run build:native`. */
export function nativeAddon(): Addon {
  addon ??= require('../native/index.cjs') as Addon;
  return addon;
}
