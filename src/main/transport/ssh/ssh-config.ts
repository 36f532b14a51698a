/**
 * ~/.ssh/config, read the way OpenSSH reads it: `Host` and simple `Match` blocks, first value
 * wins for each option (IdentityFile accumulates), `Include` with globs in the last path part,
 * `~` and `%` tokens in paths. Only the options Lifeboat uses are interpreted; others are ignored.
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LifeboatError } from '../../../shared/errors';
import { matchPatternList, matchWildcard } from './host-pattern';

/** The effective settings for one host alias. */
export interface ResolvedSshConfig {
  /** The name asked for (OpenSSH's %n). */
  alias: string;
  /** HostName with tokens expanded, or the alias. */
  hostName: string;
  port: number | undefined;
  user: string | undefined;
  /** Absolute paths, in the order OpenSSH would try them. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** `[user@]host[:port]` hops, comma-separated as written; undefined for none. */
  proxyJump: string | undefined;
  /** Set when the config asks for a ProxyCommand, which Lifeboat does not run. */
  proxyCommand: string | undefined;
  connectTimeoutSec: number | undefined;
  serverAliveIntervalSec: number | undefined;
  serverAliveCountMax: number | undefined;
  /** Name to look the host key up under instead of the host name. */
  hostKeyAlias: string | undefined;
  userKnownHostsFiles: string[] | undefined;
  /** Agent socket path from IdentityAgent; 'none' disables the agent. */
  identityAgent: string | undefined;
}

/** Values given on the "command line" (the installation), which beat the config file. */
export interface SshConfigOverrides {
  user?: string;
  port?: number;
}

/** Where a config is read from, and whose home `~` means. */
export interface SshConfigSource {
  homeDir: string;
  /** Name used in error messages and as the base for relative Include paths' parent. */
  source?: string;
  /** The local user name (%u); defaults to the current OS user. */
  localUser?: string;
}

type Condition =
  | { kind: 'host'; patterns: string[] }
  | { kind: 'match'; criteria: MatchCriterion[] }
  | { kind: 'never' };

interface MatchCriterion {
  negated: boolean;
  name: string;
  patterns: string[];
}

interface Directive {
  /** All must hold: the enclosing blocks of every Include level. */
  conditions: Condition[];
  keyword: string;
  args: string[];
  where: string;
}

const MAX_INCLUDE_DEPTH = 16;

/** A parsed ssh_config file (with its Includes). */
export class SshConfig {
  private readonly directives: Directive[];
  private readonly homeDir: string;
  private readonly localUser: string;
  /** Things that were ignored because Lifeboat cannot evaluate them (e.g. `Match exec`). */
  readonly warnings: string[];

  private constructor(directives: Directive[], source: SshConfigSource, warnings: string[]) {
    this.directives = directives;
    this.homeDir = source.homeDir;
    this.localUser = source.localUser ?? localUserName();
    this.warnings = warnings;
  }

  /** Parses config text; Include paths are read from disk relative to `<homeDir>/.ssh`. */
  static parse(text: string, source: SshConfigSource): SshConfig {
    const warnings: string[] = [];
    const directives = parseText(text, source.source ?? 'ssh_config', [], source.homeDir, 0, warnings);
    return new SshConfig(directives, source, warnings);
  }

  /** Reads a config file; a missing file is an empty config. */
  static load(file: string, source: SshConfigSource): SshConfig {
    const text = readOptional(file);
    return SshConfig.parse(text ?? '', { ...source, source: file });
  }

  /** The effective settings for `alias`, as `ssh alias` would use them. */
  resolve(alias: string, overrides: SshConfigOverrides = {}): ResolvedSshConfig {
    const first = new Map<string, string[]>();
    const identityFiles: string[] = [];
    const state = { alias, hostName: alias, user: overrides.user };
    for (const d of this.directives) {
      if (!d.conditions.every((c) => this.holds(c, state))) continue;
      if (d.keyword === 'identityfile') {
        if (d.args[0] !== undefined) identityFiles.push(d.args[0]);
        continue;
      }
      if (first.has(d.keyword)) continue;
      first.set(d.keyword, d.args);
      // Later Match blocks see the values found so far, as in OpenSSH.
      if (d.keyword === 'hostname' && d.args[0] !== undefined) state.hostName = d.args[0];
      if (d.keyword === 'user' && state.user === undefined && d.args[0] !== undefined) state.user = d.args[0];
    }
    const one = (k: string): string | undefined => first.get(k)?.[0];
    const hostName = expandTokens(one('hostname') ?? alias, { h: alias, '%': '%' });
    const port = overrides.port ?? parseNumber(one('port'), 'Port', 1, 65535);
    const user = overrides.user ?? one('user');
    const tokens: Record<string, string> = {
      '%': '%',
      d: this.homeDir,
      h: hostName,
      n: alias,
      p: String(port ?? 22),
      r: user ?? this.localUser,
      u: this.localUser,
      l: os.hostname().split('.')[0] ?? '',
      L: os.hostname().split('.')[0] ?? '',
    };
    const toPath = (p: string): string => this.absolutePath(expandTokens(p, tokens));
    const jump = one('proxyjump');
    const agent = one('identityagent');
    const knownHosts = first.get('userknownhostsfile');
    return {
      alias,
      hostName,
      port,
      user,
      identityFiles: identityFiles.map(toPath),
      identitiesOnly: one('identitiesonly')?.toLowerCase() === 'yes',
      proxyJump: jump === undefined || jump.toLowerCase() === 'none' ? undefined : jump,
      proxyCommand: first.get('proxycommand')?.join(' ').replace(/^none$/i, '') || undefined,
      connectTimeoutSec: parseNumber(one('connecttimeout'), 'ConnectTimeout', 0, 3600),
      serverAliveIntervalSec: parseNumber(one('serveraliveinterval'), 'ServerAliveInterval', 0, 86_400),
      serverAliveCountMax: parseNumber(one('serveralivecountmax'), 'ServerAliveCountMax', 0, 1000),
      hostKeyAlias: one('hostkeyalias'),
      userKnownHostsFiles: knownHosts?.map(toPath),
      identityAgent: agent === undefined ? undefined : agent === 'SSH_AUTH_SOCK' || agent === 'none' ? agent : toPath(agent),
    };
  }

