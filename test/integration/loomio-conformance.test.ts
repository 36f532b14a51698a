// The Loomio Pi stack module runs the app-module conformance suite against its fleet member.
// Until loomioModule is in APP_MODULES (src/main/apps/registry.ts), the registry is extended here
// so the suite's registry checks see it. The suite previews samples without keys; the stack's
// samples are encrypted, so the operator's typed key (the README's passphrase) is supplied the way
// a typed key arrives: through the key resolver, and only where no key is known.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { vi } from 'vitest';
import type { AppModule, KeyResolver } from '../../src/main/apps/module';
import type * as Registry from '../../src/main/apps/registry';
import { loomioModule } from '../../src/main/apps/loomio';
import { SAMPLES_BY_APP, describeAppModule } from '../harness/app-module-suite';
import { startLoomioFleet } from '../fleet/loomio/fleet';
import { LOOMIO_SAMPLES } from '../fleet/loomio/samples';

vi.mock('../../src/main/apps/registry', async (importOriginal) => {
  const original = await importOriginal<typeof Registry>();
  const { loomioModule: loomio } = await import('../../src/main/apps/loomio');
  return { ...original, APP_MODULES: original.APP_MODULES.some((m) => m.kind === 'loomio') ? original.APP_MODULES : [...original.APP_MODULES, loomio] };
});

/** The module, with the samples' passphrase as the typed key when the context knows none. */
function withSampleKey(module: AppModule): AppModule {
  return {
    ...module,
    format: {
      async preview(archive, ctx) {
        const keys: KeyResolver = {
          find: async (slot) => (await ctx.keys.find(slot)) ?? (slot === 'backup-encryption-key' ? LOOMIO_SAMPLES.passphrase : null),
          get: async (slot, describe) => (await keys.find(slot)) ?? ctx.keys.get(slot, describe),
        };
        return module.format.preview(archive, { ...ctx, keys });
      },
    },
  };
}

describeAppModule({
  module: withSampleKey(loomioModule),
  samples: SAMPLES_BY_APP.loomio!,
  badSetting: { key: 'databasePort', value: 'five' },
  async fleet() {
    const fleet = await startLoomioFleet({ name: 'Loomio (conformance)' });
    return {
      installation: fleet.installation,
      async corrupt(remoteId) {
        const file = path.join(fleet.backupDir, remoteId);
        const bytes = await readFile(file);
        bytes[bytes.length - 300] = bytes[bytes.length - 300] === 0x41 ? 0x42 : 0x41;
        await fleet.writeOwnedFile(file, bytes);
      },
      restore: { mode: 'full' },
      stop: () => fleet.stop(),
    };
  },
});
