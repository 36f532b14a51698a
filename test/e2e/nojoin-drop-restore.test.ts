// The Nojoin promise end to end in Chromium: drop the real sample ZIP on the Fleet page, see what
// is inside (told from its content), play its recording straight out of the archive, restore it
// with "Skip existing" into the test fleet's Nojoin, and read the verification report. The
// server lost a recording first, so the Skip restore has something to bring back.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore, MemorySecretStore, type Core } from '../../src/main/core';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { startTwin, type Twin } from '../../src/main/contract/http-twin';
import type { Installation } from '../../src/shared/installations';
import { screenshot, useBrowserPage } from '../harness/browser';
import { dropFiles } from '../harness/drop-files';
import { makeTestHome } from '../harness/home';
import { startNojoinFleet, type NojoinFleet } from '../fleet/nojoin/fleet';

const SAMPLE = path.resolve('test/fixtures/nojoin/nojoin_backup_sample.zip');
const view = useBrowserPage('nojoin-drop-restore');
let core: Core;
let twin: Twin;
let nojoin: NojoinFleet;
let installation: Installation;

beforeAll(async () => {
  core = await createCore({ home: makeTestHome('e2e-nojoin-drop'), secretStore: new MemorySecretStore('e2e nojoin') });
  nojoin = await startNojoinFleet();
  const client = createInProcessClient(core);
  await client.call('vault:init', {});
  installation = await client.call('installations:add', nojoin.installation);
  twin = await startTwin(core, { rendererDir: path.resolve('dist/renderer') });
}, 60_000);

afterAll(async () => {
  await twin?.close();
  await core?.close();
  await nojoin?.stop();
});

describe('a Nojoin ZIP dropped on the window', () => {
  it('is previewed, its recording plays, and a Skip restore brings the lost recording back, verified', async () => {
    const page = view.page;
    const lost = nojoin.fake.store.rows('recordings').at(-1)!;
    nojoin.fake.store.removeRecording(lost.id as number);
    const recordingsBefore = nojoin.fake.store.rows('recordings').length;

    await page.goto(twin.url);
    await page.goto(`${twin.url.split('#')[0]}#/fleet`);
    await page.getByRole('listitem', { name: installation.name }).waitFor();
    await dropFiles(page, [{ name: path.basename(SAMPLE), base64: readFileSync(SAMPLE).toString('base64') }], '.fleet-list');
    const actions = page.getByRole('region', { name: 'What to do with this file' });
    await actions.waitFor({ timeout: 30_000 });
    const summary = await page.locator('.preview-summary').innerText();
    expect(summary).toContain('Nojoin');
    expect(summary).toContain('Archive format');
    await screenshot(page, 'e2e-nojoin-drop-preview');

    await page.getByRole('tab', { name: 'Secrets & not included' }).click();
    expect(await page.getByRole('tabpanel').innerText()).toMatch(/password hash/i);

    // The recording, played from the archive by the core (no file unpacked).
    await page.getByRole('tab', { name: 'Listen' }).click();
    const playable = page.getByRole('list', { name: 'Recordings to play' }).getByRole('button');
    expect(await playable.count()).toBe(1);
    await playable.first().click();
    const audio = page.locator('.media-list audio');
    await audio.waitFor();
    await page.waitForFunction(() => {
      const element = document.querySelector('.media-list audio') as HTMLAudioElement | null;
      return element !== null && element.error === null && element.readyState >= 2 && element.duration > 0;
    }, undefined, { timeout: 20_000 });
    expect(await audio.evaluate((a: HTMLAudioElement) => a.error)).toBeNull();
    await screenshot(page, 'e2e-nojoin-drop-listen');

    await actions.getByRole('link', { name: `Restore into ${installation.name}…` }).click();
    const wizard = page.locator('.wizard');
    const next = wizard.getByRole('button', { name: 'Next' });
    await wizard.getByText(`Chosen file: ${path.basename(SAMPLE)}`).waitFor();
    await next.click();
    await next.click();
    await wizard.getByRole('radio', { name: /Whole archive/ }).check();
    await wizard.getByRole('radio', { name: /Skip existing/ }).check();
    await next.click();
    await wizard.getByTestId('point-of-no-return').waitFor({ timeout: 60_000 });
    expect(await wizard.locator('.check-list li[data-ok="false"][data-blocking="true"]').count()).toBe(0);
    expect(await wizard.innerText()).toContain('recordings: added');
    await screenshot(page, 'e2e-nojoin-drop-plan');
    await next.click();
    await next.click();
    await wizard.getByLabel(/to confirm/).fill(installation.name);
    await wizard.getByRole('button', { name: `Restore ${installation.name}` }).click();
    const report = wizard.getByRole('region', { name: 'Restore report' });
    await report.waitFor({ timeout: 120_000 });
    await screenshot(page, 'e2e-nojoin-drop-report');
    expect(await report.locator('.pill').first().innerText()).toContain('✓ restore verified');
    expect(await report.innerText()).toMatch(/Recordings\s+all \d+ archived recordings are on the server/);
    expect(nojoin.fake.store.rows('recordings').length).toBe(recordingsBefore + 1);
    expect(nojoin.fake.store.rows('recordings').some((r) => r.name === lost.name)).toBe(true);
  });
});
