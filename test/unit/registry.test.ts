import { describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { MemorySecretStore } from '../../src/main/installations/secrets';
import { UnavailableSecretStore } from '../../src/main/installations/secrets/unavailable-store';
import { InstallationRegistry } from '../../src/main/installations/registry';
import { makeTestHome } from '../harness/home';
import { testSecret } from '../harness/secrets';
import path from 'node:path';

const sshInstallation = (name: string) => ({
  name,
  app: 'weavestream' as const,
  ssh: { host: 'backup.example.org', port: 2222, user: 'ops', auth: 'password' as const },
  settings: { backupDir: '/srv/weavestream/data/backup' },
});

describe('InstallationRegistry', () => {
  it('stores installations atomically with owner-only permissions and never a secret', async () => {
    const file = path.join(makeTestHome('registry'), 'installations.json');
    const store = new MemorySecretStore('test');
    const registry = new InstallationRegistry(file, () => store);
    const password = testSecret('ssh');
    const added = await registry.add({ ...sshInstallation('office'), secrets: { 'ssh-password': password } });
    expect(added.secretPurposes).toEqual(['ssh-password']);
    expect(await registry.secret(added.id, 'ssh-password')).toBe(password);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(password);
    expect(text).toContain('backup.example.org');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const reread = new InstallationRegistry(file, () => store);
    expect((await reread.list()).map((i) => i.name)).toEqual(['office']);
    expect((await reread.resolve('OFFICE')).id).toBe(added.id);
  });

  it('refuses duplicate names, keeps a pinned host key on edits of the same host, drops it on a new host', async () => {
    const store = new MemorySecretStore('test');
    const registry = new InstallationRegistry(path.join(makeTestHome('registry'), 'installations.json'), () => store);
    const a = await registry.add(sshInstallation('a'));
    await expect(registry.add(sshInstallation('A'))).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    const pin = 'SHA256:' + 'A'.repeat(43);
    await registry.patch(a.id, (c) => ({ ...c, ssh: { ...c.ssh!, hostKeySha256: pin } }));
    const edited = await registry.update(a.id, { ...sshInstallation('a'), settings: { backupDir: '/other' } });
    expect(edited.ssh?.hostKeySha256).toBe(pin);
    const moved = await registry.update(a.id, { ...sshInstallation('a'), ssh: { ...sshInstallation('a').ssh, host: 'new.example.org' } });
    expect(moved.ssh?.hostKeySha256).toBeUndefined();
  });

  it('removes an installation together with its secrets', async () => {
    const store = new MemorySecretStore('test');
    const registry = new InstallationRegistry(path.join(makeTestHome('registry'), 'installations.json'), () => store);
    const added = await registry.add({ ...sshInstallation('gone'), secrets: { 'ssh-password': testSecret() } });
    await registry.remove(added.id);
    expect(await store.get(`installation:${added.id}:ssh-password`)).toBeNull();
    await expect(registry.get(added.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('without a keychain, refuses to take a secret rather than writing it anywhere', async () => {
    const file = path.join(makeTestHome('registry'), 'installations.json');
    const registry = new InstallationRegistry(file, () => new UnavailableSecretStore('no D-Bus session'));
    await expect(registry.add({ ...sshInstallation('x'), secrets: { 'ssh-password': testSecret() } })).rejects.toMatchObject({
      code: 'SECRET_STORE_UNAVAILABLE',
      message: expect.stringContaining('ask every time'),
    });
    expect(await registry.list()).toEqual([]);
  });
});
