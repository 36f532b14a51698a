// MeshMonitor runs the app-module conformance suite against its fleet member (the fake MeshMonitor
// over HTTPS, restored over the real sshd).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { meshMonitorModule } from '../../src/main/apps/meshmonitor';
import { createCore, MemorySecretStore } from '../../src/main/core';
import { SAMPLES_BY_APP, describeAppModule } from '../harness/app-module-suite';
import { makeTestHome } from '../harness/home';
import { startTestFleet } from '../fleet';

describeAppModule({
  module: meshMonitorModule,
  samples: SAMPLES_BY_APP.meshmonitor!,
  badSetting: { key: 'liveCounts', value: 'sometimes' },
  async fleet() {
    // The fleet adds its installations to a core of its own; the suite adds the input to its core.
    const owner = await createCore({ home: makeTestHome('suite-mm-fleet'), secretStore: new MemorySecretStore('suite mm fleet') });
    const fleet = await startTestFleet(owner, { seedDumps: 1 });
    return {
      installation: fleet.inputs.meshmonitor,
      async corrupt(dirname) {
        const table = path.join(fleet.meshmonitor.backupDir, dirname, 'channels.json');
        await writeFile(table, (await readFile(table, 'utf8')).replace(/\]\s*$/, ',{"id":999}]'));
      },
      restore: { mode: 'full' },
      async stop() {
        await owner.close();
        await fleet.stop();
      },
    };
  },
});
