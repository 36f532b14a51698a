import { describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { KeytarSecretStore } from '../../src/main/installations/secrets/keytar-store';
import { createCore } from '../../src/main/core';
import { makeTestHome } from '../harness/home';
import { testSecret } from '../harness/secrets';

const run = promisify(execFile);
const cli = path.resolve('bin/lifeboat.mjs');

describe('keytar against a real gnome-keyring on a private D-Bus session', () => {
  it('sets, reads and deletes a secret', async () => {
    const probe = await KeytarSecretStore.probe();
    if (!('store' in probe)) throw new Error(`expected the test keyring (run under scripts/with-test-env.sh): ${probe.reason}`);
    const { store } = probe;
    expect(store.status().kind).toBe('keychain');
    const account = `test:${Date.now()}`;
    const secret = testSecret('keyring');
    await store.set(account, secret);
    expect(await store.get(account)).toBe(secret);
    expect(await store.delete(account)).toBe(true);
    expect(await store.get(account)).toBeNull();
  });

  it('keeps installation secrets in the keychain and only their purposes in the config file', async () => {
    const core = await createCore({ home: makeTestHome('keychain') });
    try {
      expect(core.secrets().status().kind).toBe('keychain');
      const token = testSecret('token');
      const added = await core.registry.add({ name: 'mesh', app: 'meshmonitor', https: { baseUrl: 'https://mesh.example.org', auth: 'bearer' }, secrets: { 'api-token': token } });
      expect(await core.registry.secret(added.id, 'api-token')).toBe(token);
      await core.registry.remove(added.id);
      expect(await core.registry.secret(added.id, 'api-token')).toBeNull();
    } finally {
      await core.close();
    }
  });

  it('without any D-Bus session, says clearly that no keychain is available', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, LIFEBOAT_HOME: makeTestHome('nokeychain') };
    delete env.DBUS_SESSION_BUS_ADDRESS;
    delete env.DISPLAY;
    const { stdout } = await run(process.execPath, [cli, '--json', 'info'], { env });
    const info = JSON.parse(stdout) as { secrets: { kind: string; description: string } };
    expect(info.secrets.kind).toBe('unavailable');
    expect(info.secrets.description).toMatch(/No keychain available: no desktop session bus \(D-Bus\)/);
    const added = spawnSync(process.execPath, [cli, 'installations', 'add', '--name', 'x', '--app', 'meshmonitor', '--https-url', 'https://m.example.org', '--secret-stdin', 'api-token'], { env, input: testSecret('stdin'), encoding: 'utf8' });
    expect(added.status).toBe(1);
    expect(added.stderr).toMatch(/never stores secrets in plain text.*ask every time/s);
  });
});
