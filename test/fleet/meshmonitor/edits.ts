import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Gives the first node of a backup directory a column MeshMonitor's schema lacks, and fixes
 * nodes.json's checksum in metadata.json: the backup verifies, but the server's restore rolls back.
 */
export async function addUnknownNodeColumn(dir: string): Promise<void> {
  const nodesFile = path.join(dir, 'nodes.json');
  const nodes = JSON.parse(await readFile(nodesFile, 'utf8')) as Record<string, unknown>[];
  nodes[0] = { ...nodes[0], bogusColumn: 1 };
  const text = JSON.stringify(nodes, null, 2);
  await writeFile(nodesFile, text);
  const metaFile = path.join(dir, 'metadata.json');
  const meta = JSON.parse(await readFile(metaFile, 'utf8')) as { checksums: Record<string, string> };
  meta.checksums.nodes = createHash('sha256').update(text).digest('hex');
  await writeFile(metaFile, JSON.stringify(meta, null, 2));
}
