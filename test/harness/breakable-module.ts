// A module whose next transfer breaks mid-way, the way a dropped connection breaks it: for tests of
// the pull runner's resume and restart, with the real module's source behind it.
import { Transform, type Readable } from 'node:stream';
import { LifeboatError } from '../../src/shared/errors';
import type { AppModule } from '../../src/main/apps/module';

/** Passes `limit` bytes, then fails the way a dropped connection does (HTTP_NETWORK is transient). */
export function cutAfter(stream: Readable, limit: number): Readable {
  let passed = 0;
  const cut = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (passed + chunk.length <= limit) {
        passed += chunk.length;
        done(null, chunk);
        return;
      }
      this.push(chunk.subarray(0, limit - passed));
      passed = limit;
      stream.destroy();
      done(new LifeboatError('HTTP_NETWORK', 'The connection was reset mid-transfer (injected).'));
    },
  });
  return stream.pipe(cut);
}

/**
 * The module, with sources whose first read breaks after `take()` bytes when that returns a
 * number (armed by the test, taken once); later reads of the same pull go through untouched.
 */
export function breakable(module: AppModule, take: (kind: string) => number | null): AppModule {
  return {
    ...module,
    sources: {
      ...module.sources,
      async open(ctx, remoteId) {
        const source = await module.sources.open(ctx, remoteId);
        const limit = take(module.kind);
        if (limit === null) return source;
        let first = true;
        return {
          ...source,
          async open(offset: number) {
            const stream = await source.open(offset);
            if (!first) return stream;
            first = false;
            return cutAfter(stream, limit);
          },
        };
      },
    },
  };
}
