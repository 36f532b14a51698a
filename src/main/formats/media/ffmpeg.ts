/**
 * Audio transcoding for the preview's player, when the browser cannot play what an archive holds
 * (e.g. AAC in .m4a on a Chromium without proprietary codecs). fluent-ffmpeg is archived upstream,
 * so it stays behind this one function; it drives the system's `ffmpeg`.
 */
import { PassThrough, type Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { LifeboatError } from '../../../shared/errors';

/** What the transcoded stream is. */
export const TRANSCODED_CONTENT_TYPE = 'audio/ogg; codecs=opus';

/**
 * Re-encodes `input` to Ogg/Opus (64 kb/s, as Nojoin's own compressed exports) while it streams;
 * nothing is written to disk. The output fails with a typed error when ffmpeg does.
 */
export function transcodeToOpus(input: Readable, signal: AbortSignal): Readable {
  const output = new PassThrough();
  const command = ffmpeg(input)
    .noVideo()
    .audioCodec('libopus')
    .audioBitrate('64k')
    .format('ogg')
    .on('error', (error: Error) => {
      input.destroy();
      if (!output.destroyed) output.destroy(new LifeboatError('MEDIA_UNPLAYABLE', `ffmpeg could not convert this audio: ${error.message.split('\n')[0]}`, { cause: error }));
    });
  const abort = () => command.kill('SIGKILL');
  signal.addEventListener('abort', abort, { once: true });
  output.once('close', () => {
    signal.removeEventListener('abort', abort);
    if (!output.writableFinished) command.kill('SIGKILL');
  });
  command.pipe(output, { end: true });
  return output;
}
