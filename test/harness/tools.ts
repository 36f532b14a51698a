// Running the system tools the harness drives (ssh-keygen, useradd, chown, psql, …).
import { execFile } from 'node:child_process';
import path from 'node:path';

/** Runs a tool and returns its stdout; the error names the tool and its stderr. */
export async function runTool(file: string, args: string[], options: { input?: string; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${stderr || error.message}`, { cause: error }));
      else resolve(stdout);
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
