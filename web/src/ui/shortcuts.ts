// Keyboard shortcuts of the shell: Ctrl/⌘-K jumps to a chat (the search field); Esc closes
// the open screen (an open editor takes Esc first and marks it handled).
import type { RefObject } from 'preact';
import { useEffect } from 'preact/hooks';
import type { View } from './route.ts';

export function useShortcuts(view: RefObject<View>, go: (next: View, focus?: boolean) => void) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const current = view.current;
      if (!current) return;
      if (event.key.toLowerCase() === 'k' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        // On a phone the search is on the list screen.
        if (current.kind !== 'home' && matchMedia('(max-width: 720px)').matches) go({ kind: 'home' }, false);
        setTimeout(() => document.getElementById('chat-search')?.focus(), 0);
      } else if (event.key === 'Escape' && !event.defaultPrevented && current.kind !== 'home') {
        go({ kind: 'home' });
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
}
