/**
 * Every check a module or the core can emit carries a human label (`name` of IntegrityCheck and
 * PreflightCheck), never its id: the UI and the CLI show `name`, so a check named like its id
 * ("archive-integrity", "psql") reads as a raw key. Read from the source, where each check is
 * made: object literals with an id and a name, the check helpers' calls, and the id/name tuples
 * some verifiers iterate.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DIRS = ['src/main/apps', 'src/main/restore', 'src/main/drills', 'src/main/verification', 'src/main/vault-service'];

function sources(dir: string): string[] {
  const full = path.join(ROOT, dir);
  let entries;
  try {
    entries = readdirSync(full, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

const LITERAL = String.raw`'((?:[^'\\]|\\.)*)'|\x60([^\x60]*)\x60|"([^"]*)"`;
const CHECK_KINDS = 'integrity|compatibility|target|selection|verification';
/** `{ id: 'x', kind: 'integrity', name: 'X' }`, in any order of those three, `as const` or not. */
const OBJECT = new RegExp(String.raw`id:\s*(?:${LITERAL}),\s*kind:\s*'(?:${CHECK_KINDS})'(?: as const)?,\s*name:\s*(?:${LITERAL})`, 'g');
/** Check helpers called with the id then the name: `check('engine', 'Same engine', …)`, `hashCheck('md5', 'MD5', …)`. */
const HELPER = new RegExp(String.raw`\b(?:check|hashCheck|preflight|verification)\(\s*'([a-z0-9:-]+)',\s*(?:${LITERAL})`, 'g');
/** `['toc', 'Table of contents']` tuples and `{ id: 'files', name: 'Files' }` inputs of check builders. */
const TUPLE = new RegExp(String.raw`\[\s*'([a-z0-9-]+)',\s*'([^']*)'\s*\]|\{\s*id:\s*'([a-z0-9:-]+)',\s*name:\s*(?:${LITERAL})`, 'g');

interface Found {
  file: string;
  id: string;
  name: string;
}

function found(): Found[] {
  const out: Found[] = [];
  for (const file of DIRS.flatMap(sources)) {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    for (const m of text.matchAll(OBJECT)) out.push({ file, id: m[1] ?? m[2] ?? m[3] ?? '', name: m[4] ?? m[5] ?? m[6] ?? '' });
    for (const m of text.matchAll(HELPER)) out.push({ file, id: m[1]!, name: m[2] ?? m[3] ?? m[4] ?? '' });
    for (const m of text.matchAll(TUPLE)) {
      if (m[1] !== undefined) {
        // Only tuples that feed checks: the file builds IntegrityChecks from them.
        if (/IntegrityCheck/.test(text) && /\bname\b/.test(text)) out.push({ file, id: m[1], name: m[2]! });
      } else out.push({ file, id: m[3]!, name: m[4] ?? m[5] ?? m[6] ?? '' });
    }
  }
  return out;
}

/** What a raw key looks like: lowercase words joined by -, _ or :, with no space. */
const ID_SHAPED = /^[a-z0-9]+(?:[-_:][a-z0-9$.{}]+)+$/;

describe('check labels', () => {
  const checks = found();

  it('finds the checks of every app module and of the core', () => {
    // The scan must keep seeing them; fewer would mean it stopped matching how checks are made.
    expect(checks.length).toBeGreaterThan(120);
    const folders = new Set(checks.map((c) => c.file.split('/')[3] ?? c.file));
    for (const app of ['weavestream', 'meshmonitor', 'nojoin', 'loomio', 'dbackup', 'directory']) expect(folders, app).toContain(app);
    expect(checks.some((c) => c.file === 'src/main/restore/restore-service.ts' && c.id === 'archive-integrity')).toBe(true);
  });

  it('gives every check id a human label, not the id', () => {
    const bad = checks.filter((c) => c.name.trim() === '' || c.name === c.id || c.name.toLowerCase() === c.id.replace(/-/g, ' ') && !/[A-Z ]/.test(c.name) || ID_SHAPED.test(c.name));
    expect(bad.map((c) => `${c.file}: ${c.id} → "${c.name}"`)).toEqual([]);
  });
});
