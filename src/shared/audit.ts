/** One line of the append-only audit trail: what was done to which installation or snapshot. */
export interface AuditEntry {
  at: string;
  action: 'pull' | 'import' | 'check' | 'forget' | 'prune' | 'restore' | 'restore-override' | 'vault-init' | 'lock-removed' | 'drill' | 'drill-settings';
  outcome: 'succeeded' | 'succeeded-with-warnings' | 'failed' | 'cancelled';
  installationId?: string;
  installationName?: string;
  snapshotId?: string;
  mode?: string;
  jobId?: string;
  detail?: string;
}
