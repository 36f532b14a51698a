/**
 * The whole SSH path through the UI against a real OpenSSH sshd: add an installation with a key
 * file, see the unknown host key with its real fingerprint, trust it and go green; then rotate
 * the server's key and see Lifeboat refuse it with no way to trust it from the prompt, and
 * re-pin it the documented way (edit, paste the fingerprint verified on the server, test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshot, twinCall } from '../harness/browser';
import { expectAccessible } from '../harness/axe';
import { useServedE2e } from '../harness/e2e-served';
import { rowAction } from '../harness/fleet-row';
import { startSshd, type TestSshd } from '../harness/sshd';

let sshd: TestSshd;

const e2e = useServedE2e('ssh');

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd?.stop();
});

const row = (): ReturnType<Page['getByRole']> => e2e.page.getByRole('listitem', { name: 'Test sshd' });

describe('SSH host key trust', () => {
  it('adds an SSH installation and asks to trust the real host key', async () => {
    await e2e.page.goto(e2e.lifeboat.url);
    await e2e.page.getByRole('button', { name: 'Add installation' }).click();
    const dialog = e2e.page.getByRole('dialog', { name: 'Add installation' });
    await dialog.getByLabel('Name', { exact: true }).fill('Test sshd');
    await dialog.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await dialog.getByLabel('Port', { exact: true }).fill(String(sshd.port));
    await dialog.getByLabel('User', { exact: true }).fill(sshd.user);
    await dialog.getByRole('radio', { name: 'Key file' }).check();
    await dialog.getByLabel('Private key file').fill(sshd.clientKeyPath);
    await dialog.getByRole('button', { name: 'Add installation' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const trust = e2e.page.getByRole('dialog', { name: 'Trust this SSH host key?' });
    await trust.waitFor({ timeout: 20_000 });
    expect(await trust.getByTestId('fp-fingerprint').innerText()).toBe(sshd.hostKeyFingerprint);
    expect(await trust.getByTestId('fp-algorithm').innerText()).toContain('ed25519');
    expect(await trust.getByTestId('fp-host').innerText()).toContain(`127.0.0.1:${sshd.port}`);
    // The fingerprint is set in monospace.
    expect(await trust.getByTestId('fp-fingerprint').evaluate((el) => getComputedStyle(el).fontFamily)).toMatch(/mono/i);
    expect(await row().locator('[data-state]').getAttribute('data-state')).toBe('host-key-untrusted');
    // The primary action has focus: Enter would trust, Esc backs out.
    expect(await e2e.page.evaluate(() => document.activeElement?.textContent)).toBe('Trust and connect');
    await screenshot(e2e.page, 'e2e-ssh-trust-dialog');
    await expectAccessible(e2e.page, 'ssh-trust-dialog');
  });

  it('pins it on "Trust and connect" and goes green', async () => {
    await e2e.page.getByRole('button', { name: 'Trust and connect' }).click();
    await row().locator('[data-state="online"]').waitFor({ timeout: 20_000 });
    await row().getByText('Connection test passed').waitFor();
    const installations = (await call('installations:list', {})) as { data: { ssh: { hostKeySha256: string } }[] };
    expect(installations.data[0]?.ssh.hostKeySha256).toBe(sshd.hostKeyFingerprint);
    await row().locator('.fleet-test summary').click();
    expect(await row().locator('.steps').innerText()).toContain(sshd.hostKeyFingerprint);
    await screenshot(e2e.page, 'e2e-ssh-online');
  });

  it('refuses a changed host key with both fingerprints and no trust button', async () => {
    const original = sshd.hostKeyFingerprint;
    const rotated = await sshd.rotateHostKey();
    expect(rotated).not.toBe(original);
    await rowAction(e2e.page, 'Test sshd', 'Test connection to Test sshd');
    const warning = e2e.page.getByRole('dialog', { name: 'The SSH host key has changed' });
    await warning.waitFor({ timeout: 20_000 });
    expect(await warning.getByTestId('fp-trusted').innerText()).toBe(original);
    expect(await warning.getByTestId('fp-presented-now').innerText()).toBe(rotated);
    expect(await warning.getByRole('button', { name: /trust/i }).count()).toBe(0);
    expect(await row().locator('[data-state]').getAttribute('data-state')).toBe('host-key-untrusted');
    await screenshot(e2e.page, 'e2e-ssh-key-changed');
    await expectAccessible(e2e.page, 'ssh-key-changed-dialog');

    // Re-pin the documented way: edit, enter the fingerprint verified on the server, save (which tests).
    await warning.getByRole('button', { name: 'Edit installation…' }).click();
    const edit = e2e.page.getByRole('dialog', { name: 'Edit Test sshd' });
    const pin = edit.getByLabel('Pinned host key');
    expect(await pin.inputValue()).toBe(original);
    await pin.fill('SHA256:not-a-fingerprint');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await edit.getByText('a SHA256 fingerprint looks like').waitFor();
    await pin.fill(rotated);
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await edit.waitFor({ state: 'hidden' });
    await row().locator('[data-state="online"]').waitFor({ timeout: 20_000 });
    expect(((await call('installations:list', {})) as { data: { ssh: { hostKeySha256: string } }[] }).data[0]?.ssh.hostKeySha256).toBe(rotated);
  });
});

const call = (name: string, input: unknown): Promise<unknown> => twinCall(e2e.lifeboat, name, input);
