// The app-module conformance suite run by DBackup against its fleet member (a destination on the
// real sshd, filled at test time by DBackup's write path). The suite's detection tests ask the
// registry of APP_MODULES, so the suite runs once dbackupModule is listed there; until then it is
// skipped, not failed. Samples: the unencrypted config backup only — the suite previews without
// keys, and an encrypted DBackup file asks for its profile's key (KEY_REQUIRED) by design.
import { describe, it } from 'vitest';
import { dbackupModule } from '../../src/main/apps/dbackup';
import { APP_MODULES } from '../../src/main/apps/registry';
import { SAMPLES_BY_APP, describeAppModule } from '../harness/app-module-suite';
import { startDbackupFleet } from '../fleet/dbackup/fleet';

if (APP_MODULES.some((m) => m.kind === 'dbackup')) {
  describeAppModule({
    module: dbackupModule,
    samples: (SAMPLES_BY_APP.dbackup ?? []).filter((s) => !s.file.endsWith('.enc')),
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
