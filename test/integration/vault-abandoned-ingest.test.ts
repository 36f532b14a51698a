/**
 * An ingest that is abandoned — its verification fails after the last byte, or it is cancelled
 * mid-way — leaves none of its packs in the vault (they are in no index, so nothing else can use
 * them), and restic still checks the vault clean.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import { LocalBackend, Vault } from '../../src/main/vault';
import { makeScratch, restic, TEST_SCRYPT } from '../harness/restic';
import type { Scratch } from '../harness/restic';

const PASSWORD = 'abandon-pw';
// Several 16 MiB packs are written before the end: they are what an abandoned ingest must remove.
const SIZE = 48 * 1024 * 1024;

const stream = (data: Buffer): Readable =>
  Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
    })(),
  );

/** Polls until `ready()` holds (generous limit: an event, not a timing). */
async function waitFor(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`never saw ${what}`);
}

const packs = (dir: string): string[] => readdirSync(path.join(dir, 'data'), { recursive: true }).map(String).filter((f) => /[0-9a-f]{64}$/.test(f)).sort();

describe('an abandoned ingest', () => {
  let scratch: Scratch;
  let dir: string;
  let vault: Vault;
  let kept: string[];

  beforeAll(async () => {
    scratch = await makeScratch();
    dir = path.join(scratch.dir, 'vault');
    vault = await Vault.init(new LocalBackend(dir), PASSWORD, { scrypt: TEST_SCRYPT });
    await vault.addArchive({ input: stream(randomBytes(1024 * 1024)), fileName: 'kept.bin', mtime: new Date(), hostname: 'h', paths: ['/lifeboat/app'], tags: [] });
    kept = packs(dir);
  }, 60_000);

  afterAll(async () => {
    await scratch.cleanup();
  });

  it('whose verification fails after the last byte removes every pack it wrote', async () => {
    const written: string[][] = [];
    const failing = vault.addArchive({
      input: stream(randomBytes(SIZE)),
      fileName: 'bad.dump',
      mtime: new Date(),
      hostname: 'h',
      paths: ['/lifeboat/app'],
      tags: [],
      beforeSnapshot: async () => {
        written.push(packs(dir));
        throw new LifeboatError('ARCHIVE_VERIFY_FAILED', 'the checksum does not match (test)');
      },
    });
    await expect(failing).rejects.toMatchObject({ code: 'ARCHIVE_VERIFY_FAILED' });
    // Packs were on disk when the verdict came (the test means something), and are gone now.
    expect(written[0]!.length).toBeGreaterThan(kept.length);
    expect(packs(dir)).toEqual(kept);
  });

  it('that is cancelled mid-way removes every pack it wrote', async () => {
    const controller = new AbortController();
    const data = randomBytes(SIZE);
    // Cancels once a pack of this ingest is observed on disk (not at a moment guessed from the clock).
    async function* cancelOncePacksAppear(): AsyncGenerator<Buffer> {
      for (let i = 0; i < data.length; i += 65536) {
        if (i >= SIZE * 0.6 && !controller.signal.aborted) {
          await waitFor(() => packs(dir).length > kept.length, 'a pack of the running ingest');
          controller.abort(new LifeboatError('CANCELLED', 'Cancelled by the test.'));
        }
        yield data.subarray(i, i + 65536);
      }
    }
    const cancelled = vault.addArchive({
      input: Readable.from(cancelOncePacksAppear()),
      fileName: 'cancelled.dump',
      mtime: new Date(),
      hostname: 'h',
      paths: ['/lifeboat/app'],
      tags: [],
      signal: controller.signal,
    });
    await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(packs(dir)).toEqual(kept);
  });

  it('leaves a vault restic checks clean', async () => {
    const check = await restic(dir, PASSWORD, ['check', '--read-data'], path.join(scratch.dir, 'cache'));
    expect(check.code, check.stderr).toBe(0);
  });
});
