// `npm run fleet`: the whole test fleet plus a Lifeboat core and browser twin to click through.
//   Weavestream (real PostgreSQL 15 + OpenSSH sshd) and the fake MeshMonitor (HTTPS, restarts
//   through a local control endpoint), both added as installations with pinned keys and secrets;
//   the vault is created on first use. Runs inside scripts/with-test-env.sh (throwaway keyring).
//   `npm run fleet -- --per-app 40` adds 40 lightweight installations of every app kind besides
//   (test/fleet/many.ts: one sshd, one HTTPS endpoint per app, tags to group by).
// Home: $LIFEBOAT_HOME, else .lifeboat-dev/ in the repository. Ctrl-C stops everything.
import { parseArgs } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCore } from '../../src/main/core';
import { startTwin } from '../../src/main/contract/http-twin';
import { toErrorPayload } from '../../src/shared/errors';
import { ensureVault, startTestFleet } from './index';
import { startDirectoryFleet } from './directory/fleet';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { missingLoginUsers, removeLoginUsers } from '../harness/test-users';
import { startNojoinFleet } from './nojoin/fleet';
import { startManyFleet } from './many';

const { values: args } = parseArgs({ options: { 'per-app': { type: 'string' } } });
const perApp = args['per-app'] === undefined ? 0 : Number(args['per-app']);
if (!Number.isInteger(perApp) || perApp < 0 || perApp > 500) throw new Error(`--per-app wants a whole number from 0 to 500, not "${args['per-app']}"`);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const home = process.env.LIFEBOAT_HOME ?? path.join(ROOT, '.lifeboat-dev');

// The system user sshd logs in as is made for this run when missing, and removed again on exit.
const madeUsers = await missingLoginUsers();
const core = await createCore({ home });
const fleet = await startTestFleet(core).catch(async (error: unknown) => {
  await core.close();
  await removeLoginUsers(madeUsers);
  throw error;
});
let vault: string;
try {
  vault = `${await ensureVault(core)} at ${(await core.vault.status()).location ?? '?'}`;
} catch (error) {
  // The keyring of with-test-env.sh lives for one run: an older vault's password is gone.
  vault = `LOCKED (${toErrorPayload(error).message}) — unlock it on the Vault page, or delete ${path.join(home, 'vault')} for a fresh one`;
}
// The folder of archives shares the Weavestream member's sshd (and its system user).
const folder = await startDirectoryFleet({ name: 'Folder of archives (fleet)', sshd: fleet.weavestream.sshd });
const client = createInProcessClient(core);
for (const old of await client.call('installations:list', {})) if (old.name === folder.installation.name) await client.call('installations:remove', { id: old.id });
await client.call('installations:add', folder.installation);
const nojoin = await startNojoinFleet();
for (const old of await client.call('installations:list', {})) if (old.name === nojoin.installation.name) await client.call('installations:remove', { id: old.id });
await client.call('installations:add', nojoin.installation);
// The many: replaced by name like the members above (their ports and folders belong to a run).
const many = perApp > 0 ? await startManyFleet({ perApp }) : null;
if (many) {
  const names = new Set(many.inputs.map((i) => i.name));
  for (const old of await client.call('installations:list', {})) if (names.has(old.name)) await client.call('installations:remove', { id: old.id });
  for (const input of many.inputs) await client.call('installations:add', input);
}
const twin = await startTwin(core, { rendererDir: path.join(ROOT, 'dist', 'renderer') });
const { weavestream, meshmonitor } = fleet;

console.log(`Lifeboat home:   ${home}`);
console.log(`Vault:           ${vault}`);
console.log(`Weavestream:     "${fleet.installations.weavestream.name}" over SSH ${weavestream.sshd.user}@127.0.0.1:${weavestream.sshd.port}`);
console.log(`                 PostgreSQL 127.0.0.1:${weavestream.postgres.port} (postgres, trust), compose dir ${weavestream.composeDir}`);
console.log(`MeshMonitor:     "${fleet.installations.meshmonitor.name}" at ${meshmonitor.url} (admin / changeme), data dir ${meshmonitor.dataDir}`);
console.log(`Folder:          "${folder.installation.name}" at ${folder.folder} (site-*.tar.gz with .sha256)`);
console.log(`Nojoin:          "${nojoin.installation.name}" at ${nojoin.fake.url} (alice / alice-password-1, a superuser)`);
console.log(`Weavestream API: "${fleet.installations.weavestreamHttps.name}" at ${fleet.weavestreamHttps.url} (${fleet.weavestreamHttps.email}); its TOTP for Pull / Run now:`);
console.log(`                 ${fleet.weavestreamHttps.otpauthUri}`);
console.log(`                 or: node --import tsx -e "import('./test/harness/totp.ts').then((t) => console.log(t.totp(Buffer.from('${fleet.weavestreamHttps.totpSecret.toString('hex')}', 'hex'))))"`);
if (many) console.log(`Many:            ${many.inputs.length} more (${perApp} of each app kind) on sshd 127.0.0.1:${many.sshd.port} and one HTTPS endpoint per app`);
console.log('');
console.log(`Open ${twin.url}`);
console.log('Ctrl-C stops the twin, the core and the fleet.');

let stopping = false;
/** Stops in reverse order of start; a second Ctrl-C while stopping is ignored. */
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await twin.close();
    await core.close();
    await folder.stop();
    await fleet.stop();
    await nojoin.stop();
    await many?.stop();
    await removeLoginUsers(madeUsers);
    if (madeUsers.length) console.log(`Removed the system user${madeUsers.length > 1 ? 's' : ''} ${madeUsers.join(', ')} this run created.`);
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  }
  process.exit();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown());
