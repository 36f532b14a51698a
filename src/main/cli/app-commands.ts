import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { LifeboatError } from '../../shared/errors';
import type { InterruptedRestore, KeyFileImport, PreviewReport, RestorePlan, RestoreReport } from '../../shared/apps';
import { createInProcessClient } from '../contract/in-process';
import type { CliContext } from './extra-commands';
import { followJob } from './jobs';
import { EXIT, type CommandOutcome } from './exit-codes';
import { formatBytes } from '../../shared/format-bytes';
import { print, readStdin, table } from './output';
import type { PullResult } from '../apps/pull-runner';
import type { Core } from '../core';

type ArchiveRef = { snapshotId: string } | { path: string };

/** A vault snapshot id (hex prefix) or a local file path. */
function archiveRef(value: string): ArchiveRef {
  return /^[0-9a-f]{6,64}$/.test(value) ? { snapshotId: value } : { path: value };
}

const MAX_CODE_PROMPTS = 3;

/**
 * Follows a job that may stop at CODE_REQUIRED (Weavestream over HTTPS asks for a TOTP code):
 * `--code` is handed over first; at a terminal the operator is asked for the next code and the
 * job runs again in this process, which holds the login session. Elsewhere the error says why.
 */
async function withOneTimeCodes<T>(core: Core, outcome: CommandOutcome, installationId: string, code: string | undefined, start: () => Promise<{ jobId: string }>): Promise<T> {
  const client = createInProcessClient(core);
  if (code) await client.call('installations:provide-code', { installationId, code });
  for (let asked = 0; ; asked++) {
    try {
      return await followJob<T>(core, (await start()).jobId, outcome);
    } catch (error) {
      if (!(error instanceof LifeboatError) || error.code !== 'CODE_REQUIRED' || !process.stdin.isTTY || asked >= MAX_CODE_PROMPTS) throw error;
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const typed = await prompt.question(`${error.message}\nCode: `);
        await client.call('installations:provide-code', { installationId, code: typed.replace(/\s+/g, '') });
      } finally {
        prompt.close();
      }
    }
  }
}

