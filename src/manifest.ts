/**
 * The manifest's shape, as the Rust launcher defines it (launcher/src/manifest.rs).
 * TypeScript builds this object; Rust validates and serializes it, so the bytes
 * of the format come from one implementation only.
 */
export const MANIFEST_SCHEMA = 2;

export interface Manifest {
  schema: number;
  app: string;
  version: string;
  entry: Entry;
  python: { version: string; blob: string; executable: string; abiflags?: 't' };
  target: string;
  self_command: string;
  builder: string;
  blobs: BlobRecord[];
  /** Byte-compile the wheels fetched on first run. */
  compile_fetched?: boolean;
  /** An updatable build: its channel's base URL and the ed25519 keys (base64) trusted to sign it. */
  update?: { channel: string; keys: string[]; check_daily?: boolean };
}

/**
 * What runs: `function` (module:function, as a console script), `module`
 * (`python -m`), `program` (a native file of the app's `.data/scripts`,
 * executed directly) or `script` (a `#!python` file of them, run by the app's
 * interpreter).
 */
export type Entry =
  | { kind: 'function'; module: string; function: string; script?: string }
  | { kind: 'module'; module: string }
  | { kind: 'program' | 'script'; script: string };

export interface BlobRecord {
  /** The blob's cache name. For wheels fetched by URL, the native writer derives it from the wheel's hash. */
  sha256: string;
  kind: 'python' | 'wheel' | 'tool';
  name: string;
  size: number;
  source: { payload: PayloadSource } | { url: UrlSource };
}

/** Embedded: a zstd frame in the payload (offset and length filled in by the writer). */
export interface PayloadSource {
  offset: number;
  length: number;
}

/** Lazy: fetched on first run, checked against the file's sha256. */
export interface UrlSource {
  url: string;
  sha256: string;
  size: number;
  /** How PYSEAL_PYTHON_MIRROR / PYSEAL_INDEX_MIRROR rebuild the URL at run time. */
  mirror?: { kind: 'python' | 'index'; path: string };
}

export interface Inspection {
  manifest: Manifest;
  manifestSha256: string;
  buildId: string;
  stubSize: number;
  payloadSize: number;
  fileSize: number;
}

export interface WheelInfo {
  name: string;
  version: string;
  requiresPython: string | null;
  requiresDist: string[];
  tags: string[];
  distInfo: string;
  consoleScripts: Record<string, string>;
  guiScripts: Record<string, string>;
  /** Files of the wheel's `.data/scripts`. */
  dataScripts: string[];
  topLevel: string[];
  files: number;
}
