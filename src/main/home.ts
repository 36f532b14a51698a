import os from 'node:os';
import path from 'node:path';
import { mkdirSync } from 'node:fs';

/** Where Lifeboat keeps its config, vault, logs and audit trail. `$LIFEBOAT_HOME` overrides. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIFEBOAT_HOME) return path.resolve(env.LIFEBOAT_HOME);
  switch (process.platform) {
    case 'darwin':
      return path.join(os.homedir(), 'Library', 'Application Support', 'Lifeboat');
    case 'win32':
      return path.join(env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'Lifeboat');
    default:
      return path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'lifeboat');
  }
}

/** The fixed layout under the home directory. */
export interface HomeLayout {
  root: string;
  installationsFile: string;
  settingsFile: string;
  vaultDir: string;
  logsDir: string;
  jobsFile: string;
  auditFile: string;
  stagingDir: string;
  quarantineDir: string;
}

export function homeLayout(root: string): HomeLayout {
  return {
    root,
    installationsFile: path.join(root, 'installations.json'),
    settingsFile: path.join(root, 'settings.json'),
    vaultDir: path.join(root, 'vault'),
    logsDir: path.join(root, 'logs'),
    jobsFile: path.join(root, 'jobs.jsonl'),
    auditFile: path.join(root, 'audit.jsonl'),
    stagingDir: path.join(root, 'staging'),
    quarantineDir: path.join(root, 'quarantine'),
  };
}

/** Creates the home directory (owner-only) if needed and returns its layout. */
export function ensureHome(root: string): HomeLayout {
  const layout = homeLayout(root);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  mkdirSync(layout.logsDir, { recursive: true, mode: 0o700 });
  mkdirSync(layout.stagingDir, { recursive: true, mode: 0o700 });
  return layout;
}
