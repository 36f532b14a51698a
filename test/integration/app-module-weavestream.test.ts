// Weavestream runs the app-module conformance suite against its fleet member (sshd + PostgreSQL).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { weavestreamModule } from '../../src/main/apps/weavestream';
import { SAMPLES_BY_APP, describeAppModule } from '../harness/app-module-suite';
import { startWeavestreamFleet } from '../fleet/weavestream/fleet';

describeAppModule({
  module: weavestreamModule,
  samples: SAMPLES_BY_APP.weavestream!,
  badSetting: { key: 'databasePort', value: 'five' },
  async fleet() {
    const fleet = await startWeavestreamFleet({ name: 'Weavestream (conformance)', seedDumps: 1 });
    return {
      installation: fleet.installation,
      freshBackup: () => fleet.exportNow(),
      async corrupt(remoteId) {
        const file = path.join(fleet.backupDir, remoteId);
        const bytes = await readFile(file);
        bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
        await fleet.writeOwnedFile(file, bytes);
      },
      restore: { mode: 'full' },
      stop: () => fleet.stop(),
    };
  },
});
