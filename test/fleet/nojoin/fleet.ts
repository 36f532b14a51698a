// The fake Nojoin as a test-fleet member: the installation to add for it (HTTPS with the pinned
// self-signed certificate, a superuser's password as its secret) and the hooks the app-module
// conformance suite (test/harness/app-module-suite.ts) calls.
import type { FleetMember } from '../../harness/app-module-suite';
import { startNojoin, type NojoinFakeHandle, type NojoinFakeOptions } from './server';

/** The fleet member's name in Lifeboat. */
export const NOJOIN_FLEET_NAME = 'Nojoin (fleet)';

/** A running fake Nojoin with its fleet-member view. */
export interface NojoinFleet extends FleetMember {
  fake: NojoinFakeHandle;
}

/** Starts the fake Nojoin seeded from the real sample; alice (a superuser) is the account Lifeboat uses. */
export async function startNojoinFleet(options: NojoinFakeOptions = {}): Promise<NojoinFleet> {
  const fake = await startNojoin(options);
  return {
    fake,
    installation: {
      name: NOJOIN_FLEET_NAME,
      app: 'nojoin',
      https: { baseUrl: fake.url, auth: 'password', username: 'alice', pinnedCertSha256: fake.certSha256 },
      settings: {},
      expectedCadenceHours: 24,
      secrets: { 'https-password': 'alice-password-1' },
    },
    // Lifeboat names an HTTPS export `export:<task id>`.
    corrupt: async (remoteId) => fake.faults.corruptExport(remoteId.replace(/^export:/, '')),
    // A Skip restore adds back what is missing: lose the newest recording so it has one to add.
    lose: async () => {
      const newest = fake.store.rows('recordings').at(-1);
      if (newest) fake.store.removeRecording(newest.id as number);
    },
    restore: { mode: 'full', conflict: 'skip' },
    stop: () => fake.stop(),
  };
}
