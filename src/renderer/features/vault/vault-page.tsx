import type { ReactNode } from 'react';
import { EmptyState } from '../../components/empty-state';
import { VaultIcon } from '../../components/icons';

/**
 * The vault: where pulled backups live, deduplicated and encrypted. The vault commands are not
 * in the contract yet; snapshot lists, checks and retention go in this folder when they are.
 */
export function VaultPage(): ReactNode {
  return (
    <EmptyState title="The vault is where your backups are kept" icon={<VaultIcon width={32} height={32} />}>
      <p>
        Every backup Lifeboat pulls from an installation is stored here as a <strong>snapshot</strong> in an encrypted
        archive store in the restic repository format: files are split into chunks, deduplicated across all snapshots,
        compressed and encrypted with a key only your vault password opens.
      </p>
      <p>
        Because it is the restic format, you can also open the vault with the <code>restic</code> command-line tool — your
        backups do not depend on Lifeboat to be read.
      </p>
      <p className="muted">Creating or opening a vault, and browsing its snapshots, will appear on this page.</p>
    </EmptyState>
  );
}
