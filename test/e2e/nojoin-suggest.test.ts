// A Nojoin ZIP dropped on the Fleet page: "Add to vault" preselects the installation the
// archive's backup_info.json points to (the only one exporting audio as it was made) and says why.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { screenshot, twinCall, type TwinAnswer } from '../harness/browser';
import { dropFiles } from '../harness/drop-files';
import { useServedE2e } from '../harness/e2e-served';
import { testSecret } from '../harness/secrets';

const SAMPLE = path.resolve(import.meta.dirname, '..', 'fixtures', 'nojoin', 'nojoin_backup_sample.zip');
const e2e = useServedE2e('nojoin-suggest');

const callTwin = (name: string, input: unknown): Promise<TwinAnswer> => twinCall(e2e.lifeboat, name, input);

describe('Add to vault of a dropped Nojoin ZIP', () => {
  it('preselects the suggested installation and says why', async () => {
    const add = async (name: string, settings: Record<string, unknown>) => {
      const added = await callTwin('installations:add', { name, app: 'nojoin', https: { baseUrl: 'https://127.0.0.1:9', auth: 'password', username: 'alice' }, settings, secrets: { 'https-password': testSecret('nojoin-password') } });
      expect(added.ok, JSON.stringify(added.error)).toBe(true);
      return added.data as { id: string; name: string };
    };
    await add('Nojoin meeting room', { includeAudio: false });
    const office = await add('Nojoin office', { includeAudio: true, archiveQuality: 'compressed' });
    const page = e2e.page;
    await page.goto(e2e.lifeboat.url);
    await page.getByRole('listitem', { name: office.name }).waitFor();
    await dropFiles(page, [{ name: path.basename(SAMPLE), base64: readFileSync(SAMPLE).toString('base64') }], '.fleet-list');
    const actions = page.getByRole('region', { name: 'What to do with this file' });
    await actions.waitFor({ timeout: 30_000 });
    expect(await actions.getByLabel('As a backup of').inputValue()).toBe(office.id);
    expect(await actions.getByTestId('installation-suggestion').innerText()).toBe('Suggested: Nojoin office, because Nojoin office is the only Nojoin installation that exports with audio (compressed), as this archive was made (by Nojoin 2.4.0).');
    await screenshot(page, 'e2e-nojoin-suggest');
  });
});
