import { describe, expect, it } from 'vitest';
import { seriesOf } from '../../src/main/anomalies/anomaly-service';

const snap = (remoteId: string | null, name: string | null) => ({ remoteId, archive: name === null ? null : { name, size: 1 } });

describe('seriesOf', () => {
  it('puts one job’s nightly archives in one series', () => {
    expect(seriesOf(snap('3f2a:Job A/db_2026-11-23_13-13-18.sql.gz.enc', 'db_2026-11-23_13-13-18.sql.gz.enc'))).toBe(
      seriesOf(snap('3f2a:Job A/db_2026-11-24_01-00-00.sql.gz.enc', 'db_2026-11-24_01-00-00.sql.gz.enc')),
    );
    expect(seriesOf(snap(null, 'site-001.tar.gz'))).toBe(seriesOf(snap(null, 'site-002.tar.gz')));
    expect(seriesOf(snap('tmpk3j_x9qa.zip', 'tmpk3j_x9qa.zip'))).toBe(seriesOf(snap('tmp8fh2_0zzq.zip', 'tmp8fh2_0zzq.zip')));
  });

  it('keeps config backups, other jobs and other kinds of archive apart', () => {
    const dump = seriesOf(snap('3f2a:Job A/db_2026-11-23_13-13-18.sql.gz.enc', 'db_2026-11-23_13-13-18.sql.gz.enc'));
    expect(seriesOf(snap('3f2a:config-backups/config_backup_2026-11-23.json.gz.enc', 'config_backup_2026-11-23.json.gz.enc'))).not.toBe(dump);
    expect(seriesOf(snap('3f2a:Job B/db_2026-11-23_13-13-18.sql.gz.enc', 'db_2026-11-23_13-13-18.sql.gz.enc'))).not.toBe(dump);
    expect(seriesOf(snap(null, 'site-001.tar.gz'))).not.toBe(seriesOf(snap(null, 'site-001.zip')));
  });
});
