// One fuzz child: previews each case it is sent (a JSON line on stdin: id, file, app, key) the way
// `lifeboat preview FILE` does — the `apps:preview` job, and on KEY_REQUIRED the key handed over and
// the preview run again — and answers with JSON lines on stdout: `start`, then `done` with the
// outcome (a report and the details of its failed integrity checks, or the error's code), its peak
// RSS and whether anything was left in staging.
// Bundled with esbuild and run by plain Node, as the product's CLI is, so its memory is the product's.
import { readdirSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createInProcessClient } from '../../src/main/contract/in-process';
import { createCore, MemorySecretStore } from '../../src/main/core';
import { LifeboatError, toErrorPayload } from '../../src/shared/errors';
import type { PreviewReport } from '../../src/shared/apps';

interface Request {
  id: number;
  file: string;
  app: string;
  key?: string;
}

/** Peak RSS since the last reset, in MB (VmHWM). */
function peakRssMb(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

function send(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const core = await createCore({ home: process.env.LIFEBOAT_HOME!, secretStore: new MemorySecretStore('fuzz') });
const client = createInProcessClient(core);

async function preview(request: Request): Promise<PreviewReport> {
  const once = async (): Promise<PreviewReport> => {
    const { jobId } = await client.call('apps:preview', { source: { path: request.file }, app: request.app });
    const record = await core.jobs.wait(jobId);
    if (record.status === 'failed' || record.status === 'cancelled') {
      const error = record.error!;
      throw new LifeboatError(error.code, error.message, { details: error.details ?? {} });
    }
    return record.result as PreviewReport;
  };
  try {
    return await once();
  } catch (error) {
    const slot = error instanceof LifeboatError && error.code === 'KEY_REQUIRED' ? error.details?.slot : undefined;
    if (typeof slot !== 'string' || request.key === undefined) throw error;
    await client.call('apps:provide-key', { slot, key: request.key });
    return once();
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const request = JSON.parse(line) as Request;
  core.sessionKeys.forget();
  // Resets VmHWM, so the peak is this case's alone.
  writeFileSync('/proc/self/clear_refs', '5');
  send({ id: request.id, event: 'start' });
  const started = performance.now();
  let result: { outcome: 'valid' | 'typed' | 'crash'; code?: string; message?: string; intact?: boolean; failedChecks?: string[] };
  try {
    const report = await preview(request);
    const failedChecks = report.integrity.checks.filter((c) => !c.ok && c.kind === 'integrity').map((c) => c.detail.slice(0, 300));
    result = { outcome: 'valid', intact: report.integrity.ok, ...(failedChecks.length > 0 ? { failedChecks } : {}) };
  } catch (error) {
    const payload = toErrorPayload(error);
    result = { outcome: payload.code === 'INTERNAL' ? 'crash' : 'typed', code: payload.code, message: payload.message.slice(0, 300) };
  }
  const leftInStaging = readdirSync(core.home.stagingDir);
  send({ id: request.id, event: 'done', ...result, ms: Math.round(performance.now() - started), peakRssMb: Math.round(peakRssMb()), leftInStaging });
}
await core.close();
