/**
 * One recording's audio, streamed out of the archive for the UI's player: inflated on the fly
 * (never unpacked to disk), with an HTTP-style byte range so the player can seek. DEFLATE has no
 * index, so a range starting deep in a member still inflates everything before it.
 */
import type { Readable } from 'node:stream';
import { LifeboatError } from '../../../../shared/errors';
import type { NojoinZip } from './zip';

/** A member's audio: its bytes (or the requested slice) and how to label them. */
export interface AudioMemberStream {
  stream: Readable;
  /** Size of the whole member, uncompressed. */
  size: number;
  /** First and last byte (inclusive) of what `stream` carries. */
  start: number;
  end: number;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  opus: 'audio/ogg; codecs=opus',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  flac: 'audio/flac',
  webm: 'audio/webm',
};

/** The MIME type the player should get for an audio member, by its extension. */
export function audioContentType(member: string): string {
  const extension = /\.([a-z0-9]+)$/i.exec(member)?.[1]?.toLowerCase() ?? '';
  return CONTENT_TYPES[extension] ?? 'application/octet-stream';
}

/**
 * Streams the audio member `member` (a `recordings/…` name, as a recording row's audio_path).
 * Read whole, the stream fails at its end when the CRC-32 does not match; a slice cannot be checked.
 */
export async function openAudioMember(zip: NojoinZip, member: string, range: { start?: number; end?: number } = {}): Promise<AudioMemberStream> {
  if (!member.startsWith('recordings/')) {
    throw new LifeboatError('INVALID_INPUT', `"${member.slice(0, 120)}" is not an audio member; Nojoin keeps audio under recordings/.`, { details: { member } });
  }
  const found = zip.member(member);
  if (!found || found.isDirectory) {
    throw new LifeboatError('NOT_FOUND', `${zip.label} has no audio member "${member}": the recording was exported without its audio.`, { details: { member } });
  }
  const size = found.uncompressedSize;
  const start = range.start ?? 0;
  const end = range.end ?? size - 1;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || (size > 0 && start > end) || end >= Math.max(size, 1)) {
    throw new LifeboatError('INVALID_INPUT', `Bytes ${start}–${end} are outside "${member}" (${size} bytes).`, { details: { member, start, end, size } });
  }
  const stream = await zip.openMember(member, start === 0 && end === size - 1 ? {} : { start, end: end + 1 });
  return { stream, size, start, end: size === 0 ? 0 : end, contentType: audioContentType(member) };
}
