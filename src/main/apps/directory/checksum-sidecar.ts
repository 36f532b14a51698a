/**
 * `.sha256` sidecars as `sha256sum` writes them: `<64 hex>  <name>` (or `<hex> *<name>`), one
 * line per file; a sidecar that holds just the hex counts too.
 */

/** The name a file's checksum sidecar has. */
export const checksumSidecarName = (fileName: string): string => `${fileName}.sha256`;

/** The SHA-256 the sidecar gives for the file, or null when it names none (or is not a checksum file). */
export function sha256FromSidecar(text: string, fileName: string): string | null {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length === 1 && /^[0-9a-fA-F]{64}$/.test(lines[0]!)) return lines[0]!.toLowerCase();
  for (const line of lines) {
    const match = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (match && (match[2] === fileName || match[2]!.endsWith(`/${fileName}`))) return match[1]!.toLowerCase();
  }
  return null;
}
