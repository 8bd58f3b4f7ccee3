// Parley's service worker: shows a notification for each Web Push the server sends while no
// tab of this device is connected, and opens (or focuses) the chat when it is clicked.
self.addEventListener('push', (event) => {
  let frame = {};
  try {
    frame = event.data ? event.data.json() : {};
  } catch {
    frame = {};
  }
  const payload = frame.payload || {};
  const chatId = payload.chatId || frame.chatId;
  if (frame.event !== 'message' && frame.event !== 'auxiliary') return;
  const author = (payload.author && (payload.author.name || payload.author.username)) || 'Parley';
  const body = frame.truncated ? 'New message' : payload.text || (payload.attachments && payload.attachments.length ? 'Sent an attachment' : 'New message');
  event.waitUntil(
    self.registration.showNotification(author, { body, tag: chatId || 'parley', data: { chatId }, icon: '/favicon.svg', badge: '/favicon.svg' }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const chatId = event.notification.data && event.notification.data.chatId;
  const url = chatId ? `/?chat=${chatId}` : '/';
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (open) return open.focus().then((client) => client.navigate(url));
      return self.clients.openWindow(url);
    }),
  );
});
