// Memory stays bounded when a large Nojoin archive streams through the verifier: a 60 000-row
// transcripts.json (~40 MB) is read row by row and a 96 MiB audio member is only CRC-checked,
// so the heap grows by far less than the archive's size.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ZipArchive } from 'archiver';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NojoinStreamVerifier } from '../../src/main/apps/nojoin/format/stream-verifier';
import type { ArchiveScan } from '../../src/main/apps/nojoin/format/scan';

const ROWS = 60_000;
const AUDIO_MIB = 96;
let tmp: string;
let archive: string;

function* transcriptRows(): Generator<string> {
  yield '[\n';
  for (let i = 0; i < ROWS; i++) {
    const row = {
      id: i + 1, created_at: '2026-08-12T13:05:00', updated_at: '2026-08-12T13:06:00', recording_id: 101, transcript_status: 'completed',
      text: `Segment ${i} `.repeat(20), segments: [{ id: `seg-${i}`, start: i, end: i + 1, speaker: 'SPEAKER_00', text: `Line ${i}` }],
    };
    yield `${i === 0 ? '' : ',\n'}${JSON.stringify(row, null, 2)}`;
  }
  yield '\n]';
}

function* noise(): Generator<Buffer> {
  // Varied bytes (a cheap generator, not zeros) so DEFLATE cannot shrink them to a zip bomb.
  const block = Buffer.alloc(1024 * 1024);
  let x = 0x12345678;
  for (let mib = 0; mib < AUDIO_MIB; mib++) {
    for (let i = 0; i < block.length; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      block.writeInt32LE(x | 0, i);
    }
    yield Buffer.from(block);
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-nojoin-large-'));
  archive = path.join(tmp, 'large.zip');
  const zip = new ZipArchive({ zlib: { level: 1 } });
  const out = createWriteStream(archive);
  zip.pipe(out);
  zip.append(Readable.from(transcriptRows()), { name: 'transcripts.json' });
  zip.append(Readable.from(noise()), { name: 'recordings/big.opus', store: true });
  zip.append(JSON.stringify({ format_version: 2, version: '2.4.0', timestamp: '2026-08-19T18:00:00+00:00', include_audio: true, archive_quality: 'original', warnings: {} }), { name: 'backup_info.json' });
  await zip.finalize();
  await finished(out);
}, 120_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

it('verifies a large archive in bounded memory', async () => {
  const { size } = await stat(archive);
  expect(size).toBeGreaterThan(AUDIO_MIB * 1024 * 1024);
  const staging = path.join(tmp, 'staging');
  await mkdir(staging);
  let scan: ArchiveScan | null = null;
  const verifier = new NojoinStreamVerifier({ stagingDir: staging, label: 'large.zip', onScan: (s) => (scan = s) });
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 2);
  try {
    for await (const chunk of createReadStream(archive, { highWaterMark: 1024 * 1024 })) verifier.write(chunk as Buffer);
    const checks = await verifier.finish({ size, sha256: 'not checked here' });
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  } finally {
    clearInterval(sample);
  }
  expect((scan as ArchiveScan | null)?.tables).toEqual([{ table: 'transcripts', member: 'transcripts.json', rows: ROWS, bytes: expect.any(Number) }]);
  // Holding transcripts.json whole (a string twice its size, then 60 000 objects) would take hundreds of MB.
  expect(peak - base).toBeLessThan(64 * 1024 * 1024);
}, 120_000);
