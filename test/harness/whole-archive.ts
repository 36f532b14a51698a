import { createHash } from 'node:crypto';
import type { WholeArchive } from '../../src/main/apps/adapter';

/** Size and SHA-256 of bytes seen piece by piece: what the vault hands a verifier's `finish`. */
export class WholeArchiveHasher {
  private readonly hash = createHash('sha256');
  private size = 0;

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  digest(): WholeArchive {
    return { size: this.size, sha256: this.hash.digest('hex') };
  }
}

/** Size and SHA-256 of bytes in memory. */
export function wholeArchiveOf(...chunks: Buffer[]): WholeArchive {
  const hasher = new WholeArchiveHasher();
  for (const chunk of chunks) hasher.update(chunk);
  return hasher.digest();
}
