// The media player's source: openMedia opens the archive's file once and closes it exactly once,
// whether the ZIP is refused, the member is missing, or the audio was played to its end.
import { createReadStream } from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ArchiveAccess } from '../../src/main/apps/adapter';
import { nojoinModule } from '../../src/main/apps/nojoin';

const SAMPLE = path.resolve('test/fixtures/nojoin/nojoin_backup_sample.zip');
const AUDIO = 'recordings/3b0d6c1e-6a4f-4d8e-9b7a-2f1c5e8a9d10.opus';
let dir: string;

// Every file handle opened through fs/promises, with how often it was closed.
const closes = vi.hoisted(() => ({ counts: new Map<string, number>() }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>();
  const open: typeof actual.open = async (...args) => {
    const handle = await actual.open(...args);
    const name = String(args[0]);
    const close = handle.close.bind(handle);
    handle.close = async () => {
      closes.counts.set(name, (closes.counts.get(name) ?? 0) + 1);
      return close();
    };
    return handle;
  };
  return { ...actual, default: { ...actual, open }, open };
});

async function local(file: string): Promise<ArchiveAccess> {
  return { fileName: path.basename(file), size: (await stat(file)).size, mtime: null, sidecars: [], localPath: file, open: async () => createReadStream(file) };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'nojoin-media-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  closes.counts.clear();
});
const closed = (file: string): number => closes.counts.get(file) ?? 0;

describe('nojoin openMedia closes its source once', () => {
  it('a file that is not a ZIP: refused, the file closed once', async () => {
    const junk = path.join(dir, 'junk.zip');
    await writeFile(junk, Buffer.alloc(4096, 7));
    await expect(nojoinModule.format.openMedia!(await local(junk), AUDIO, {})).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
    expect(closed(junk)).toBe(1);
  });

  it('a member that is not there: NOT_FOUND, the file closed once', async () => {
    await expect(nojoinModule.format.openMedia!(await local(SAMPLE), 'recordings/missing.opus', {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(closed(SAMPLE)).toBe(1);
  });

  it('the audio played to its end: the file closed once, when the stream closes', async () => {
    const audio = await nojoinModule.format.openMedia!(await local(SAMPLE), AUDIO, {});
    expect(closed(SAMPLE)).toBe(0);
    let bytes = 0;
    for await (const chunk of audio.stream) bytes += (chunk as Buffer).length;
    await new Promise<void>((resolve) => (audio.stream.closed ? resolve() : audio.stream.once('close', () => resolve())));
    await vi.waitFor(() => expect(closed(SAMPLE)).toBeGreaterThan(0));
    expect(bytes).toBe(27206);
    expect(closed(SAMPLE)).toBe(1);
  });
});
