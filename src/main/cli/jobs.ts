import { LifeboatError } from '../../shared/errors';
import { isSuccess, type JobRecord } from '../../shared/jobs';
import { EXIT, type CommandOutcome } from './exit-codes';
import type { Core } from '../core';
import { formatBytes } from '../../shared/format-bytes';

/**
 * Waits for a job, drawing its progress (bytes, rate, ETA) on stderr when it is a terminal.
 * Ctrl-C asks the job to cancel. Resolves with the job's result, throws its error.
 */
export async function followJob<T>(core: Core, jobId: string, outcome?: CommandOutcome): Promise<T> {
  const tty = process.stderr.isTTY;
  const unsubscribe = core.events.on('job:update', (job) => {
    if (job.id !== jobId || !tty) return;
    process.stderr.write(`\r\x1b[2K${describeProgress(job)}`);
  });
  const onSigint = () => {
    try {
      core.jobs.cancel(jobId);
      process.stderr.write('\ncancelling…\n');
    } catch (error) {
      process.stderr.write(`\n${(error as Error).message}\n`);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const finished = await core.jobs.wait(jobId);
    if (tty) process.stderr.write('\r\x1b[2K');
    if (finished.status === 'succeeded-with-warnings') {
      for (const warning of finished.warnings) process.stderr.write(`warning: ${warning}\n`);
      outcome?.report(EXIT.warnings);
    }
    if (isSuccess(finished.status)) return finished.result as T;
    throw LifeboatError.fromPayload(finished.error ?? { code: 'INTERNAL', message: 'The job ended without a result.' });
  } finally {
    process.off('SIGINT', onSigint);
    unsubscribe();
  }
}

export function describeProgress(job: JobRecord): string {
  const p = job.progress;
  const parts = [`${job.title}: ${p.phase}`];
  if (p.bytes > 0 || p.total) parts.push(p.total ? `${formatBytes(p.bytes)} of ${formatBytes(p.total)}` : formatBytes(p.bytes));
  if (p.rate) parts.push(`${formatBytes(p.rate)}/s`);
  if (p.etaSeconds !== null) parts.push(`ETA ${Math.ceil(p.etaSeconds)} s`);
  return parts.join(' · ');
}
