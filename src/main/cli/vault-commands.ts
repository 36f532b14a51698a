import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { LifeboatError } from '../../shared/errors';
import type { CheckReportView } from '../../shared/vault';
import type { RotatingCheckReport, VerificationCoverage } from '../../shared/verification';
import { createInProcessClient } from '../contract/in-process';
import { parsePolicyFlags } from '../vault/retention';
import { writeFileAtomic } from '../fs/atomic-write';
import type { CliContext } from './extra-commands';
import { followJob } from './jobs';
import { EXIT } from './exit-codes';
import { formatBytes } from '../../shared/format-bytes';
import { print, readStdin, table } from './output';

/** "every byte re-read in the last 30 days: 100 % (12 of 12 packs)". */
function describeCoverage(c: VerificationCoverage): string {
  return `every byte re-read in the last ${c.windowDays} days: ${c.percent} % (${c.packsRead} of ${c.packs} packs, ${formatBytes(c.bytesRead)} of ${formatBytes(c.bytes)})${c.lastRun ? `; last run ${c.lastRun}` : ''}`;
}

/** `lifeboat vault …`, `lifeboat import …` and `lifeboat audit`. */
export function registerVaultCommands(program: Command, { getCore, json, outcome }: CliContext): void {
  const vault = program.command('vault').description('the encrypted archive vault (a restic repository)');

  vault
    .command('init')
    .description('create the vault; its password goes to the keychain')
    .option('--location <dir|rest:URL>', 'where (default: the data directory\'s vault/)')
    .action(async (opts: { location?: string }) => {
      const core = await getCore();
      const status = await createInProcessClient(core).call('vault:init', opts.location ? { location: opts.location } : {});
      print(status, json(), (s) => `Created the vault at ${s.location} (id ${s.id?.slice(0, 8)}).\nIts password is in: ${core.secrets().status().description}.\nSave the recovery kit now: lifeboat vault recovery-kit --output FILE`);
    });

  vault
    .command('open')
    .alias('status')
    .description('open the vault; if its password is not in the keychain, read it from stdin (e.g. from the recovery kit)')
    .option('--no-remember', 'do not store a typed password in the keychain')
    .action(async (opts: { remember: boolean }) => {
      const core = await getCore();
      const client = createInProcessClient(core);
      let status = await client.call('vault:status', {});
      if (status.initialized && !status.open) {
        if (process.stdin.isTTY) process.stderr.write(`The vault password is not in ${core.secrets().status().description}. Password (from the recovery kit): `);
        const password = (await readStdin()).split('\n')[0] ?? '';
        status = await client.call('vault:unlock', { password, remember: opts.remember });
      }
      print(status, json(), (s) => (s.initialized ? `Vault ${s.id?.slice(0, 8)} at ${s.location}: open, ${s.snapshotCount} snapshot(s).` : 'No vault yet: run `lifeboat vault init`.'));
    });

  vault
    .command('snapshots')
    .description('list snapshots, newest first')
    .option('--installation <name>', 'only this installation')
    .option('--app <kind>', 'only this app')
    .option('--tag <tag>', 'only snapshots with this tag')
    .action(async (opts: { installation?: string; app?: string; tag?: string }) => {
      const core = await getCore();
      const installationId = opts.installation ? (await core.registry.resolve(opts.installation)).id : undefined;
      const list = await createInProcessClient(core).call('vault:snapshots', { ...(installationId ? { installationId } : {}), ...(opts.app ? { app: opts.app } : {}), ...(opts.tag ? { tag: opts.tag } : {}) });
      print(list, json(), (items) => (items.length === 0 ? 'No snapshots.' : table([['ID', 'TIME', 'INSTALLATION', 'APP', 'SOURCE', 'ARCHIVE', 'SIZE'], ...items.map((s) => [s.shortId, s.time, s.hostname, s.app ?? '-', s.source, s.archive?.name ?? '-', s.archive ? formatBytes(s.archive.size) : '-'])])));
    });

  vault
    .command('ls <snapshot>')
    .description('list the files of a snapshot')
    .action(async (snapshot: string) => {
      const core = await getCore();
      const files = await createInProcessClient(core).call('vault:snapshot-files', { snapshotId: snapshot });
      print(files, json(), (items) => table(items.map((f) => [f.type, f.size.toString(), f.mtime, f.path])));
    });

  vault
    .command('dump <snapshot> <file>')
    .description('write one file of a snapshot to stdout (or --output), verifying every blob')
    .option('--output <file>', 'write here instead of stdout')
    .action(async (snapshot: string, file: string, opts: { output?: string }) => {
      const core = await getCore();
      const stream = await core.vault.dump(snapshot, file.startsWith('/') ? file : `/${file}`);
      await pipeline(stream, opts.output ? createWriteStream(opts.output, { flags: 'wx' }) : process.stdout);
    });

  vault
    .command('export <snapshot>')
    .description('write the archive of a snapshot under its original file name (what Export file does on the Vault page)')
    .option('--dir <folder>', 'write it into this folder', '.')
    .action(async (snapshot: string, opts: { dir: string }) => {
      const core = await getCore();
      const archive = await core.vault.exportArchive(snapshot);
      const target = path.join(opts.dir, path.basename(archive.name));
      await pipeline(archive.stream, createWriteStream(target, { flags: 'wx' }));
      print({ file: target, size: archive.size }, json(), (r) => `Wrote ${r.file} (${formatBytes(r.size)}).`);
    });

  vault
    .command('forget-snapshot <snapshot>')
    .description('remove one snapshot from the vault (restic forget of that id, audited); run `lifeboat vault prune` to free its space')
    .action(async (snapshot: string) => {
      const core = await getCore();
      const result = await createInProcessClient(core).call('vault:forget-snapshot', { snapshotId: snapshot });
      print(result, json(), (r) => `Removed snapshot ${r.removed.slice(0, 8)}. Run \`lifeboat vault prune\` to free the space.`);
    });

  vault
    .command('check')
    .description('check the vault (a job with progress)')
    .option('--read-data', 'also decrypt and verify every blob')
    .action(async (opts: { readData?: boolean }) => {
      const core = await getCore();
      const { jobId } = await createInProcessClient(core).call('vault:check', { readData: Boolean(opts.readData) });
      const report = await followJob<CheckReportView>(core, jobId, outcome);
      print(report, json(), (r) => (r.ok ? `No problems found${r.readData ? ' (all data read and verified)' : ''}.` : [`${r.problems.length} problem(s):`, ...r.problems.map((p) => `  ${p.snapshotId ? `snapshot ${p.snapshotId.slice(0, 8)}: ` : ''}${p.message}`)].join('\n')));
      if (!report.ok) outcome.report(EXIT.failed);
    });

  vault
    .command('verify')
    .description('rotating verification: re-read the slice of the vault due now (every pack within the window)')
    .action(async () => {
      const core = await getCore();
      const { jobId } = await createInProcessClient(core).call('vault:verify-rotating', {});
      const report = await followJob<RotatingCheckReport>(core, jobId, outcome);
      print(report, json(), (r) => [
        `Re-read ${r.packsReadNow.length} pack(s); ${describeCoverage(r.coverage)}`,
        ...r.badPacks.map((b) => `DAMAGED pack ${b.packId.slice(0, 12)}: snapshots ${b.snapshotIds.map((id) => id.slice(0, 8)).join(', ') || '(none use it)'}`),
        ...(r.check.ok ? [] : r.check.problems.map((p) => `  ${p.message}`)),
      ].join('\n'));
      if (!report.check.ok) outcome.report(EXIT.failed);
    });

  vault
    .command('coverage')
    .description('how much of the vault was re-read within the verification window')
    .option('--window <days>', 'set the window first (every pack re-read within this many days)')
    .action(async (opts: { window?: string }) => {
      const core = await getCore();
      const coverage = await createInProcessClient(core).call('vault:verification-coverage', opts.window ? { windowDays: Number(opts.window) } : {});
      print(coverage, json(), describeCoverage);
    });

  vault
    .command('forget')
    .description('apply a retention policy with restic\'s flags, e.g. --keep-daily 7 --keep-weekly 4')
    .option('--dry-run', 'only show what would be kept and removed')
    .option('--prune', 'also free the space afterwards')
    .option('--installation <name>', 'only this installation\'s snapshots')
    .allowUnknownOption(true)
    .argument('[policy...]')
    .action(async (policyArgs: string[], opts: { dryRun?: boolean; prune?: boolean; installation?: string }) => {
      const core = await getCore();
      const client = createInProcessClient(core);
      const { policy } = parsePolicyFlags(policyArgs);
      const installationId = opts.installation ? (await core.registry.resolve(opts.installation)).id : undefined;
      const scope = installationId ? { installationId } : {};
      const preview = await client.call('vault:forget-preview', { policy, ...scope });
      if (opts.dryRun) {
        print(preview, json(), (p) => [
          `Would keep ${p.keepCount} and remove ${p.removeCount} snapshot(s):`,
          ...p.groups.flatMap((g) => [`${g.hostname} ${g.paths?.join(',') ?? ''}`, ...g.decisions.map((d) => `  ${d.keep ? 'keep  ' : 'remove'} ${d.snapshot.shortId} ${d.snapshot.time}  ${d.reasons.join('; ')}`)]),
        ].join('\n'));
        return;
      }
      const { jobId } = await client.call('vault:forget', { policy, prune: Boolean(opts.prune), ...scope });
      const result = await followJob<{ removed: string[] }>(core, jobId, outcome);
      print(result, json(), (r) => `Removed ${r.removed.length} snapshot(s).${opts.prune ? ' Space freed.' : ' Run `lifeboat vault prune` to free the space.'}`);
    });

  vault
    .command('prune')
    .description('free the space no snapshot uses')
    .action(async () => {
      const core = await getCore();
      const { jobId } = await createInProcessClient(core).call('vault:prune', {});
      const result = await followJob<{ bytesBefore: number; bytesAfter: number; abandonedWritesRemoved: number }>(core, jobId, outcome);
      print(result, json(), (r) => `Vault went from ${formatBytes(r.bytesBefore)} to ${formatBytes(r.bytesAfter)}.${r.abandonedWritesRemoved > 0 ? ` Removed ${r.abandonedWritesRemoved} temp file(s) that killed writers left.` : ''}`);
    });

  vault
    .command('recovery-kit')
    .description('print the recovery kit (vault id, location, password, restic commands); --with-app-keys adds every app key, the whole kit encrypted with age')
    .option('--output <file>', 'write it to this file (mode 0600) instead of stdout')
    .option('--with-app-keys', 'also carry every key that opens an app\'s archives (Loomio, DBackup…); the passphrase (16+ characters) is read from stdin')
    .action(async (opts: { output?: string; withAppKeys?: boolean }) => {
      const core = await getCore();
      let appKeys: { passphrase: string } | undefined;
      if (opts.withAppKeys) {
        process.stderr.write(
          'WARNING: this kit will carry the vault password AND every app key Lifeboat holds (Loomio BACKUP_ENCRYPTION_KEYs,\n' +
            'DBackup master keys): whoever has the file and its passphrase can read every backup, in the vault and on the servers.\n' +
            'It is encrypted with age to the passphrase you give; choose a long one and keep it apart from the file.\n',
        );
        if (process.stdin.isTTY) process.stderr.write('Kit passphrase (at least 16 characters): ');
        appKeys = { passphrase: (await readStdin()).split('\n')[0] ?? '' };
      }
      const kit = await createInProcessClient(core).call('vault:recovery-kit', appKeys ? { appKeys } : {});
      if (appKeys) process.stderr.write(`The kit carries ${kit.appKeyCount ?? 0} app key(s). Open it with: age -d -o kit.txt ${kit.fileName}\n`);
      if (opts.output) {
        await writeFileAtomic(path.resolve(opts.output), kit.text, 0o600);
        await createInProcessClient(core).call('vault:acknowledge-recovery-kit', {}).catch((error: unknown) => {
          // A kit of app keys alone (no vault yet) has nothing to acknowledge.
          if (!(error instanceof LifeboatError) || error.code !== 'VAULT_NOT_INITIALIZED') throw error;
        });
        print({ written: path.resolve(opts.output), fileName: kit.fileName, appKeyCount: kit.appKeyCount ?? null }, json(), () => `Wrote the recovery kit to ${opts.output}. Keep it offline and safe.`);
      } else if (json()) {
        print(kit, true, () => '');
      } else {
        process.stdout.write(kit.text);
      }
    });

  vault
    .command('import-kit <file>')
    .description('on a new Lifeboat: import a recovery kit made with --with-app-keys (passphrase on stdin): its vault, installations and app keys')
    .action(async (file: string) => {
      const core = await getCore();
      if (process.stdin.isTTY) process.stderr.write('Kit passphrase: ');
      const passphrase = (await readStdin()).split('\n')[0] ?? '';
      const report = await createInProcessClient(core).call('vault:import-kit', { source: { path: file }, passphrase });
      print(report, json(), (r) =>
        [
          `Vault: ${r.vault.detail}`,
          ...r.installations.map((i) => `${i.created ? 'Added' : 'Updated'} installation "${i.name}" (${i.app}): ${i.keys.join('; ')}`),
          ...(r.installations.some((i) => i.created) ? ['Added installations have no connection passwords or tokens yet: enter them with `lifeboat installations edit`.'] : []),
        ].join('\n'),
      );
    });

  vault
    .command('unlock [lockId]')
    .description('list locks and say which are stale; remove one stale lock by id, or all stale ones with --remove-stale')
    .option('--remove-stale', 'remove every stale lock (each is named with why it is stale)')
    .action(async (lockId: string | undefined, opts: { removeStale?: boolean }) => {
      const core = await getCore();
      const client = createInProcessClient(core);
      const locks = await client.call('vault:locks', {});
      const targets = lockId ? locks.filter((l) => l.id.startsWith(lockId)) : opts.removeStale ? locks.filter((l) => l.stale) : [];
      if (lockId && targets.length !== 1) throw new LifeboatError('NOT_FOUND', `No single lock starting with ${lockId}.`);
      for (const lock of targets) {
        await client.call('vault:remove-lock', { lockId: lock.id });
        process.stderr.write(`Removed lock ${lock.id.slice(0, 8)}: ${lock.explanation}\n`);
      }
      const left = await client.call('vault:locks', {});
      print(left, json(), (items) => (items.length === 0 ? 'No locks.' : items.map((l) => `${l.id.slice(0, 8)} ${l.stale ? 'STALE ' : ''}${l.explanation}`).join('\n') + (items.some((l) => l.stale) && targets.length === 0 ? '\nRemove stale ones with: lifeboat vault unlock --remove-stale' : '')));
    });

  program
    .command('import <files...>')
    .description('add local archive files to the vault, one snapshot each; a sidecar given with its archive (manifest, .meta.json, .sha256) is stored with it')
    .option('--installation <name>', 'label them as this installation\'s backups')
    .option('--allow-unverified', 'store an archive that fails or cannot get verification anyway, tagged unverified')
    .action(async (files: string[], opts: { installation?: string; allowUnverified?: boolean }) => {
      const core = await getCore();
      const client = createInProcessClient(core);
      const installationId = opts.installation ? (await core.registry.resolve(opts.installation)).id : undefined;
      const byName = new Map(files.map((f) => [path.basename(f), f]));
      if (byName.size !== files.length) throw new LifeboatError('INVALID_INPUT', 'Two of the files have the same name; import them one at a time.');
      const pairing = await client.call('apps:pair-files', { names: [...byName.keys()] });
      const lone = pairing.loneSidecars[0];
      if (lone) throw new LifeboatError('INVALID_INPUT', `${byName.get(lone.name)} is a sidecar of ${lone.archive}, not an archive: give it together with ${lone.archive}.`);
      const results = [];
      for (const archive of pairing.archives) {
        const file = byName.get(archive.name)!;
        const sidecars = archive.sidecars.map((name) => ({ path: byName.get(name)! }));
        const { jobId } = await client.call('vault:import', { source: { path: file }, sidecars, allowUnverified: opts.allowUnverified === true, ...(installationId ? { installationId } : {}) });
        results.push({ file, sidecars: archive.sidecars, ...(await followJob<{ snapshotId: string; sha256: string; size: number; unverified: string | null }>(core, jobId, outcome)) });
      }
      print(results, json(), (items) => items.map((r) => `${r.file}: snapshot ${r.snapshotId.slice(0, 8)} (${formatBytes(r.size)}, sha256 ${r.sha256.slice(0, 16)}…)${r.unverified ? ` — UNVERIFIED: ${r.unverified}` : ''}`).join('\n'));
    });

  program
    .command('audit')
    .description('the audit trail of pulls, imports, checks, retention and restores')
    .option('--installation <name>', 'only this installation')
    .action(async (opts: { installation?: string }) => {
      const core = await getCore();
      const installationId = opts.installation ? (await core.registry.resolve(opts.installation)).id : undefined;
      const entries = await createInProcessClient(core).call('audit:list', installationId ? { installationId } : {});
      print(entries, json(), (items) => table(items.map((e) => [e.at, e.action, e.outcome, e.installationName ?? e.installationId ?? '-', e.snapshotId?.slice(0, 8) ?? '-', e.detail ?? ''])));
    });
}
