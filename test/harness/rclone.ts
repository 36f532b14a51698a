import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';

/** A running `rclone serve restic` on 127.0.0.1 with a free port. */
export interface RcloneServer {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts `rclone serve restic` over `dir` on a free 127.0.0.1 port (a restic REST v2 server). */
export async function startRclone(dir: string, extraArgs: string[] = []): Promise<RcloneServer> {
  await mkdir(dir, { recursive: true });
  const child: ChildProcess = spawn('rclone', ['serve', 'restic', '--addr', '127.0.0.1:0', dir, '--config', '/dev/null', ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`rclone did not start: ${log}`)), 15_000);
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /Serving restic REST API on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(log);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`rclone exited ${String(code)}: ${log}`));
    });
  });
  return {
    url,
    dir,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

