import { describe, expect, it } from 'vitest';
import { DEFAULT_ANOMALY_THRESHOLDS } from '../../src/shared/anomalies';
import { compareVersions, detectAnomalies, type SnapshotFacts } from '../../src/main/anomalies/detect';

const facts = (id: string, over: Partial<SnapshotFacts> = {}): SnapshotFacts => ({
  snapshotId: id.padEnd(16, '0'),
  time: '2026-12-01T00:00:00Z',
  sizeBytes: 1000,
  appVersion: '1.9.0',
  tables: [{ table: 'public.users', rows: 100 }, { table: 'public.comments', rows: 400 }],
  durationMs: 10_000,
  ...over,
});
const history = [facts('a'), facts('b'), facts('c')];

describe('anomaly rules', () => {
  it('an ordinary snapshot has no findings, nor does the first one', () => {
    expect(detectAnomalies(facts('n'), history, DEFAULT_ANOMALY_THRESHOLDS)).toEqual([]);
    expect(detectAnomalies(facts('n', { sizeBytes: 1 }), [], DEFAULT_ANOMALY_THRESHOLDS)).toEqual([]);
  });

  it('size and total rows far below the median of the last N', () => {
    const kinds = detectAnomalies(facts('n', { sizeBytes: 400, tables: [{ table: 'public.users', rows: 100 }, { table: 'public.comments', rows: 100 }] }), history, DEFAULT_ANOMALY_THRESHOLDS).map((f) => f.kind);
    expect(kinds).toEqual(['size-shrank', 'rows-shrank', 'rows-fell']);
  });

  it('a vanished table, an emptied one, each named', () => {
    const found = detectAnomalies(facts('n', { tables: [{ table: 'public.users', rows: 0 }] }), history, DEFAULT_ANOMALY_THRESHOLDS);
    expect(found.map((f) => [f.kind, f.table])).toEqual(expect.arrayContaining([['rows-shrank', null], ['table-emptied', 'public.users'], ['table-vanished', 'public.comments']]));
    expect(found).toHaveLength(3);
  });

  it('a version that went backwards, a run far slower than usual; thresholds change the verdict', () => {
    expect(detectAnomalies(facts('n', { appVersion: '1.10.0' }), history, DEFAULT_ANOMALY_THRESHOLDS)).toEqual([]);
    expect(detectAnomalies(facts('n', { appVersion: '1.8.9' }), history, DEFAULT_ANOMALY_THRESHOLDS).map((f) => f.kind)).toEqual(['version-backwards']);
    expect(detectAnomalies(facts('n', { durationMs: 40_000 }), history, DEFAULT_ANOMALY_THRESHOLDS).map((f) => f.kind)).toEqual(['slow-run']);
    expect(detectAnomalies(facts('n', { durationMs: 40_000 }), history, { ...DEFAULT_ANOMALY_THRESHOLDS, maxDurationFactor: 5 })).toEqual([]);
    expect(compareVersions('2.0', '10.0')).toBe(-1);
  });
});
