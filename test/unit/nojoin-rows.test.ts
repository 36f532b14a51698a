// The row check Lifeboat runs before a Nojoin restore: the rows Nojoin's models would reject
// (and so abort the whole restore) are named by member, row, field and reason.
import { describe, expect, it } from 'vitest';
import { describeRowProblem, isAcceptedDatetime, rowValidatorFor } from '../../src/main/apps/nojoin/format/rows';
import { NOJOIN_TABLES, NOJOIN_TABLE_SPECS, tablesOfFormat } from '../../src/main/apps/nojoin/format/tables';

const validate = rowValidatorFor(2);
const RECORDING = {
  id: 101, created_at: '2026-08-12T13:01:00', updated_at: '2026-08-12T13:01:00.337777', name: 'Q3 planning',
  audio_path: 'recordings/3b0d6c1e.opus', status: 'PROCESSED', client_status: null, pipeline_generation: 'unified',
  processing_started_at: '2026-08-12T13:01:00+00:00', user_id: 1, calendar_event_id: 8,
};

describe('Nojoin row validator', () => {
  it('accepts a well-formed row, naive and offset datetimes, and lax integers', () => {
    expect(validate('recordings', RECORDING, 0)).toBeNull();
    expect(validate('recordings', { ...RECORDING, user_id: '1' }, 0)).toBeNull();
    expect(validate('calendar_events', { calendar_id: 7, provider_event_id: 'x', title: 'T', start_date: '2026-08-12', starts_at: null }, 0)).toBeNull();
  });

  it('names a missing or null required field', () => {
    const { name: _name, ...nameless } = RECORDING;
    const problem = validate('recordings', nameless, 1);
    expect(problem).toMatchObject({ member: 'recordings.json', table: 'recordings', index: 1, id: 101, field: 'name' });
    expect(describeRowProblem(problem!)).toBe('recordings.json row 2 (id 101): "name" is missing (Nojoin has no default for it)');
    expect(validate('users', { username: 'alice', hashed_password: null }, 0)?.why).toContain('is null');
  });

  it('names an enum value Nojoin does not know, and allows null only where the column is nullable', () => {
    expect(validate('recordings', { ...RECORDING, status: 'DONE' }, 0)).toMatchObject({ field: 'status', why: expect.stringContaining('"DONE", not one of UPLOADING') });
    expect(validate('recordings', { ...RECORDING, status: null }, 0)?.field).toBe('status');
    expect(validate('transcripts', { recording_id: 1, transcript_status: 'done' }, 0)?.field).toBe('transcript_status');
    expect(validate('chat_messages', { recording_id: 1, user_id: 1, role: 'system', content: 'x' }, 0)?.field).toBe('role');
  });

  it('refuses dates that do not exist and text that is no date', () => {
    expect(isAcceptedDatetime('2026-02-29T00:00:00')).toBe(false);
    expect(isAcceptedDatetime('2028-02-29T23:59:59.999999')).toBe(true);
    expect(isAcceptedDatetime('2026-08-12 13:01')).toBe(true);
    expect(validate('recordings', { ...RECORDING, created_at: 'yesterday' }, 0)).toMatchObject({ field: 'created_at' });
    expect(validate('calendar_events', { calendar_id: 7, provider_event_id: 'x', title: 'T', end_date: '2026-13-01' }, 0)?.field).toBe('end_date');
  });

  it('refuses ids that are not integers and required text that is not text', () => {
    expect(validate('recordings', { ...RECORDING, user_id: 1.5 }, 0)?.why).toContain('not an integer id');
    expect(validate('recordings', { ...RECORDING, id: 'abc' }, 0)?.field).toBe('id');
    expect(validate('calendar_connections', { user_id: 1, provider: 'google', provider_account_id: 1102 }, 0)?.field).toBe('provider_account_id');
  });

  it('refuses a file path that would leave the recordings folder after restore', () => {
    expect(validate('recordings', { ...RECORDING, audio_path: 'recordings/../../etc/cron.d/x.opus' }, 0)?.why).toContain('outside');
  });

  it('refuses a row that is not an object', () => {
    expect(describeRowProblem(validate('tags', ['name'], 4)!)).toBe('tags.json row 5 is ["name"], not an object');
  });

  it('knows which tables each format wrote, and checks the others all the same', () => {
    expect(tablesOfFormat(1)).toHaveLength(17);
    expect(tablesOfFormat(2)).toEqual([...NOJOIN_TABLES]);
    const legacy = rowValidatorFor(1);
    expect(legacy('documents', { recording_id: 1, title: 'x' }, 0)?.why).toContain('format 1 did not write');
    expect(legacy('recordings', { name: 'old', audio_path: 'recordings/a.opus', user_id: 1 }, 0)).toBeNull();
  });

  it('has a spec for all 20 tables whose links point at tables of the archive', () => {
    for (const table of NOJOIN_TABLES) {
      const spec = NOJOIN_TABLE_SPECS[table];
      for (const target of [...Object.values(spec.ownership), ...Object.values(spec.enrichment)]) {
        if (target !== null) expect(NOJOIN_TABLES).toContain(target);
      }
    }
  });
});
