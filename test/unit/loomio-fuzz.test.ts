// The Loomio preview path (token → decrypt → plain pg_dump reader → report) on 240 mutated inputs
// in a fixed-seed loop: tokens (cuts, bad base64, wrong version byte, swapped characters) and
// plaintexts encrypted like the stack's (cut inside COPY data, a COPY without its \., NUL bytes,
// a huge single line, many tables, garbage). Each ends in a report or a typed LifeboatError —
// never another exception, never a hang — and a report that says "intact" counts what is there.
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import type { ArchiveAccess } from '../../src/main/apps/adapter';
import { scanLoomioArchive } from '../../src/main/apps/loomio/archive-scan';
import { LOOMIO_KDF, type LoomioKey } from '../../src/main/apps/loomio/key';
import { buildLoomioPreview } from '../../src/main/apps/loomio/preview';
import { deriveFernetKey, fernetEncryptStream } from '../../src/main/formats/fernet';
import { encryptWith } from '../fleet/loomio/fleet';
import { LOOMIO_SAMPLES, seededRandom } from '../fleet/loomio/samples';

const step = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };
const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
const dump = LOOMIO_SAMPLES.plaintext;
let key: LoomioKey;

beforeAll(async () => {
  key = { key: await deriveFernetKey(LOOMIO_SAMPLES.passphrase, LOOMIO_KDF), verifiedBefore: false, markVerified: () => undefined };
});

type Mutation = (r: () => number) => Buffer;
const pick = (r: () => number, n: number): number => Math.floor(r() * n);
const text = dump.toString('utf8');
const copyData = text.indexOf('COPY public.schema_migrations');

const PLAINTEXT: Record<string, Mutation> = {
  cut: (r) => dump.subarray(0, pick(r, dump.length)),
  cutInsideCopy: (r) => dump.subarray(0, copyData + 60 + pick(r, 40)),
  noEndOfData: (r) => Buffer.from(text.split('\n').filter((l) => l !== '\\.' || r() < 0.5).join('\n')),
  nulBytes: (r) => {
    const copy = Buffer.from(dump);
    for (let i = 0; i < 1 + pick(r, 20); i++) copy[pick(r, copy.length)] = 0;
    return copy;
  },
  hugeLine: (r) => Buffer.concat([dump.subarray(0, 400), Buffer.alloc((1 + pick(r, 4)) << 20, 'x'), Buffer.from('\n'), dump.subarray(400)]),
  hugeCopyRow: (r) => Buffer.from(text.replace('COPY public.users (id, email, name, created_at) FROM stdin;\n', `COPY public.users (id, email, name, created_at) FROM stdin;\n${'y'.repeat((1 + pick(r, 3)) << 20)}\n`)),
  manyTables: (r) => Buffer.from(text + Array.from({ length: 200 + pick(r, 2000) }, (_, i) => `COPY public.t${i} (a) FROM stdin;\n${'1\n'.repeat(i % 5)}\\.\n`).join('')),
  garbage: (r) => Buffer.from(Array.from({ length: 100 + pick(r, 5000) }, () => pick(r, 256))),
  deleteLine: (r) => {
    const lines = text.split('\n');
    lines.splice(pick(r, lines.length), 1);
    return Buffer.from(lines.join('\n'));
  },
  empty: () => Buffer.alloc(0),
};

const TOKEN: Record<string, (token: Buffer, r: () => number) => Buffer> = {
  cut: (t, r) => t.subarray(0, pick(r, t.length)),
  badBase64: (t, r) => {
    const copy = Buffer.from(t);
    copy[pick(r, copy.length)] = [0x2b, 0x2f, 0x00, 0x0a, 0x2e, 0xc3][pick(r, 6)]!;
    return copy;
  },
  version: (t, r) => Buffer.concat([Buffer.from([ALPHABET[pick(r, 64)]!]), t.subarray(1)]),
  swap: (t, r) => {
    const copy = Buffer.from(t);
    const i = pick(r, copy.length - 2);
    copy[i] = ALPHABET[(ALPHABET.indexOf(copy[i]!) + 1 + pick(r, 63)) % 64]!;
    return copy;
  },
};

function archive(bytes: Buffer, chunk: number): ArchiveAccess {
  return {
    fileName: 'loomio-hourly-20261123-131211.sql.enc',
    size: bytes.length,
    mtime: new Date(),
    sidecars: [],
    async open() {
      const pieces: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
      return Readable.from(pieces);
    },
  };
}

