// The Fleet list's search, filters, urgency order and grouping (src/renderer/features/fleet/fleet-view.ts).
import { describe, expect, it } from 'vitest';
import type { FleetEntry, Freshness } from '../../src/shared/apps';
import type { ConnectionState, Installation, InstallationStatus } from '../../src/shared/installations';
import { DEFAULT_VIEW, fleetLines, fleetTags, type FleetLine, type FleetViewOptions } from '../../src/renderer/features/fleet/fleet-view';

function installation(id: string, app: string, tags: string[], host = `${id}.example.org`): Installation {
  return { id, name: `site ${id}`, app, tags, settings: {}, ssh: { host, auth: 'agent' }, secretPurposes: [], createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' };
}

function entry(id: string, freshness: Freshness, newest: string | null): FleetEntry {
  return {
    installationId: id,
    name: `site ${id}`,
    app: 'directory',
    status: null,
    newestRemote: null,
    newestSnapshot: newest ? { id: `snap-${id}`, time: newest } : null,
    freshness,
    cadenceHours: 24,
    capabilities: { pull: true, trigger: false, preview: true, restore: true } as FleetEntry['capabilities'],
    lastError: null,
  };
}

const status = (id: string, state: ConnectionState): InstallationStatus => ({ installationId: id, state, checkedAt: '2026-01-02T00:00:00Z' });

const all = [
  installation('a', 'directory', ['customer A', 'production']),
  installation('b', 'nojoin', ['customer B']),
  installation('c', 'directory', ['Customer A']),
  installation('d', 'loomio', [], 'db.internal'),
  installation('e', 'nojoin', ['production']),
];
const overview = {
  a: entry('a', 'fresh', '2026-01-02T00:00:00Z'),
  b: entry('b', 'overdue', '2025-12-20T00:00:00Z'),
  c: entry('c', 'failing', '2026-01-01T00:00:00Z'),
  d: entry('d', 'due', '2026-01-01T12:00:00Z'),
  e: entry('e', 'fresh', '2026-01-01T00:00:00Z'),
};
const statuses = { a: status('a', 'online'), b: status('b', 'online'), c: status('c', 'online'), d: status('d', 'online'), e: status('e', 'auth-failed') };
const label = (kind: string): string => kind[0]!.toUpperCase() + kind.slice(1);
const ids = (lines: FleetLine[]): string[] => lines.map((l) => (l.kind === 'row' ? l.installation.id : `[${l.label} ${l.count}]`));
const view = (patch: Partial<FleetViewOptions>): FleetViewOptions => ({ ...DEFAULT_VIEW, ...patch });

describe('fleet view', () => {
  it('puts the most urgent first: a failed sign-in and a failing backup, then overdue, due, fresh (the older copy first)', () => {
    expect(ids(fleetLines(all, overview, statuses, DEFAULT_VIEW, label))).toEqual(['c', 'e', 'b', 'd', 'a']);
    expect(ids(fleetLines(all, overview, statuses, view({ sort: 'name' }), label))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(ids(fleetLines(all, overview, statuses, view({ sort: 'newest-backup' }), label))).toEqual(['a', 'd', 'c', 'e', 'b']);
  });

  it('filters by app, connection state, tag (any case) and freshness, and searches names, hosts and tags word by word', () => {
    expect(ids(fleetLines(all, overview, statuses, view({ app: 'nojoin' }), label))).toEqual(['e', 'b']);
    expect(ids(fleetLines(all, overview, statuses, view({ state: 'auth-failed' }), label))).toEqual(['e']);
    expect(ids(fleetLines(all, overview, statuses, view({ tag: 'customer a', sort: 'name' }), label))).toEqual(['a', 'c']);
    expect(ids(fleetLines(all, overview, statuses, view({ freshness: 'fresh', sort: 'name' }), label))).toEqual(['a', 'e']);
    expect(ids(fleetLines(all, overview, statuses, view({ search: 'internal' }), label))).toEqual(['d']);
    expect(ids(fleetLines(all, overview, statuses, view({ search: 'PRODUCTION nojoin' }), label))).toEqual(['e']);
    expect(ids(fleetLines(all, overview, statuses, view({ search: 'nothing-matches' }), label))).toEqual([]);
  });

  it('groups by app or by first tag (any case, untagged last), each group in the chosen order', () => {
    expect(ids(fleetLines(all, overview, statuses, view({ group: 'app' }), label))).toEqual(['[Directory 2]', 'c', 'a', '[Loomio 1]', 'd', '[Nojoin 2]', 'e', 'b']);
    expect(ids(fleetLines(all, overview, statuses, view({ group: 'tag', sort: 'name' }), label))).toEqual(['[customer A 2]', 'a', 'c', '[customer B 1]', 'b', '[production 1]', 'e', '[No tag 1]', 'd']);
    expect(fleetTags(all)).toEqual(['customer A', 'customer B', 'production']);
  });
});
