import { toErrorPayload } from '../../shared/errors';
import { exitCodeForError } from './exit-codes';

/** Prints a value as JSON (machine) or through a formatter (human, with terminal control characters made visible). */
export function print<T>(value: T, json: boolean, human: (value: T) => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${visible(human(value))}\n`);
}

/**
 * Text from archives and servers can hold escape sequences (`ESC]0;…` retitles a terminal, `ESC[2J`
 * clears it): every control character but newline and tab is shown as `\xNN` instead.
 */
export function visible(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Prints rows as an aligned text table. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)));
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd()).join('\n');
}

/** Prints an error with its code; returns the process exit code (the table in exit-codes.ts). */
export function reportError(error: unknown, json: boolean): number {
  const payload = toErrorPayload(error);
  if (json) process.stderr.write(`${JSON.stringify({ error: payload })}\n`);
  else process.stderr.write(`lifeboat: ${visible(payload.message)} [${payload.code}]\n`);
  return exitCodeForError(payload.code);
}

/** Reads all of stdin (used for secrets, which never go on the command line). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

