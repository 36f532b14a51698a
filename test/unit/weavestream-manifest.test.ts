/** The Weavestream manifest sidecar: the sample files parse, round-trip byte for byte, and bad ones are named. */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  effectivePasswordKid, hasKnownMigrationHash, parseWeavestreamManifest, serializeWeavestreamManifest, WEAVESTREAM_MANIFEST_KEYS,
} from '../../src/main/apps/weavestream/manifest';

const ROOT = path.resolve('test/fixtures/weavestream');
const MANIFESTS = readdirSync(ROOT, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.manifest.json')).map((f) => path.join(ROOT, f));
const SAMPLE = readFileSync(MANIFESTS[0] as string, 'utf8');

function mutate(change: (m: Record<string, unknown>) => void): string {
  const m = JSON.parse(SAMPLE) as Record<string, unknown>;
  change(m);
  return JSON.stringify(m, null, 2);
}

describe('parseWeavestreamManifest', () => {
  it('parses both sample sidecars and re-serialises them to the exact same bytes', () => {
    expect(MANIFESTS).toHaveLength(2);
    for (const file of MANIFESTS) {
      const text = readFileSync(file, 'utf8');
      const manifest = parseWeavestreamManifest(text);
      expect(manifest.filename).toBe(path.basename(file).replace('.manifest.json', '.dump'));
      expect(serializeWeavestreamManifest(manifest)).toBe(text);
      expect(text.endsWith('\n')).toBe(false);
    }
  });

  it('reads the sample values', () => {
    const manifest = parseWeavestreamManifest(SAMPLE);
    expect(Object.keys(manifest)).toEqual([...WEAVESTREAM_MANIFEST_KEYS]);
    expect(manifest).toMatchObject({ weavestreamVersion: '1.9.11', passwordEncryptionKid: '1', databaseUrlHostname: 'postgres' });
    expect(hasKnownMigrationHash(manifest)).toBe(true);
    expect(effectivePasswordKid(manifest)).toBe('1');
  });

  it('null kid means the default kid "1"; unknown:<reason> migration hash is valid but not comparable', () => {
    const manifest = parseWeavestreamManifest(mutate((m) => {
      m.passwordEncryptionKid = null;
      m.prismaMigrationHash = 'unknown:migrations directory not found (cwd=/app)';
    }));
    expect(effectivePasswordKid(manifest)).toBe('1');
    expect(hasKnownMigrationHash(manifest)).toBe(false);
  });

  const bad: [string, string, RegExp][] = [
    ['not JSON', '{"weavestreamVersion": ', /is not valid JSON/],
    ['uppercase sha256', mutate((m) => { m.sha256 = String(m.sha256).toUpperCase(); }), /field sha256 must be 64 lowercase hex/],
    ['size as string', mutate((m) => { m.sizeBytes = '10568'; }), /field sizeBytes/],
    ['negative size', mutate((m) => { m.sizeBytes = -1; }), /field sizeBytes/],
    ['hash without prefix', mutate((m) => { m.prismaMigrationHash = 'abc'; }), /field prismaMigrationHash/],
    ['time without milliseconds', mutate((m) => { m.generatedAt = '2026-11-23T13:16:59Z'; }), /field generatedAt/],
    ['a foreign file name', mutate((m) => { m.filename = '../etc/passwd'; }), /field filename/],
    ['an extra key', mutate((m) => { m.extra = 1; }), /extra/],
    ['a missing key', mutate((m) => { delete m.databaseUrlHostname; }), /field databaseUrlHostname/],
  ];
  for (const [what, text, pattern] of bad) {
    it(`refuses ${what} with ARCHIVE_INVALID`, () => {
      expect(() => parseWeavestreamManifest(text, { source: 'x.manifest.json' })).toThrow(expect.objectContaining({ code: 'ARCHIVE_INVALID', message: expect.stringMatching(pattern) }));
    });
  }

  it('refuses keys out of order unless told not to care', () => {
    const { weavestreamVersion, ...rest } = JSON.parse(SAMPLE) as Record<string, unknown>;
    const reordered = JSON.stringify({ ...rest, weavestreamVersion }, null, 2);
    expect(() => parseWeavestreamManifest(reordered)).toThrow(/keys are not in Weavestream's order/);
    expect(parseWeavestreamManifest(reordered, { strictKeyOrder: false }).weavestreamVersion).toBe('1.9.11');
  });
});
