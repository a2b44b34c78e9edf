/**
 * Release signing keys: ed25519, made and used with Node's own crypto.
 *
 * `pyseal.key` is the private key as PKCS#8 PEM (written 0600, never printed);
 * `pyseal.pub` is one line, `pyseal-ed25519 <base64 of the 32-byte key>`,
 * the form builds embed and channel signatures name.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { UserError } from '../errors.js';

const PUBLIC_PREFIX = 'pyseal-ed25519 ';

/** The base64 of a public key's raw 32 bytes. */
function rawPublic(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

/** Writes a fresh key pair into `dir`; refuses to replace an existing one. */
export async function keygen(dir: string): Promise<{ key: string; pub: string; publicKey: string }> {
  const key = join(dir, 'pyseal.key');
  const pub = join(dir, 'pyseal.pub');
  for (const f of [key, pub]) {
    if (existsSync(f)) throw new UserError(`${f} exists already`, 'keep the key you have (every build trusts it), or choose another --out directory', 2);
  }
  await mkdir(dir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicLine = rawPublic(publicKey);
  await writeFileAtomically(key, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
  await writeFileAtomically(pub, `${PUBLIC_PREFIX}${publicLine}\n`, 0o644);
  return { key, pub, publicKey: publicLine };
}

/**
 * Writes `text` to a temp file beside `path` (created anew with `mode`: a
 * leftover of a killed run is removed, never reused), flushes it and renames
 * it into place.
 */
export async function writeFileAtomically(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** A public key file (or the base64 key itself), as the base64 of its 32 bytes. */
export function readPublicKey(spec: string): string {
  const text = existsSync(spec) ? readFileSync(spec, 'utf8').trim() : spec.trim();
  const b64 = text.startsWith(PUBLIC_PREFIX) ? text.slice(PUBLIC_PREFIX.length).trim() : text;
  if (!/^[A-Za-z0-9+/]{43}=$/.test(b64) || Buffer.from(b64, 'base64').length !== 32) {
    throw new UserError(`${spec} is not a pyseal public key`, 'pass the pyseal.pub that `pyseal keygen` wrote', 2);
  }
  return b64;
}

export interface SigningKey {
  publicKey: string;
  sign(message: Buffer): string;
}

/** A private key file, for signing; its content never appears in an error. */
export function readSigningKey(path: string): SigningKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new UserError(missing ? `the signing key ${path} does not exist` : `${path} is not a private key`, 'pass the pyseal.key that `pyseal keygen` wrote', 2);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new UserError(`${path} is not an ed25519 key`, 'pass the pyseal.key that `pyseal keygen` wrote', 2);
  return { publicKey: rawPublic(createPublicKey(key)), sign: (message) => sign(null, message, key).toString('base64') };
}
