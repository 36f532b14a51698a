// A pass-through stream that reports the bytes it has passed as a job's progress.
import { Transform } from 'node:stream';
import type { StepContext } from '../adapter';

/** Reports every chunk that passes as progress of `phase` (bytes so far of `total`). */
export function progressCounter(ctx: Pick<StepContext, 'progress'>, phase: string, total: number | null): Transform {
  let bytes = 0;
  ctx.progress({ phase, bytes: 0, total });
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      ctx.progress({ phase, bytes, total });
      done(null, chunk);
    },
  });
}
