// The Loomio Pi stack module runs the app-module conformance suite against its fleet member
// (the suite types the samples' key from their README).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loomioModule } from '../../src/main/apps/loomio';
import { SAMPLES_BY_APP, describeAppModule } from '../harness/app-module-suite';
import { startLoomioFleet } from '../fleet/loomio/fleet';

describeAppModule({
  module: loomioModule,
  samples: SAMPLES_BY_APP.loomio!,
  badSetting: { key: 'databasePort', value: 'five' },
  async fleet() {
    const fleet = await startLoomioFleet({ name: 'Loomio (conformance)' });
    return {
      installation: fleet.installation,
      async corrupt(remoteId) {
        // A remote id names the file and its write: `<name>@<Fernet time>`.
        const file = path.join(fleet.backupDir, remoteId.replace(/@m?\d+$/, ''));
        const bytes = await readFile(file);
        bytes[bytes.length - 300] = bytes[bytes.length - 300] === 0x41 ? 0x42 : 0x41;
        await fleet.writeOwnedFile(file, bytes);
      },
      restore: { mode: 'full' },
      stop: () => fleet.stop(),
    };
  },
});
