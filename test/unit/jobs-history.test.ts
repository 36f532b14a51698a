import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/events/event-bus';
import { JobManager } from '../../src/main/jobs/job-manager';

const dir = () => mkdtempSync(path.join(os.tmpdir(), 'lifeboat-jobs-'));

/** Waits for the history file to hold `lines` lines (appends are not awaited by the job). */
async function lines(file: string, count: number): Promise<string[]> {
  for (let i = 0; i < 500; i++) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const all = text.split('\n').filter(Boolean);
    if (all.length >= count) return all;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the history never reached ${count} lines`);
}

describe('the job history file', () => {
  it('keeps a large result out of the file, and says so', async () => {
    const file = path.join(dir(), 'jobs.jsonl');
    const jobs = new JobManager(new EventBus(), file);
    const big = 'x'.repeat(200_000);
    await jobs.wait(jobs.start({ kind: 'preview', title: 'big' }, async () => ({ text: big })).id);
    const [line] = await lines(file, 1);
    expect(line!.length).toBeLessThan(10_000);
    expect(JSON.parse(line!).result).toEqual({ omitted: expect.stringMatching(/is not kept in the job history/) });
  });

  it('a huge history with a torn line never stops start-up: the tail is read and the file moved aside', async () => {
    const file = path.join(dir(), 'jobs.jsonl');
    const record = (i: number) => JSON.stringify({ id: `job-${i}`, kind: 'pull', title: `pull ${i}`, installationId: null, status: 'succeeded', progress: { phase: 'succeeded', bytes: 0, total: null, rate: null, etaSeconds: null }, cancellable: true, createdAt: new Date(1_700_000_000_000 + i).toISOString(), startedAt: null, finishedAt: null, error: null, result: { pad: 'p'.repeat(4000) }, log: [] });
    const body = Array.from({ length: 9000 }, (_, i) => record(i)).join('\n');
    writeFileSync(file, `${body}\n{"id": "torn`);
    expect(statSync(file).size).toBeGreaterThan(32 * 1024 * 1024);
    const jobs = new JobManager(new EventBus(), file);
    await jobs.loadHistory();
    const listed = jobs.list({ limit: 500 });
    expect(listed).toHaveLength(500);
    expect(listed[0]!.id).toBe('job-8999');
    expect(existsSync(`${file}.old`)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it('takes in jobs another process appended, once each', async () => {
    const file = path.join(dir(), 'jobs.jsonl');
    const here = new JobManager(new EventBus(), file);
    await here.loadHistory();
    const there = new JobManager(new EventBus(), file);
    await there.wait(there.start({ kind: 'pull', title: 'by the other process' }, async () => 1).id);
    await lines(file, 1);
    expect(here.list().map((j) => j.title)).toEqual(['by the other process']);
    expect(here.list()).toHaveLength(1);
  });
});