/** `lifeboat fleet`, `remote`, `pull`, `trigger`, `preview`, `restore`. */
export function registerAppCommands(program: Command, { getCore, json, outcome }: CliContext): void {
  program
    .command('fleet')
    .description('every installation: reachability, newest remote backup, newest snapshot, freshness')
    .option('--refresh', 'look for new remote backups first')
    .action(async (opts: { refresh?: boolean }) => {
      const core = await getCore();
      const client = createInProcessClient(core);
      if (opts.refresh) {
        const { jobIds } = await client.call('fleet:refresh', {});
        await Promise.all(jobIds.map((id) => core.jobs.wait(id)));
      }
      const fleet = await client.call('fleet:overview', {});
      print(fleet, json(), (items) =>
        [
          table([['NAME', 'APP', 'STATUS', 'NEWEST REMOTE', 'NEWEST SNAPSHOT', 'FRESHNESS'], ...items.map((f) => [f.name, f.app, f.status?.state ?? 'unknown', f.newestRemote?.id ?? '-', f.newestSnapshot?.time ?? '-', f.freshness])]),
          ...items.flatMap((f) => (f.findings ?? []).map((finding) => `SECURITY FINDING on ${f.name}: ${finding}`)),
        ].join('\n'),
      );
    });

  program
    .command('remote <installation>')
    .description('list the backups on an installation')
    .action(async (name: string) => {
      const core = await getCore();
      const installation = await core.registry.resolve(name);
      const list = await createInProcessClient(core).call('apps:list-remote', { installationId: installation.id });
      print(list, json(), (items) => table([['ID', 'CREATED', 'SIZE', 'IN VAULT'], ...items.map((b) => [b.id, b.createdAt ?? '-', b.sizeBytes === null ? '-' : formatBytes(b.sizeBytes), b.inVault?.slice(0, 8) ?? '-'])]));
    });

  program
    .command('trigger <installation>')
    .description('ask the app to make a backup now')
    .option('--code <code>', 'one-time code from the authenticator app, for apps that ask for one (Weavestream over HTTPS)')
    .action(async (name: string, opts: { code?: string }) => {
      const core = await getCore();
      const installation = await core.registry.resolve(name);
      const result = await withOneTimeCodes<{ message: string; remoteId: string | null }>(core, outcome, installation.id, opts.code, () => createInProcessClient(core).call('apps:trigger', { installationId: installation.id }));
      print(result, json(), (r) => r.message);
    });

  program
    .command('pull <installation> [remoteId]')
    .description('pull a backup (the newest if none named) into the vault, verified')
    .option('--code <code>', 'one-time code from the authenticator app, for apps that ask for one (Weavestream over HTTPS)')
    .action(async (name: string, remoteId: string | undefined, opts: { code?: string }) => {
      const core = await getCore();
      const installation = await core.registry.resolve(name);
      const result = await withOneTimeCodes<PullResult>(core, outcome, installation.id, opts.code, () => createInProcessClient(core).call('apps:pull', { installationId: installation.id, ...(remoteId ? { remoteId } : {}) }));
      print(result, json(), (r) => (r.alreadyInVault ? `${r.remoteId} is already in the vault (snapshot ${r.snapshotId.slice(0, 8)}).` : `Pulled ${r.remoteId} into snapshot ${r.snapshotId.slice(0, 8)} (${formatBytes(r.sizeBytes)}); ${r.checks.length} check(s) passed${r.resumed ? `, resumed ${r.resumed} time(s)` : ''}.`));
    });

  program
    .command('preview <snapshotOrFile>')
    .description('what is inside an archive (a vault snapshot id or a local file)')
    .option('--app <kind>', 'which app made it (otherwise told from its contents)')
    .option('--installation <name>', 'the installation whose keys open it')
    .option('--key-stdin', 'read the key an encrypted archive needs from stdin (never from an argument)')
    .option('--key-file <file>', 'take the key from a key file the app exports (a DBackup Recovery Kit ZIP); kept for this command only')
    .action(async (value: string, opts: { app?: string; installation?: string; keyStdin?: boolean; keyFile?: string }) => {
      const core = await getCore();
      const client = createInProcessClient(core);
      const installationId = opts.installation ? (await core.registry.resolve(opts.installation)).id : undefined;
      const typedKey = opts.keyStdin ? await readStdin() : null;
      const start = async () => followJob<PreviewReport>(core, (await client.call('apps:preview', { source: archiveRef(value), ...(opts.app ? { app: opts.app } : {}), ...(installationId ? { installationId } : {}) })).jobId, outcome);
      let report: PreviewReport;
      let keyGiven = false;
      try {
        report = await start();
      } catch (error) {
        // The archive said which key it needs: hand over the one from stdin (or the key file) under that slot and read it again.
        const asked = error instanceof LifeboatError && error.code === 'KEY_REQUIRED' ? error : null;
        const slot = asked?.details?.slot;
        if (!asked || typeof slot !== 'string') throw error;
        if (opts.keyFile) {
          const imported = await client.call('apps:import-key-file', { source: { path: opts.keyFile }, slot, ...(opts.app ? { app: opts.app } : {}) });
          if (!imported.keys.some((k) => k.slot === slot)) {
            throw new LifeboatError('KEY_REQUIRED', `${path.basename(opts.keyFile)} holds ${imported.keys.map((k) => k.label).join(', ')}, not the ${String(asked.details?.label ?? slot)} this file needs.`, { details: { ...asked.details, reason: 'not-in-key-file' } });
          }
        } else {
          if (typedKey === null) throw new LifeboatError('KEY_REQUIRED', `${asked.message} On the command line: pipe it into \`lifeboat preview FILE --key-stdin\` (a DBackup Recovery Kit: \`--key-file KIT.zip\`).`, { details: asked.details });
          await client.call('apps:provide-key', { slot, key: typedKey });
        }
        keyGiven = true;
        report = await start();
      }
      print(report, json(), (r) =>
        [
          `${r.fileName} (${r.app}${r.appVersion ? ` ${r.appVersion}` : ''}, ${formatBytes(r.sizeBytes)}${r.createdAt ? `, made ${r.createdAt}` : ''})`,
          `Integrity: ${r.integrity.ok ? 'OK' : 'FAILED'}`,
          ...r.integrity.checks.map((c) => `  ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`),
          ...r.summary.map((s) => `${s.label}: ${s.value}`),
          '',
          r.contents.title,
          table([r.contents.columns.map((c) => c.label), ...r.contents.rows.map((row) => r.contents.columns.map((c) => String(row[c.key] ?? '')))]),
          ...(r.notIncluded.length ? ['', 'Not included:', ...r.notIncluded.map((n) => `  - ${n}`)] : []),
          ...(r.secrets.length ? ['', 'Secrets:', ...r.secrets.map((n) => `  - ${n}`)] : []),
          ...(r.warnings.length ? ['', 'Warnings:', ...r.warnings.map((n) => `  - ${n}`)] : []),
        ].join('\n'),
      );
      // A report is shown whatever it says, but an archive that did not verify is a failed preview (exit 1).
      // A rejected key is not retried: the same key reads the same bytes the same way.
      if (report.keyRejected) {
        const whose = keyGiven ? 'The key given on standard input' : `The ${report.keyRejected.label} Lifeboat holds`;
        throw new LifeboatError('ARCHIVE_VERIFY_FAILED', `${whose} was rejected: ${report.keyRejected.message}`, { details: { slot: report.keyRejected.slot, keyRejected: true } });
      }
      if (!report.integrity.ok) {
        const failed = report.integrity.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail.replace(/\.$/, '')}`);
        throw new LifeboatError('ARCHIVE_VERIFY_FAILED', `${report.fileName} did not verify (${failed.join('; ') || 'integrity failed'}).`);
      }
    });

  program
    .command('import-keys <file>')
    .description("store the keys of a file an app exports (a DBackup Recovery Kit ZIP) in an installation's keychain slots")
    .requiredOption('--installation <name>', 'the installation whose backups they open')
    .option('--profile <id>', 'for a kit of one key (master.key), the encryption profile id it belongs to (as in a backup\'s .meta.json)')
    .action(async (file: string, opts: { installation: string; profile?: string }) => {
      const core = await getCore();
      const installation = await core.registry.resolve(opts.installation);
      const slotOf = core.apps.get(installation.app).secretSlots.find((s) => s.keyed);
      const slot = opts.profile && slotOf ? `${slotOf.slot}:${opts.profile}` : undefined;
      const result = await createInProcessClient(core).call('apps:import-key-file', { source: { path: file }, installationId: installation.id, ...(slot ? { slot } : {}) });
      print(result, json(), (r: KeyFileImport) => [`Stored ${r.keys.length} key(s) from the ${r.fileLabel} for "${installation.name}" in ${core.secrets().status().description}:`, ...r.keys.map((k) => `  ${k.slot}: ${k.label}`)].join('\n'));
    });

  program
    .command('restore [installation] [snapshotOrFile]')
    .description('restore an archive into an installation: preflight, plan, safety pull, typed confirmation, verification')
    .option('--mode <mode>', 'what to restore: a scope of the app (full, selective…; see --plan-only)', 'full')
    .option('--conflict <policy>', 'how to treat records that exist on both sides, for apps that offer a choice (e.g. skip, overwrite, clear-all)')
    .option('--tables <names>', 'comma-separated items (tables…) for a scope that chooses items')
    .option('--plan-only', 'show the preflight and dry-run plan, change nothing')
    .option('--confirm <name>', 'the installation\'s name, typed to confirm (else read from stdin)')
    .option('--confirm-cross-installation', 'the archive came from another installation and that is intended')
    .option('--skip-safety-pull <reason>', 'do not back up the target first (recorded in the audit trail)')
    .option('--key-stdin', 'read the key the archive needs (a file\'s, or that of the installation a snapshot came from) from stdin, for this command only; needs --confirm')
    .option('--interrupted', 'list restores that were interrupted (Lifeboat was killed while one ran): the phase, the state of the target, its safety snapshot; exits 1 while any is listed')
    .option('--acknowledge <id>', 'with --interrupted: clear that interrupted restore (its job record stays)')
    .action(async (name: string | undefined, value: string | undefined, opts: { mode: string; conflict?: string; tables?: string; planOnly?: boolean; confirm?: string; confirmCrossInstallation?: boolean; skipSafetyPull?: string; keyStdin?: boolean; interrupted?: boolean; acknowledge?: string }) => {
      const core = await getCore();
      if (opts.interrupted || opts.acknowledge) {
        const client = createInProcessClient(core);
        const left = opts.acknowledge ? await client.call('restore:acknowledge-interrupted', { restoreId: opts.acknowledge }) : await client.call('restore:interrupted', {});
        print(left, json(), describeInterrupted);
        // An interrupted restore failed; listing it says so until the operator acknowledges it.
        if (!opts.acknowledge && left.length > 0) outcome.report(EXIT.failed);
        return;
      }
      if (name === undefined || value === undefined) throw new LifeboatError('INVALID_INPUT', 'Name the installation and the snapshot or file to restore: lifeboat restore INSTALLATION SNAPSHOT|FILE (or lifeboat restore --interrupted).');
      const client = createInProcessClient(core);
      const installation = await core.registry.resolve(name);
      if (opts.keyStdin && opts.confirm === undefined && !opts.planOnly) throw new LifeboatError('INVALID_INPUT', 'With --key-stdin the key takes standard input: confirm with --confirm "<installation name>".');
      const typedKey = opts.keyStdin ? await readStdin() : null;
      const makePlan = async () => followJob<RestorePlan>(core, (await client.call('restore:plan', {
        installationId: installation.id,
        source: archiveRef(value),
        mode: opts.mode,
        ...(opts.conflict ? { conflict: opts.conflict } : {}),
        selection: opts.tables ? opts.tables.split(',').map((t) => t.trim()).filter(Boolean) : [],
      })).jobId, outcome);
      let plan: RestorePlan;
      try {
        plan = await makePlan();
      } catch (error) {
        // The archive's key is missing: hand over the one from stdin under the slot it named, and plan again.
        const slot = error instanceof LifeboatError && error.code === 'KEY_REQUIRED' ? error.details?.slot : undefined;
        if (typeof slot !== 'string') throw error;
        if (typedKey === null) throw new LifeboatError('KEY_REQUIRED', `${(error as LifeboatError).message} On the command line: pipe it into \`lifeboat restore … --key-stdin --confirm NAME\`.`, { details: (error as LifeboatError).details });
        await client.call('apps:provide-key', { slot, key: typedKey });
        plan = await makePlan();
      }
      const describe = (p: RestorePlan) =>
        [
          `Restore ${p.sourceLabel} into "${p.installationName}" (${p.mode}${p.conflict ? `, conflicts: ${p.conflict}` : ''}${p.selection.length ? `: ${p.selection.join(', ')}` : ''})`,
          p.crossInstallation ? 'NOTE: this archive came from ANOTHER installation.' : '',
          'Preflight:',
          ...p.preflight.map((c) => `  ${c.ok ? '✓' : c.blocking ? '✗' : '!'} ${c.name}: ${c.detail}`),
          'Plan:',
          ...p.changes.map((c) => `  ${c.action.padEnd(8)} ${c.item}  live ${c.live ?? '?'} → archive ${c.archive ?? '?'}`),
          'Steps:',
          ...p.steps.map((s, i) => `  ${i + 1}. ${s}`),
          `Point of no return: ${p.pointOfNoReturn}`,
        ].filter(Boolean).join('\n');
      if (opts.planOnly || plan.blocked) {
        print(plan, json(), describe);
        if (plan.blocked) throw new LifeboatError('PREFLIGHT_FAILED', 'The preflight found blocking problems; nothing was changed.');
        return;
      }
      if (!json()) process.stdout.write(`${describe(plan)}\n`);
      let confirmation = opts.confirm;
      if (confirmation === undefined) {
        process.stderr.write(`Type the installation's name ("${plan.confirmationText}") to restore: `);
        confirmation = (await readStdin()).split('\n')[0] ?? '';
      }
      const { jobId } = await client.call('restore:start', {
        planId: plan.id,
        confirmation,
        confirmCrossInstallation: Boolean(opts.confirmCrossInstallation),
        ...(opts.skipSafetyPull ? { skipSafetyPull: { reason: opts.skipSafetyPull } } : {}),
      });
      let report: RestoreReport;
      try {
        report = await followJob<RestoreReport>(core, jobId, outcome);
      } catch (error) {
        // A restore that failed (or whose verification failed) still has a report: show it, then the error.
        const kept = core.jobs.get(jobId).result as RestoreReport | null;
        if (kept) print(kept, json(), describeReport);
        throw error;
      }
      print(report, json(), describeReport);
      if (report.outcome === 'unverified') outcome.report(EXIT.warnings);
      else if (!report.ok) outcome.report(EXIT.failed);
    });
}

