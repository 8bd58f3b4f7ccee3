// A menu button (WAI-ARIA menu pattern): one tab stop; the menu takes focus on its first
// item, arrows and Home/End move, Esc closes it and focus goes back to the button.
import type { ComponentChildren, RefObject } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface MenuItem {
  label: string;
  act: () => void;
  danger?: boolean;
  /** The action moves focus itself (an editor, a form, a file picker): not back to the button. */
  movesFocus?: boolean;
}

interface Props {
  id: string;
  /** What the button shows. */
  children: ComponentChildren;
  /** The button's accessible name, when its text is not enough. */
  label?: string;
  menuLabel: string;
  items: MenuItem[];
  class?: string;
  disabled?: boolean;
  buttonRef?: RefObject<HTMLButtonElement | null>;
}

export function MenuButton({ id, children, label, menuLabel, items, class: className = '', disabled, buttonRef }: Props) {
  const [open, setOpen] = useState(false);
  const ownButton = useRef<HTMLButtonElement>(null);
  const button = buttonRef ?? ownButton;
  const menu = useRef<HTMLDivElement>(null);
  const [flipped, setFlipped] = useState(false);
  // A menu that would stick out of its scrolling list (a message near the top) opens the other way.
  useLayoutEffect(() => {
    if (!open || !menu.current) return setFlipped(false);
    const shown = menu.current.getBoundingClientRect();
    const bounds = (menu.current.parentElement?.closest('.messages') ?? document.documentElement).getBoundingClientRect();
    if (shown.top < bounds.top || shown.bottom > bounds.bottom) setFlipped(true);
  }, [open]);
  useEffect(() => {
    if (open) menu.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
  }, [open]);

  const close = (focusButton: boolean) => {
    setOpen(false);
    if (focusButton) button.current?.focus();
  };

  const onKey = (event: KeyboardEvent) => {
    if (event.key === 'Tab') return setOpen(false);
    const entries = [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const at = entries.indexOf(document.activeElement as HTMLElement);
    const moves: Record<string, number> = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: entries.length - 1 };
    if (event.key === 'Escape') close(true);
    else if (event.key in moves) entries[(moves[event.key] + entries.length) % entries.length]?.focus();
    else return;
    event.preventDefault();
    // Esc closes this menu only, not the chat around it.
    event.stopPropagation();
  };

  return (
    <div
      class={`menu-wrap ${className}`}
      onFocusOut={(event) => {
        // Focus leaving the menu (a click elsewhere) closes it.
        const next = event.relatedTarget as Node | null;
        if (open && next && !event.currentTarget.contains(next)) setOpen(false);
      }}
    >
      <button type="button" ref={button} class="menu-button" aria-label={label} aria-haspopup="menu" aria-expanded={open} aria-controls={open ? id : undefined} onClick={() => setOpen(!open)} disabled={disabled}>
        {children}
      </button>
      {open && (
        <div id={id} class={flipped ? 'menu flipped' : 'menu'} role="menu" aria-label={menuLabel} ref={menu} onKeyDown={onKey}>
          {items.map((item) => (
            <button
              key={item.label}
              type="button"
              role="menuitem"
              tabIndex={-1}
              class={item.danger ? 'menu-item danger' : 'menu-item'}
              onClick={() => {
                close(!item.movesFocus);
                item.act();
              }}
            >
              {item.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