  private holds(condition: Condition, state: { alias: string; hostName: string; user: string | undefined }): boolean {
    switch (condition.kind) {
      case 'never':
        return false;
      case 'host':
        return matchPatternList(condition.patterns, state.alias) === 'match';
      case 'match':
        return condition.criteria.every((c) => {
          const value =
            c.name === 'all' ? true
            : c.name === 'host' ? listMatches(c.patterns, state.hostName)
            : c.name === 'originalhost' ? listMatches(c.patterns, state.alias)
            : c.name === 'user' ? listMatches(c.patterns, state.user ?? this.localUser)
            : c.name === 'localuser' ? listMatches(c.patterns, this.localUser)
            : false;
          return c.negated ? !value : value;
        });
    }
  }

  private absolutePath(p: string): string {
    if (p === '~' || p.startsWith('~/')) return path.join(this.homeDir, p.slice(1));
    return path.isAbsolute(p) ? p : path.join(this.homeDir, p);
  }
}

function listMatches(patterns: string[], value: string): boolean {
  return matchPatternList(patterns, value) === 'match';
}

function parseText(text: string, source: string, outer: Condition[], homeDir: string, depth: number, warnings: string[]): Directive[] {
  const out: Directive[] = [];
  let block: Condition[] = outer;
  text.split(/\r?\n/).forEach((raw, index) => {
    const where = `${source}:${index + 1}`;
    const parsed = splitLine(raw, where);
    if (!parsed) return;
    const { keyword, args } = parsed;
    if (keyword === 'host') {
      block = [...outer, { kind: 'host', patterns: args }];
    } else if (keyword === 'match') {
      block = [...outer, parseMatch(args, where, warnings)];
    } else if (keyword === 'include') {
      if (depth >= MAX_INCLUDE_DEPTH) throw new LifeboatError('SSH_CONFIG', `${where}: Include nested more than ${MAX_INCLUDE_DEPTH} deep.`);
      for (const pattern of args) {
        for (const file of expandInclude(pattern, homeDir)) {
          const included = readOptional(file);
          if (included !== null) out.push(...parseText(included, file, block, homeDir, depth + 1, warnings));
        }
      }
    } else {
      out.push({ conditions: block, keyword, args, where });
    }
  });
  return out;
}

function parseMatch(args: string[], where: string, warnings: string[]): Condition {
  const criteria: MatchCriterion[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i] ?? '';
    const negated = word.startsWith('!');
    const name = (negated ? word.slice(1) : word).toLowerCase();
    if (name === 'all') {
      criteria.push({ negated, name, patterns: [] });
      continue;
    }
    if (!['host', 'originalhost', 'user', 'localuser'].includes(name)) {
      warnings.push(`${where}: Match ${name} is not supported; the block is skipped`);
      return { kind: 'never' };
    }
    const list = args[++i];
    if (list === undefined) throw new LifeboatError('SSH_CONFIG', `${where}: Match ${name} needs a pattern list.`);
    criteria.push({ negated, name, patterns: list.split(',') });
  }
  return { kind: 'match', criteria };
}

/** Splits `Keyword args` / `Keyword=args`, honouring double quotes and `#` comments. */
function splitLine(raw: string, where: string): { keyword: string; args: string[] } | null {
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) return null;
  const m = /^([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+|$)(.*)$/.exec(line);
  if (!m?.[1]) throw new LifeboatError('SSH_CONFIG', `${where}: cannot read the line "${line.slice(0, 80)}".`);
  const args: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let t = re.exec(m[2] ?? ''); t; t = re.exec(m[2] ?? '')) {
    if (t[2]?.startsWith('#')) break;
    args.push(t[1] ?? t[2] ?? '');
  }
  return { keyword: m[1].toLowerCase(), args };
}

function expandInclude(pattern: string, homeDir: string): string[] {
  const expanded = pattern === '~' || pattern.startsWith('~/') ? path.join(homeDir, pattern.slice(1)) : pattern;
  // OpenSSH resolves relative Include paths against ~/.ssh for the user's config.
  const absolute = path.isAbsolute(expanded) ? expanded : path.join(homeDir, '.ssh', expanded);
  const dir = path.dirname(absolute);
  const base = path.basename(absolute);
  if (!/[*?]/.test(base)) return [absolute];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.filter((n) => !n.startsWith('.') && matchWildcard(base, n)).sort().map((n) => path.join(dir, n));
}

function expandTokens(value: string, tokens: Record<string, string>): string {
  return value.replace(/%(.)/g, (whole, t: string) => tokens[t] ?? whole);
}

function parseNumber(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new LifeboatError('SSH_CONFIG', `${name} in the ssh config must be a whole number from ${min} to ${max}, not "${value}".`);
  }
  return n;
}

function readOptional(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new LifeboatError('SSH_CONFIG', `Cannot read the ssh config file ${file}.`, { cause: error });
  }
}

/** The local user name (OpenSSH's %u), also the default remote user. */
export function localUserName(): string {
  // $USER first: os.userInfo() throws for a uid without a passwd entry (some containers).
  return process.env.USER ?? os.userInfo().username;
}
