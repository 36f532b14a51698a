import { createHash } from 'node:crypto';
import type { WholeArchive } from '../../src/main/apps/adapter';

/** Size, SHA-256 and MD5 of bytes seen piece by piece: what the vault hands a verifier's `finish` (MD5 to those that want it). */
export class WholeArchiveHasher {
  private readonly hash = createHash('sha256');
  private readonly md5 = createHash('md5');
  private size = 0;

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.md5.update(chunk);
    this.size += chunk.length;
  }

  digest(): WholeArchive {
    return { size: this.size, sha256: this.hash.digest('hex'), md5: this.md5.digest('hex') };
  }
}

/** Size, SHA-256 and MD5 of bytes in memory. */
export function wholeArchiveOf(...chunks: Buffer[]): WholeArchive {
  const hasher = new WholeArchiveHasher();
  for (const chunk of chunks) hasher.update(chunk);
  return hasher.digest();
}
