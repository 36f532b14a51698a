// The system users that sshd-based tests log in as. The login users are created once, by the
// suite's global setup, before any vitest worker starts (workers only check them); each password
// user is made by one test server under a name no other process uses, and removed by it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { runTool } from './tools';

const execFileAsync = promisify(execFile);

/** Every login user a test may pass to `startSshd({ users })`; the global setup creates exactly these. */
export const TEST_LOGIN_USERS: readonly string[] = ['lifeboat-fleet'];

const PASSWORD_USER = /^(lifeboat-pw-(\d+)-[0-9a-f]+):/;

/** A user's passwd entry. */
export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Whether this process runs inside a vitest worker, where users are only checked, never made. */
export function insideTestWorker(): boolean {
  return process.env.VITEST_WORKER_ID !== undefined;
}

/**
 * Before any worker starts: removes password users that dead test processes left, creates each
 * missing login user, and gives every login user's home its owner and a sane mode. Needs root.
 */
export async function prepareTestUsers(names: readonly string[] = TEST_LOGIN_USERS): Promise<void> {
  await removeStalePasswordUsers();
  for (const name of names) {
    if (!(await account(name))) await retryLocked(() => runTool('useradd', ['-m', '-s', '/bin/sh', name]));
    await repairHome(await requireAccount(name));
  }
}

/** In a worker: the login user as the global setup left it; throws naming what is wrong, changes nothing. */
export async function checkLoginUser(name: string): Promise<Account> {
  if (!TEST_LOGIN_USERS.includes(name)) {
    throw new Error(`${name} is not a test login user: add it to TEST_LOGIN_USERS in test/harness/test-users.ts, so that the global setup creates it before the workers start.`);
  }
  const found = await account(name);
  const problem = found ? await homeProblem(found, false) : 'does not exist';
  if (problem || !found) {
    throw new Error(`The test user ${name} ${problem}; the suite's global setup (test/harness/global-setup.ts, run as root) creates and repairs it before any worker starts.`);
  }
  return found;
}

/** Makes a user no other process uses, with a home and this password; remove it with `deletePasswordUser`. */
export async function createPasswordUser(password: string): Promise<Account> {
  const name = `lifeboat-pw-${process.pid}-${randomBytes(3).toString('hex')}`;
  await retryLocked(() => runTool('useradd', ['-m', '-s', '/bin/sh', name]));
  try {
    await retryLocked(() => runTool('chpasswd', [], { input: `${name}:${password}\n` }));
    const made = await requireAccount(name);
    await repairHome(made);
    return made;
  } catch (error) {
    await deletePasswordUser(name);
    throw error;
  }
}

export async function deletePasswordUser(name: string): Promise<void> {
  await retryLocked(() => runTool('userdel', ['-r', '-f', name]));
}

/** Removes the password users of test processes that ended without removing theirs. */
export async function removeStalePasswordUsers(): Promise<void> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const m = PASSWORD_USER.exec(line);
    if (!m?.[1] || isAlive(Number(m[2]))) continue;
    // Only another suite's setup, starting at the same moment, could be removing it too.
    await deletePasswordUser(m[1]).catch(async (error: unknown) => {
      if (await account(m[1] as string)) throw error;
    });
  }
}

/** The passwd entry of `name`, or null when there is none. */
async function account(name: string): Promise<Account | null> {
  let line: string;
  try {
    line = (await execFileAsync('getent', ['passwd', name])).stdout;
  } catch (error) {
    // getent exits 2 when the key is not in the database.
    if ((error as { code?: number }).code === 2) return null;
    throw error;
  }
  const [, , uid, gid, , home] = line.trim().split(':');
  if (!home) throw new Error(`no home directory for ${name} in ${JSON.stringify(line)}`);
  return { name, uid: Number(uid), gid: Number(gid), home };
}

async function requireAccount(name: string): Promise<Account> {
  const found = await account(name);
  if (!found) throw new Error(`useradd reported success, but ${name} is not in the passwd database`);
  return found;
}

const ownedBy = (user: Account, entry: { uid: number; gid: number }): boolean => entry.uid === user.uid && entry.gid === user.gid;

/**
 * Entries directly in the home owned by neither the user nor root: left by an earlier user of that
 * name (another uid). Root-owned ones may be a running suite's, made just before it hands them over.
 */
async function strays(user: Account): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(user.home)) {
    const entry = await lstat(path.join(user.home, name)).catch(() => null);
    if (entry && entry.uid !== 0 && !ownedBy(user, entry)) found.push(path.join(user.home, name));
  }
  return found;
}

/**
 * What is wrong with a user's home: missing, another owner (a home kept from an earlier user of
 * that name keeps that user's uid), or a mode that shuts the user out or lets others write.
 * `deep` also looks for strays inside it (a worker does not: it only checks what setup made).
 */
async function homeProblem(user: Account, deep: boolean): Promise<string | null> {
  const info = await lstat(user.home).catch(() => null);
  if (!info?.isDirectory()) return `has no home directory ${user.home}`;
  if (!ownedBy(user, info)) return `has the home ${user.home} owned by ${info.uid}:${info.gid}, not by its own ${user.uid}:${user.gid}`;
  const mode = info.mode & 0o777;
  if ((mode & 0o700) !== 0o700 || (mode & 0o022) !== 0) return `has the home ${user.home} with mode ${mode.toString(8)}`;
  const [stray] = deep ? await strays(user) : [];
  return stray ? `has ${stray} owned by another uid` : null;
}

/** Creates a missing home, hands it (or the strays in it) to the user, and sets a sane mode. */
async function repairHome(user: Account): Promise<void> {
  if ((await homeProblem(user, true)) === null) return;
  const chownAll = (target: string): Promise<string> => runTool('chown', ['-R', '--no-dereference', `${user.uid}:${user.gid}`, target]);
  const info = await lstat(user.home).catch(() => null);
  if (!info) await mkdir(user.home, { recursive: true, mode: 0o755 });
  // A home of another owner is an earlier user's: all of it goes to this one.
  if (!info || !ownedBy(user, info)) await chownAll(user.home);
  else for (const stray of await strays(user)) await chownAll(stray);
  const mode = (await lstat(user.home)).mode & 0o777;
  await chmod(user.home, (mode | 0o700) & ~0o022);
  const left = await homeProblem(user, true);
  if (left) throw new Error(`The test user ${user.name} still ${left} after the repair.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs a shadow-utils tool again while another process holds the passwd files' lock. */
export async function retryLocked(action: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await action();
      return;
    } catch (error) {
      if (attempt >= 30 || !/lock|busy|try again/i.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
}

/** The login users that do not exist yet (so that a long-running fleet can remove what it made). */
export async function missingLoginUsers(names: readonly string[] = TEST_LOGIN_USERS): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) if (!(await account(name))) missing.push(name);
  return missing;
}

/** Removes login users with their homes (`npm run fleet` on exit, for the users it created). */
export async function removeLoginUsers(names: readonly string[]): Promise<void> {
  for (const name of names) await retryLocked(() => runTool('userdel', ['-r', '-f', name]));
}
