import { useCallback, useState } from 'react';

/**
 * Runs one user action at a time with its busy flag and error, so every button in the vault
 * shows "working" and the core's refusal the same way. Errors are kept for display, not swallowed.
 */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>): {
  run: (...args: A) => void;
  busy: boolean;
  error: unknown;
  clearError: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(
    (...args: A) => {
      setBusy(true);
      setError(null);
      action(...args)
        .catch((e: unknown) => setError(e))
        .finally(() => setBusy(false));
    },
    [action],
  );
  return { run, busy, error, clearError: useCallback(() => setError(null), []) };
}
