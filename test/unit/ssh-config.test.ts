// ssh_config resolution, checked against the real `ssh -G` (OpenSSH's own resolver) where it can be.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatError } from '../../src/shared/errors';
import { parseJumpList } from '../../src/main/transport/ssh/client';
import { matchPatternList, matchWildcard } from '../../src/main/transport/ssh/host-pattern';
import { SshConfig } from '../../src/main/transport/ssh/ssh-config';

const run = promisify(execFile);
let dir: string;
let home: string;

/** What `ssh -G -F file alias` says, as lower-case keyword → values. */
async function opensshResolve(file: string, alias: string): Promise<Map<string, string[]>> {
  const { stdout } = await run('ssh', ['-G', '-F', file, alias], { env: { ...process.env, HOME: home } });
  const out = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const [key, ...rest] = line.split(' ');
    if (!key) continue;
    const k = key.toLowerCase();
    out.set(k, [...(out.get(k) ?? []), rest.join(' ')]);
  }
  return out;
}

const MAIN = (includeDir: string): string => `# Lifeboat test config
Include ${includeDir}/*.conf
Host web*  !webx
  HostName %h.example.org
  User deploy
  IdentityFile ~/.ssh/%r_%h_%p
Host db
  HostName=10.0.0.5
  Port 5022
  ProxyJump ops@bastion.example.org:2022
  IdentityFile "/keys/with space/id_db" # trailing comment
Host nojump
  ProxyJump none
Match originalhost cache
  HostName cache.internal
Match host cache.internal
  Port 6000
Host *
  Port 2200
  User fallback
  IdentityFile /keys/%u-%n
  ProxyJump bastion@jump:2022
`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-sshconfig-'));
  home = path.join(dir, 'home');
  await mkdir(path.join(home, '.ssh', 'conf.d'), { recursive: true });
  await writeFile(path.join(home, '.ssh', 'conf.d', '10-nas.conf'), 'Host nas\n  HostName 192.168.1.20\n  User admin\n');
  await writeFile(path.join(home, '.ssh', 'conf.d', 'ignored.txt'), 'Host nas\n  User wrong\n');
  await writeFile(path.join(dir, 'main.conf'), MAIN(path.join(home, '.ssh', 'conf.d')));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('host patterns', () => {
  it('handle *, ?, negation and case', () => {
    expect(matchWildcard('web*', 'web01')).toBe(true);
    expect(matchWildcard('web?', 'web01')).toBe(false);
    expect(matchWildcard('*.example.*', 'a.example.org')).toBe(true);
    expect(matchWildcard('a*b*c', 'aXbYbZc')).toBe(true);
    expect(matchWildcard('a*b*c', 'aXbYbZ')).toBe(false);
    expect(matchWildcard('WEB*', 'web1')).toBe(true);
    expect(matchPatternList(['*.lan', '!secret.lan'], 'secret.lan')).toBe('negated');
    expect(matchPatternList(['*.lan', '!secret.lan'], 'nas.lan')).toBe('match');
    expect(matchPatternList(['!secret.lan'], 'nas.lan')).toBe('none');
  });
});

describe('SshConfig.resolve', () => {
  it('agrees with ssh -G on hostname, port, user, proxyjump and identity files', async () => {
    const file = path.join(dir, 'main.conf');
    const config = SshConfig.load(file, { homeDir: home, localUser: 'me' });
    for (const alias of ['web1', 'webx', 'db', 'nojump', 'nas', 'cache', 'other']) {
      const ours = config.resolve(alias);
      const theirs = await opensshResolve(file, alias);
      expect(ours.hostName, alias).toBe(theirs.get('hostname')?.[0]);
      expect(String(ours.port ?? 22), alias).toBe(theirs.get('port')?.[0]);
      expect(ours.proxyJump, alias).toBe(theirs.get('proxyjump')?.[0]);
      expect(ours.identityFiles.length, alias).toBe(theirs.get('identityfile')?.length);
      if (ours.user !== undefined) expect(ours.user, alias).toBe(theirs.get('user')?.[0]);
    }
  });

  it('lets the first value win, accumulates IdentityFile and expands tokens and ~', () => {
    const config = SshConfig.load(path.join(dir, 'main.conf'), { homeDir: home, localUser: 'me' });
    const web = config.resolve('web1');
    expect(web).toMatchObject({ hostName: 'web1.example.org', port: 2200, user: 'deploy', proxyJump: 'bastion@jump:2022' });
    expect(web.identityFiles).toEqual([path.join(home, '.ssh', 'deploy_web1.example.org_2200'), '/keys/me-web1']);
    const db = config.resolve('db', { user: 'override', port: 7022 });
    expect(db).toMatchObject({ hostName: '10.0.0.5', port: 7022, user: 'override', proxyJump: 'ops@bastion.example.org:2022' });
    expect(db.identityFiles).toEqual(['/keys/with space/id_db', '/keys/me-db']);
    expect(config.resolve('nojump').proxyJump).toBeUndefined();
    expect(config.resolve('nas')).toMatchObject({ hostName: '192.168.1.20', user: 'admin' });
    expect(config.resolve('cache')).toMatchObject({ hostName: 'cache.internal', port: 6000 });
  });

  it('reads relative Includes from ~/.ssh, conditionally inside a Host block', () => {
    const text = 'Host inner\n  Include conf.d/*.conf\nHost *\n  User outer\n';
    const config = SshConfig.parse(text, { homeDir: home });
    // 10-nas.conf's `Host nas` block applies only while the enclosing `Host inner` matches.
    expect(config.resolve('nas').user).toBe('outer');
    expect(config.resolve('inner').user).toBe('outer');
    const top = SshConfig.parse('Include conf.d/*.conf\n', { homeDir: home });
    expect(top.resolve('nas').user).toBe('admin');
  });

  it('skips Match blocks it cannot evaluate, with a warning', () => {
    const config = SshConfig.parse('Match exec "true"\n  User fromexec\nHost *\n  User plain\n', { homeDir: home, source: 'cfg' });
    expect(config.resolve('x').user).toBe('plain');
    expect(config.warnings).toEqual(['cfg:1: Match exec is not supported; the block is skipped']);
  });

  it('reports bad values as SSH_CONFIG and flags ProxyCommand', () => {
    const bad = SshConfig.parse('Host x\n  Port seventy\n', { homeDir: home });
    expect(() => bad.resolve('x')).toThrow(LifeboatError);
    expect(() => bad.resolve('x')).toThrow(/Port in the ssh config/);
    const pc = SshConfig.parse('Host x\n  ProxyCommand nc %h %p\n', { homeDir: home });
    expect(pc.resolve('x').proxyCommand).toBe('nc %h %p');
    expect(SshConfig.load(path.join(dir, 'missing'), { homeDir: home }).resolve('y')).toMatchObject({ hostName: 'y', port: undefined, user: undefined });
  });
});

describe('parseJumpList', () => {
  it('reads [user@]host[:port] hops, IPv6 brackets and ssh:// URIs', () => {
    expect(parseJumpList('ops@bastion:2022')).toEqual([{ host: 'bastion', user: 'ops', port: 2022 }]);
    expect(parseJumpList('a, ssh://u@b:23 ,[::1]:2200')).toEqual([{ host: 'a' }, { host: 'b', user: 'u', port: 23 }, { host: '::1', port: 2200 }]);
    expect(parseJumpList('none')).toEqual([]);
    expect(() => parseJumpList('@host')).toThrow(/not \[user@\]host/);
  });
});
