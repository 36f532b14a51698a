import { useMemo, useState, type ReactNode } from 'react';
import { TextWithTimes } from '../../components/when';
import type { ContentsTable } from '../../../shared/apps';

type Cell = string | number | null | undefined;

/** Numbers by value, text by locale with numbers inside compared as numbers; empty cells last. */
function compare(a: Cell, b: Cell): number {
  if (a === null || a === undefined || a === '') return b === null || b === undefined || b === '' ? 0 : 1;
  if (b === null || b === undefined || b === '') return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/**
 * What an archive holds, as a table the operator can sort by any column (click a header; again
 * to reverse). Numeric columns are right-aligned. Every cell is text: nothing is markup.
 */
export function ContentsTableView(props: { table: ContentsTable }): ReactNode {
  const { table } = props;
  const [sort, setSort] = useState<{ key: string; dir: 1 | -1 } | null>(null);
  const rows = useMemo(() => {
    if (!sort) return table.rows;
    return [...table.rows].sort((x, y) => sort.dir * compare(x[sort.key], y[sort.key]));
  }, [table.rows, sort]);

  const toggle = (key: string, numeric: boolean): void =>
    // Numbers start biggest first: "which table is largest?" is the usual question.
    setSort((s) => (s?.key === key ? { key, dir: s.dir === 1 ? -1 : 1 } : { key, dir: numeric ? -1 : 1 }));

  if (table.rows.length === 0) return <p className="muted">{table.title}: nothing listed.</p>;
  return (
    <table className="data-table" aria-label={table.title}>
      <thead>
        <tr>
          {table.columns.map((c) => {
            const active = sort?.key === c.key;
            return (
              <th key={c.key} scope="col" className={c.numeric ? 'num' : undefined} aria-sort={active ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
                <button type="button" className="sort-button" onClick={() => toggle(c.key, Boolean(c.numeric))}>
                  {c.label}
                  <span className="sort-mark" aria-hidden="true">
                    {active ? (sort.dir === 1 ? '▲' : '▼') : ''}
                  </span>
                </button>
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, index) => (
          <tr key={index}>
            {table.columns.map((c) => {
              const value = row[c.key];
              return (
                <td key={c.key} className={c.numeric ? 'num' : undefined}>
                  {value === null || value === undefined || value === '' ? '—' : typeof value === 'number' ? value.toLocaleString() : <TextWithTimes text={value} />}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
