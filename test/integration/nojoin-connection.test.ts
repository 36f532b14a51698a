// The connection test of a Nojoin installation against the fake Nojoin: one login, a superuser
// check said in plain words, the pinned certificate confirmed by Nojoin's fingerprint endpoint,
// and a refused password never sent again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import type { ConnectionTestReport } from '../../src/shared/contract/installations';
import type { JobRecord } from '../../src/shared/jobs';
import { makeTestHome } from '../harness/home';
import { startNojoinFleet, type NojoinFleet } from '../fleet/nojoin/fleet';

let core: Core;
let nojoin: NojoinFleet;
const client = () => createInProcessClient(core);

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('nojoin-connection'), secretStore: new MemorySecretStore('nojoin connection') });
  nojoin = await startNojoinFleet();
});

afterAll(async () => {
  await core?.close();
  await nojoin?.stop();
});

async function connectionTest(username: string, password: string): Promise<{ record: JobRecord; report: ConnectionTestReport | null }> {
  const base = nojoin.installation;
  const installation = await client().call('installations:add', { ...base, name: `Nojoin as ${username} ${password.length}`, https: { ...base.https!, username }, secrets: { 'https-password': password } });
  const { jobId } = await client().call('installations:test', { id: installation.id });
  const record = await core.jobs.wait(jobId);
  return { record, report: (record.result as ConnectionTestReport | null) ?? null };
}

describe('Nojoin connection test', () => {
  it('signs a superuser in once and confirms the pinned certificate with Nojoin’s own fingerprint', async () => {
    const before = nojoin.fake.loginAttempts();
    const { record, report } = await connectionTest('alice', 'alice-password-1');
    const access = report?.steps.find((s) => s.name === 'Access');
    expect(access, JSON.stringify(record.error ?? report)).toMatchObject({ ok: true });
    expect(access!.detail).toContain('signed in as a superuser');
    expect(access!.detail).toContain('the certificate matches the one Nojoin reports');
    expect(nojoin.fake.loginAttempts() - before).toBe(1);
  });

  it('says in plain words that an account that is not a superuser cannot back up', async () => {
    const { record, report } = await connectionTest('bob', 'bob-password-1');
    const text = JSON.stringify([record.error, report]);
    expect(record.status === 'failed' || report?.ok === false).toBe(true);
    expect(text).toMatch(/not a superuser/i);
  });

  it('does not send a password Nojoin refused a second time', async () => {
    const first = await connectionTest('alice', 'wrong-password');
    expect(JSON.stringify([first.record.error, first.report])).toMatch(/password|credentials|refused/i);
    const attempts = nojoin.fake.loginAttempts();
    const installations = await client().call('installations:list', {});
    const wrong = installations.find((i) => i.name === 'Nojoin as alice 14')!;
    const again = await core.jobs.wait((await client().call('installations:test', { id: wrong.id })).jobId);
    expect(again.status === 'failed' || (again.result as ConnectionTestReport).ok === false).toBe(true);
    expect(nojoin.fake.loginAttempts()).toBe(attempts);
  });
});
