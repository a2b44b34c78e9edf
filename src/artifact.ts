/**
 * Names and hashes of files to download, from places pyseal does not control
 * (lock files, index pages, pip's report): checked before any path is made
 * from them, so a crafted `../../x.sh` or a "hash" naming an existing file
 * can neither write outside the build cache nor skip verification.
 */
import { UserError } from './errors.js';

/** A wheel or sdist file name: one plain path component. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+!~-]*\.(whl|tar\.gz|tgz|zip|tar\.bz2|tar\.xz)$/;

export function checkFileName(name: string, source: string): string {
  if (!FILE_NAME.test(name) || name.includes('..')) {
    throw new UserError(
      `${source} names the file ${JSON.stringify(name)}, which is not a plain wheel or sdist file name`,
      'the lock file or index answer is damaged or crafted; resolve again from an index you trust (--upgrade)',
    );
  }
  return name;
}

/** 64 hex digits, lowercased. */
export function checkSha256(hex: string, what: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new UserError(`${what} is not 64 hex digits: ${JSON.stringify(hex.slice(0, 80))}`, 'pin every file by its sha256 (64 hex digits)');
  }
  return hex.toLowerCase();
}