describe('240 mutated Loomio backups', () => {
  it('each previews as a report (intact or not) or fails typed', async () => {
    const rnd = seededRandom(75);
    const outcomes = new Map<string, number>();
    const plainNames = Object.keys(PLAINTEXT);
    const tokenNames = Object.keys(TOKEN);
    for (let n = 0; n < 240; n++) {
      const viaPlaintext = n % 2 === 0;
      const name = viaPlaintext ? plainNames[(n / 2) % plainNames.length]! : tokenNames[((n - 1) / 2) % tokenNames.length]!;
      const bytes = viaPlaintext ? await encryptWith(key.key, PLAINTEXT[name]!(rnd)) : TOKEN[name]!(LOOMIO_SAMPLES.hourly, rnd);
      const label = `#${n} ${viaPlaintext ? 'plaintext' : 'token'} ${name}`;
      let verdict: string;
      try {
        const scan = await scanLoomioArchive(archive(bytes, 1 + pick(rnd, 70_000)), step, { readDump: true, key: async () => key });
        const report = buildLoomioPreview(archive(bytes, 1), scan, null, new Date());
        verdict = report.integrity.ok ? 'intact' : report.integrity.checks.find((c) => !c.ok)!.id;
        if (report.integrity.ok) {
          for (const row of report.contents.rows) expect(Number.isInteger(row.rows), label).toBe(true);
        } else {
          expect(report.contents.rows, label).toEqual([]);
        }
      } catch (error) {
        if (!(error instanceof LifeboatError)) throw new Error(`${label} threw ${String(error)}`, { cause: error });
        verdict = `error:${error.code}`;
      }
      outcomes.set(verdict, (outcomes.get(verdict) ?? 0) + 1);
    }
    // Both kinds of failure appear, and intact plaintext mutations (a NUL byte in a comment) too.
    expect(outcomes.get('fernet-hmac') ?? 0).toBeGreaterThan(30);
    expect(outcomes.get('pg-dump') ?? 0).toBeGreaterThan(20);
    expect(outcomes.get('intact') ?? 0).toBeGreaterThan(10);
  });
});

describe('a dump of 10^6 tables', () => {
  it('streams through token → decrypt → reader as one encrypted backup: every block counted, the list capped, memory bounded', async () => {
    const TABLES = 1_000_000;
    const [header, trailer] = [text.slice(0, text.indexOf('--\n-- Name:')), text.slice(text.lastIndexOf('--\n-- PostgreSQL database dump complete'))];
    // Made while it is read: neither the plaintext (≈ 100 MB) nor the token is ever whole in memory.
    function* plaintext(): Generator<Buffer> {
      yield Buffer.from(header);
      for (let start = 0; start < TABLES; start += 10_000) {
        let block = '';
        for (let i = start; i < start + 10_000; i++) block += `-- Name: t${i}; Type: TABLE; Schema: public; Owner: -\nCOPY public.t${i} (id) FROM stdin;\n${'1\n'.repeat(i % 3)}\\.\n`;
        yield Buffer.from(block);
      }
      yield Buffer.from(trailer);
    }
    const access: ArchiveAccess = { fileName: 'loomio-manual-20261123-131211-many.sql.enc', size: null, mtime: null, sidecars: [], open: async () => Readable.from(plaintext()).pipe(fernetEncryptStream(key.key)) };
    global.gc?.();
    const before = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers)), 20);
    let scan;
    try {
      scan = await scanLoomioArchive(access, step, { readDump: true, key: async () => key });
    } finally {
      clearInterval(sampler);
    }
    expect(scan.failure).toBeNull();
    expect(scan.fernet).not.toBeNull();
    const sql = scan.sql!;
    expect(sql.tables.length + sql.tablesNotListed).toBe(TABLES);
    expect(sql.tables.length).toBeLessThan(TABLES);
    expect(sql.totalRows).toBe(Array.from({ length: 3 }, (_, r) => r * Math.floor((TABLES + 2 - r) / 3)).reduce((a, b) => a + b, 0));
    const report = buildLoomioPreview(access, scan, null, new Date());
    expect(report.integrity.ok).toBe(true);
    expect(report.summary.find((f) => f.label === 'Tables with data')?.value).toBe(String(TABLES));
    // Bounded: the capped list, not a million tables (nor the ≈ 100 MB of text).
    expect(peak - (before.heapUsed + before.arrayBuffers)).toBeLessThan(256 * 1024 * 1024);
  }, 180_000);
});
