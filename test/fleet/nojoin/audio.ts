// Real audio for the fake Nojoin and the tests, made by the real ffmpeg (as Nojoin's exporter
// calls it: libopus 64 kb/s into the `opus` muxer, i.e. Ogg; specs/nojoin.md §4).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function inTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nojoin-audio-'));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Options of a test tone: length and pitch (default 2 s of 440 Hz, from a 16 kHz mono source). */
export interface ToneOptions {
  seconds?: number;
  frequency?: number;
}

async function makeSine(options: ToneOptions, file: string, codecArgs: string[]): Promise<Buffer> {
  return inTempDir(async (dir) => {
    const out = path.join(dir, file);
    const tone = `sine=frequency=${options.frequency ?? 440}:duration=${options.seconds ?? 2}:sample_rate=16000`;
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', tone, ...codecArgs, out]);
    return readFile(out);
  });
}

/** A sine tone as Ogg Opus, libopus 64 kb/s. */
export function makeSineOpus(options: ToneOptions = {}): Promise<Buffer> {
  return makeSine(options, 'tone.opus', ['-c:a', 'libopus', '-b:a', '64k', '-f', 'opus']);
}

/** A sine tone as 16-bit PCM WAV (what a browser capture stores before any export). */
export function makeSineWav(options: ToneOptions = {}): Promise<Buffer> {
  return makeSine(options, 'tone.wav', ['-c:a', 'pcm_s16le']);
}

/** Re-encodes any audio to Ogg Opus the way Nojoin's "compressed" export does: `ffmpeg -y -i <in> -c:a libopus -b:a 64k -v error <out>.opus`. */
export async function compressToOpus(input: Buffer, extension: string): Promise<Buffer> {
  return inTempDir(async (dir) => {
    const source = path.join(dir, `source${extension}`);
    const out = path.join(dir, 'out.opus');
    await writeFile(source, input);
    await run('ffmpeg', ['-y', '-i', source, '-c:a', 'libopus', '-b:a', '64k', '-v', 'error', out]);
    return readFile(out);
  });
}
