/**
 * The manifest's shape, as the Rust launcher defines it (launcher/src/manifest.rs).
 * TypeScript builds this object; Rust validates and serializes it, so the bytes
 * of the format come from one implementation only.
 */
export const MANIFEST_SCHEMA = 1;

export interface Manifest {
  schema: number;
  app: string;
  version: string;
  entry: { module: string; function: string; script?: string };
  python: { version: string; blob: string; executable: string };
  target: string;
  self_command: string;
  builder: string;
  blobs: BlobRecord[];
}

export interface BlobRecord {
  sha256: string;
  kind: 'python' | 'wheel';
  name: string;
  size: number;
  source: { from: 'payload'; offset: number; length: number };
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
  topLevel: string[];
  files: number;
}
