import { useCallback, useEffect, useState } from 'react';
import type { EventName } from '../../../shared/contract';
import { toErrorPayload } from '../../../shared/errors';
import { api } from '../../lib/api';

/**
 * Loads a value from the core now and again whenever one of `events` arrives (never on a timer),
 * for the unattended-protection views, which keep their own small state.
 */
export function useLive<T>(load: () => Promise<T>, events: EventName[]): { value: T | null; error: string | null; reload: () => void } {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    load().then(
      (v) => {
        setValue(v);
        setError(null);
      },
      (e: unknown) => setError(toErrorPayload(e).message),
    );
    // `load` is a fresh closure each render; the events are what matter.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useEffect(() => {
    reload();
    const offs = events.map((name) => api.on(name, () => reload()));
    return () => offs.forEach((off) => off());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reload]);
  return { value, error, reload };
}
