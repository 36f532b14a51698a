import { useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { FleetLine } from './fleet-view';
import { InstallationRow } from './installation-row';

/** A collapsed row's height before it is measured (name, backup strip, keys line). */
const ESTIMATED_ROW_PX = 120;
const GROUP_PX = 34;

/**
 * The Fleet list, virtualised: only the rows near the viewport are in the DOM (the page scrolls
 * in `.main-column`), spacers above and below stand for the rest, so 200 rows cost what 20 do.
 * Keyboard: the rows form one tab stop; ↑/↓ (Home/End) move between them, Enter opens the
 * installation's settings, Shift+F10 or the context-menu key opens its "⋯" menu, Tab enters it.
 */
export function FleetVirtualList(props: { lines: FleetLine[]; onEdit: (id: string) => void }): ReactNode {
  const { lines, onEdit } = props;
  const listRef = useRef<HTMLUListElement>(null);
  const [scrollMargin, setScrollMargin] = useState(0);
  const [activeKey, setActiveKey] = useState<string | null>(null);
  const pendingFocus = useRef<string | null>(null);

  const scroller = (): HTMLElement | null => listRef.current?.closest<HTMLElement>('.main-column') ?? null;
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: scroller,
    estimateSize: (index) => (lines[index]?.kind === 'group' ? GROUP_PX : ESTIMATED_ROW_PX),
    getItemKey: (index) => lines[index]?.key ?? index,
    overscan: 6,
    scrollMargin,
    initialRect: { width: 1280, height: typeof window === 'undefined' ? 800 : window.innerHeight },
  });

  // Where the list starts inside the scrolling column (errors and the toolbar sit above it),
  // measured again whenever the page's layout changes size.
  useLayoutEffect(() => {
    const list = listRef.current;
    const column = list?.closest<HTMLElement>('.main-column');
    if (!list || !column) return;
    const measure = (): void => setScrollMargin(Math.round(list.getBoundingClientRect().top - column.getBoundingClientRect().top + column.scrollTop));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(list.closest('main') ?? column);
    return () => observer.disconnect();
  }, []);

  // A row reached by the keyboard gets focus once the virtualiser has rendered it.
  useLayoutEffect(() => {
    const key = pendingFocus.current;
    if (!key) return;
    const element = listRef.current?.querySelector<HTMLElement>(`[data-line-key="${CSS.escape(key)}"]`);
    if (element) {
      pendingFocus.current = null;
      element.focus();
    }
  });

  const rowKeys = lines.filter((l) => l.kind === 'row').map((l) => l.key);
  const tabStop = activeKey !== null && rowKeys.includes(activeKey) ? activeKey : (rowKeys[0] ?? null);

  const moveTo = (key: string | undefined): void => {
    if (key === undefined) return;
    setActiveKey(key);
    pendingFocus.current = key;
    virtualizer.scrollToIndex(lines.findIndex((l) => l.key === key), { align: 'auto' });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>): void => {
    const target = event.target as HTMLElement;
    const key = target.dataset.lineKey;
    // Keys inside a row's buttons, menu or dialogs are theirs.
    if (!key || target.tagName !== 'LI') return;
    const at = rowKeys.indexOf(key);
    const line = lines.find((l) => l.key === key);
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp' || event.key === 'Home' || event.key === 'End') {
      event.preventDefault();
      const to = event.key === 'Home' ? 0 : event.key === 'End' ? rowKeys.length - 1 : at + (event.key === 'ArrowDown' ? 1 : -1);
      moveTo(rowKeys[Math.max(0, Math.min(rowKeys.length - 1, to))]);
    } else if (event.key === 'Enter' && line?.kind === 'row') {
      event.preventDefault();
      onEdit(line.installation.id);
    } else if (event.key === 'ContextMenu' || (event.key === 'F10' && event.shiftKey)) {
      event.preventDefault();
      target.querySelector<HTMLButtonElement>('.fleet-actions .menu-button')?.click();
    }
  };

  const items = virtualizer.getVirtualItems();
  const first = items[0];
  const last = items.at(-1);
  const before = first ? first.start - scrollMargin : 0;
  const after = last ? Math.max(0, virtualizer.getTotalSize() - (last.end - scrollMargin)) : 0;

  return (
    <ul
      ref={listRef}
      className="fleet-items"
      aria-label="Installations"
      data-total={lines.length}
      style={{ paddingTop: before, paddingBottom: after }}
      onKeyDown={onKeyDown}
    >
      {items.map((item) => {
        const line = lines[item.index];
        if (!line) return null;
        if (line.kind === 'group') {
          return (
            <li key={line.key} ref={virtualizer.measureElement} data-index={item.index} className="fleet-group">
              <h2 className="fleet-group-title">
                {line.label} <span className="muted">· {line.count}</span>
              </h2>
            </li>
          );
        }
        return (
          <InstallationRow
            key={line.key}
            installation={line.installation}
            onEdit={onEdit}
            item={{
              ref: virtualizer.measureElement,
              'data-index': item.index,
              'data-line-key': line.key,
              tabIndex: line.key === tabStop ? 0 : -1,
              onFocus: (event) => {
                if (event.target === event.currentTarget) setActiveKey(line.key);
              },
            }}
          />
        );
      })}
    </ul>
  );
}
