// Notifications: asked for when the person presses "Turn on notifications" (never on load);
// then this browser subscribes to Web Push with the server's VAPID key through the service
// worker (public/sw.js), so messages notify with the tab closed. With the tab open but
// hidden, the page itself plays a short sound and shows the notification.
import { api, call } from './api.ts';

export type NotificationState = 'unsupported' | 'default' | 'granted' | 'denied';

export function notificationState(): NotificationState {
  if (!('Notification' in window) || !('serviceWorker' in navigator)) return 'unsupported';
  return Notification.permission;
}

/** The key as the bytes PushManager.subscribe wants. */
function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = (base64url + '='.repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/** Registers the service worker and hands this device's push subscription to the server. */
export async function subscribeToPush(): Promise<void> {
  const registration = await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  if (!('pushManager' in registration)) return;
  const response = await fetch('/push/vapidPublicKey');
  if (!response.ok) return;
  const { publicKey } = (await response.json()) as { publicKey: string };
  const subscription =
    (await registration.pushManager.getSubscription()) ??
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) }));
  await call(api.PUT('/users/me/device', { body: { deviceName: 'Web browser', deviceToken: JSON.stringify(subscription), transport: 'web' } }));
}

/** Asks once, on the person's request; subscribes when allowed. */
export async function enableNotifications(): Promise<NotificationState> {
  const answer = await Notification.requestPermission();
  if (answer === 'granted') await subscribeToPush();
  return answer;
}

let audio: AudioContext | undefined;
/** A short two-note chime, made on the spot (no sound file to download). */
export function chime() {
  try {
    audio ??= new AudioContext();
    const now = audio.currentTime;
    for (const [i, frequency] of [880, 1320].entries()) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + i * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.15, now + i * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.12 + 0.2);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(now + i * 0.12);
      oscillator.stop(now + i * 0.12 + 0.22);
    }
  } catch {
    // No audio (autoplay policy before any interaction): the title still counts.
  }
}

/** While the tab is open but hidden: the page shows the notification itself (no push is sent to a connected device). */
export async function notifyHere(title: string, body: string, chatId: string) {
  if (notificationState() !== 'granted') return;
  const registration = await navigator.serviceWorker.getRegistration();
  await registration?.showNotification(title, { body, tag: chatId, data: { chatId }, icon: '/favicon.svg' });
}
