/**
 * The password-encryption key ids a Weavestream host knows, read from its compose `.env`
 * (`PASSWORD_ENCRYPTION_KEY_KID`, and the `kid:` prefixes of `PASSWORD_PREVIOUS_KEYS`). The file
 * holds the keys themselves: only the ids are kept, the bytes are wiped, nothing is logged.
 */
import type { SshSession } from '../../transport/ssh/session';

const MAX_ENV_BYTES = 256 * 1024;

/** The kids a target can decrypt with; `current` defaults to "1" like Weavestream's env schema. */
export interface TargetKids {
  current: string;
  previous: string[];
}

/** Reads the kids from the target's `.env` over SFTP. */
export async function readTargetKids(session: SshSession, envFile: string, signal?: AbortSignal): Promise<TargetKids> {
  const bytes = await session.readFile(envFile, { maxBytes: MAX_ENV_BYTES, ...(signal ? { signal } : {}) });
  try {
    return parseKids(bytes.toString('utf8'));
  } finally {
    bytes.fill(0);
  }
}

/** Parses the two kid variables out of `.env` text (`export`, quotes and comments allowed). */
export function parseKids(text: string): TargetKids {
  let current = '1';
  let previous: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?(PASSWORD_ENCRYPTION_KEY_KID|PASSWORD_PREVIOUS_KEYS)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const value = unquote(match[2] ?? '');
    if (match[1] === 'PASSWORD_ENCRYPTION_KEY_KID') {
      if (value !== '') current = value;
    } else {
      previous = value.split(',').map((item) => item.split(':')[0]?.trim() ?? '').filter((kid) => kid !== '');
    }
  }
  return { current, previous };
}

function unquote(raw: string): string {
  const value = raw.trim();
  const quoted = /^(['"])(.*)\1$/.exec(value);
  if (quoted) return quoted[2] ?? '';
  return value.replace(/\s+#.*$/, '');
}
