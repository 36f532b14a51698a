// Runs the Weavestream fleet member standalone:
//   node --import tsx test/fleet/weavestream/main.ts [--kid 2] [--seed-dumps 2]
// Prints the SSH login, the PostgreSQL port, the compose directory and the installation settings;
// Ctrl-C stops everything.
import { parseArgs } from 'node:util';
import { startWeavestreamFleet } from './fleet';
import { stopOnSignal } from '../stop-on-signal';

const { values } = parseArgs({
  options: {
    kid: { type: 'string', default: '2' },
    'seed-dumps': { type: 'string', default: '2' },
  },
});

const fleet = await startWeavestreamFleet({ kid: values.kid, seedDumps: Number(values['seed-dumps']) });
const ssh = fleet.installation.ssh!;
console.log(`Weavestream fleet member over SSH: ${ssh.user}@${ssh.host} -p ${ssh.port}`);
console.log(`  private key:   ${ssh.keyFile}`);
console.log(`  host key:      ${ssh.hostKeySha256}`);
console.log(`PostgreSQL 15:   127.0.0.1:${fleet.postgres.port} (user postgres, trust auth, database weavestream)`);
console.log(`compose dir:     ${fleet.composeDir}`);
console.log(`backups:         ${(await fleet.listBackupDir()).join(', ')}`);
console.log('installation settings:');
console.log(JSON.stringify(fleet.installation.settings, null, 2));

stopOnSignal(() => fleet.stop());
