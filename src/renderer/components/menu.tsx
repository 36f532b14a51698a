import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';

/** One entry of a {@link Menu}: a command, a link, or a divider between groups. */
export type MenuItem =
  | { kind: 'action'; label: string; ariaLabel?: string; title?: string; onSelect: () => void; disabled?: boolean; danger?: boolean }
  | { kind: 'link'; label: string; ariaLabel?: string; href: string }
  | { kind: 'separator' };

/**
 * A "⋯" button that opens a short list of commands (WAI-ARIA menu button): arrow keys move between
 * items, Esc closes and returns focus to the button, a click outside closes it.
 */
export function Menu(props: { label: string; items: MenuItem[]; buttonText?: ReactNode }): ReactNode {
  const [open, setOpen] = useState(false);
  const menuId = useId();
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const listRef = useRef<HTMLUListElement>(null);

  useEffect(() => {
    if (!open) return;
    listRef.current?.querySelector<HTMLElement>('[role="menuitem"]:not([aria-disabled="true"])')?.focus();
    const onPointer = (event: PointerEvent): void => {
      if (!rootRef.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', onPointer);
    return () => document.removeEventListener('pointerdown', onPointer);
  }, [open]);

  const close = (): void => {
    setOpen(false);
    buttonRef.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>): void => {
    const items = [...(listRef.current?.querySelectorAll<HTMLElement>('[role="menuitem"]:not([aria-disabled="true"])') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const move = (to: number): void => {
      event.preventDefault();
      items[(to + items.length) % items.length]?.focus();
    };
    if (event.key === 'ArrowDown') move(at + 1);
    else if (event.key === 'ArrowUp') move(at - 1);
    else if (event.key === 'Home') move(0);
    else if (event.key === 'End') move(items.length - 1);
    else if (event.key === 'Escape') {
      event.preventDefault();
      close();
    } else if (event.key === 'Tab') setOpen(false);
  };

  return (
    <div className="menu" ref={rootRef}>
      <button
        ref={buttonRef}
        type="button"
        className="button button-small menu-button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-label={props.label}
        title={props.label}
        onClick={() => setOpen((o) => !o)}
      >
        {props.buttonText ?? '⋯'}
      </button>
      {open ? (
        <ul className="menu-list" role="menu" id={menuId} aria-label={props.label} ref={listRef} onKeyDown={onKeyDown}>
          {props.items.map((item, i) =>
            item.kind === 'separator' ? (
              <li key={`sep-${i}`} role="separator" className="menu-separator" />
            ) : item.kind === 'link' ? (
              <li key={item.label} role="none">
                <a role="menuitem" className="menu-item" href={item.href} aria-label={item.ariaLabel} tabIndex={-1} onClick={() => setOpen(false)}>
                  {item.label}
                </a>
              </li>
            ) : (
              <li key={item.label} role="none">
                <button
                  type="button"
                  role="menuitem"
                  className={`menu-item${item.danger ? ' menu-item-danger' : ''}`}
                  aria-label={item.ariaLabel}
                  aria-disabled={item.disabled ? true : undefined}
                  title={item.title}
                  tabIndex={-1}
                  onClick={() => {
                    if (item.disabled) return;
                    setOpen(false);
                    item.onSelect();
                  }}
                >
                  {item.label}
                </button>
              </li>
            ),
          )}
        </ul>
      ) : null}
    </div>
  );
}
