// The offer to turn notifications on: shown in the sidebar until answered or put off, so the
// browser's permission prompt only ever follows the person's own click.
import { useEffect, useState } from 'preact/hooks';
import { enableNotifications, notificationState, subscribeToPush } from './notifications.ts';

const LATER_KEY = 'parley.notifications.later';

export function NotificationPrompt() {
  const [state, setState] = useState(notificationState);
  const [later, setLater] = useState(() => localStorage.getItem(LATER_KEY) === '1');
  const [problem, setProblem] = useState('');

  // Allowed before: this session (a new device session after each login) gets the subscription too.
  useEffect(() => {
    if (state === 'granted') subscribeToPush().catch(() => {});
  }, []);

  if (state !== 'default' || later) return null;
  return (
    <div class="notify-offer" role="group" aria-label="Notifications">
      <p>Get a notification when a message arrives, even with Parley closed.</p>
      <div class="actions">
        <button
          type="button"
          class="primary"
          onClick={async () => {
            setProblem('');
            try {
              setState(await enableNotifications());
            } catch (error) {
              // Allowed, but this browser has no push service: notifications still show while a tab is open.
              setState(notificationState());
              setProblem(`Notifications show while Parley is open; push when closed is unavailable here (${error instanceof Error ? error.message : String(error)}).`);
            }
          }}
        >
          Turn on notifications
        </button>
        <button
          type="button"
          onClick={() => {
            localStorage.setItem(LATER_KEY, '1');
            setLater(true);
          }}
        >
          Not now
        </button>
      </div>
      {problem && <p class="hint">{problem}</p>}
    </div>
  );
}
