// The app-module conformance suite run by DBackup against its fleet member (a destination on the
// real sshd, filled at test time by DBackup's write path). The suite's detection tests ask the
// registry of APP_MODULES. Samples: the encrypted database backup (previewed with the sample
// profile's key, as an operator would type it) and the unencrypted config backup.
import { describe, it } from 'vitest';
import { dbackupModule } from '../../src/main/apps/dbackup';
import { APP_MODULES } from '../../src/main/apps/registry';
import { SAMPLES_BY_APP, describeAppModule } from '../harness/app-module-suite';
import { startDbackupFleet } from '../fleet/dbackup/fleet';

if (APP_MODULES.some((m) => m.kind === 'dbackup')) {
  describeAppModule({
    module: dbackupModule,
    samples: SAMPLES_BY_APP.dbackup!,
    badSetting: { key: 'destinationDir', value: 'relative/folder' },
    async fleet() {
      const fleet = await startDbackupFleet({ name: 'DBackup (conformance)' });
      return { installation: fleet.installation, freshBackup: () => fleet.backupNow(), corrupt: (id) => fleet.corrupt(id), restore: null, stop: () => fleet.stop() };
    },
  });
} else {
  describe('app module dbackup: conformance', () => {
    it.skip('runs once dbackupModule is in APP_MODULES (src/main/apps/registry.ts)', () => undefined);
  });
}
