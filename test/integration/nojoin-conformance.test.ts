// The Nojoin module runs the app-module conformance suite against the fake Nojoin of the test
// fleet (HTTPS: export on demand, Range downloads, chunked restore with Skip existing).
import { nojoinModule } from '../../src/main/apps/nojoin';
import { SAMPLES_BY_APP, describeAppModule } from '../harness/app-module-suite';
import { startNojoinFleet } from '../fleet/nojoin/fleet';

describeAppModule({
  module: nojoinModule,
  samples: SAMPLES_BY_APP.nojoin!,
  badSetting: { key: 'uploadChunkMiB', value: 'five' },
  fleet: () => startNojoinFleet(),
});