const OUTCOME_WORDS: Record<RestoreReport['outcome'], string> = {
  verified: 'Restore verified',
  unverified: 'Restored, but the verification could not run completely',
  'verification-failed': 'Restored, but the VERIFICATION FAILED',
  failed: 'The restore FAILED',
  cancelled: 'The restore was cancelled',
  interrupted: 'The restore was INTERRUPTED before it ended',
};

function describeInterrupted(list: InterruptedRestore[]): string {
  if (list.length === 0) return 'No interrupted restore.';
  return list
    .map((r) => [
      `INTERRUPTED ${r.restoreId}: ${r.summary}`,
      `  Phase: ${r.phase} (since ${r.phaseStartedAt}); point of no return ${r.pointOfNoReturnPassed ? 'passed' : 'not reached'}.`,
      `  Target: ${r.targetState}. ${r.advice}`,
      ...(r.safetySnapshotId ? [`  Restore the safety snapshot: lifeboat restore ${JSON.stringify(r.installationName)} ${r.safetySnapshotId}`] : []),
      `  Acknowledge: lifeboat restore --interrupted --acknowledge ${r.restoreId}`,
    ].join('\n'))
    .join('\n');
}

function describeReport(r: RestoreReport): string {
  return [
    `${OUTCOME_WORDS[r.outcome]}${r.safetySnapshotId ? `; safety snapshot ${r.safetySnapshotId.slice(0, 8)}` : ''}.`,
    ...r.checks.map((c) => `  ${c.skipped ? '–' : c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}${c.skipped ? ` (not checked: ${c.skipped})` : ''}`),
    ...(r.followUps.length ? ['Afterwards:', ...r.followUps.map((f) => `  - ${f}`)] : []),
  ].join('\n');
}
