// The banner of an interrupted restore (#17): a served Lifeboat whose data directory holds the
// journal a killed restore left (past its point of no return, with a safety snapshot) says at
// start what was interrupted, in which phase, what state the target is in, links the restore of
// the safety snapshot, and goes once acknowledged. (The kill -9 in each phase itself is in
// test/integration/restore-interrupted.test.ts.)
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { screenshot, startLifeboat, twinData, useBrowserPage } from '../harness/browser';
import { makeTestHome } from '../harness/home';
import type { InterruptedRestore } from '../../src/shared/apps';

const view = useBrowserPage('interrupted-restore');
const RESTORE_ID = '0b5c3e4a-7d1f-4c2e-9a8b-6f5e4d3c2b1a';
const SAFETY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';

describe('an interrupted restore', () => {
  it('is shown at start with the phase, the state of the target and the safety snapshot, until acknowledged', async () => {
    const home = makeTestHome('e2e-interrupted');
    // A process that has ended: the journal's writer is gone.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const dir = path.join(home, 'restores', 'journal');
    mkdirSync(dir, { recursive: true });
    const at = '2026-12-03T10:00:00.000Z';
    writeFileSync(path.join(dir, `${RESTORE_ID}.json`), JSON.stringify({
      version: 1, restoreId: RESTORE_ID, planId: '5d41402a-bc4b-4a76-b971-9d911017c592', installationId: 'inst-1', installationName: 'Office Nojoin', app: 'nojoin',
      sourceLabel: 'nojoin_backup_20260819.zip', snapshotId: null, mode: 'full', phase: 'restoring', pointOfNoReturnPassed: true, safetySnapshotId: SAFETY,
      startedAt: at, phaseStartedAt: at, updatedAt: at, writer: { pid: Number(dead.stdout), startTicks: null },
    }));
    const lifeboat = await startLifeboat({ home });
    try {
      const page = view.page;
      await page.goto(lifeboat.url);
      const banner = page.getByRole('alert', { name: 'Interrupted restore of Office Nojoin' });
      await banner.waitFor();
      await expect(banner.textContent()).resolves.toContain('was interrupted while restoring');
      await expect(banner.textContent()).resolves.toContain('Target: partially restored, state unknown.');
      await expect(banner.textContent()).resolves.toContain('Restore again, or restore the safety snapshot (the safety snapshot a1b2c3d4');
      const link = banner.getByRole('link', { name: 'Restore the safety snapshot…' });
      expect(await link.getAttribute('href')).toBe(`#/fleet/restore/inst-1/${SAFETY}`);
      await screenshot(page, 'interrupted-restore-banner');
      await banner.getByRole('button', { name: 'Acknowledge' }).click();
      await banner.waitFor({ state: 'detached' });
      expect(await twinData<InterruptedRestore[]>(lifeboat, 'restore:interrupted', {})).toEqual([]);
    } finally {
      await lifeboat.stop();
    }
  }, 60_000);
});
