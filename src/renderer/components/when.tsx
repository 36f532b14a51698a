import type { ReactNode } from 'react';
import { formatRelative, formatTime, splitTimestamps } from '../lib/format';
import { useNow } from '../lib/use-now';

/**
 * A point in time, the one way the app shows one: relative ("3 hours ago"), the exact time in the
 * user's locale on hover, the machine-readable time in `dateTime`.
 */
export function When(props: { iso: string; prefix?: string }): ReactNode {
  const now = useNow();
  return (
    <time dateTime={props.iso} title={formatTime(props.iso)}>
      {props.prefix ?? ''}
      {formatRelative(props.iso, now)}
    </time>
  );
}

/** Free text from the core or an archive with every ISO timestamp in it shown as {@link When}. */
export function TextWithTimes(props: { text: string }): ReactNode {
  const pieces = splitTimestamps(props.text);
  if (pieces.length === 1 && 'text' in pieces[0]!) return props.text;
  return (
    <>
      {pieces.map((p, index) => ('text' in p ? p.text : <When key={index} iso={p.iso} />))}
    </>
  );
}
