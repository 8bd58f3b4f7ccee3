// The web client in a real browser (Debian's Chromium driven by playwright-core) against a
// real server: two people in two browser contexts, one desktop-sized and one phone-sized.
// Each step leaves a screenshot in test-artifacts/web/.
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'otplib';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import t from 'tap';
import { buildWeb } from '../../scripts/build-web.ts';
import { startApp } from '../helpers/app.ts';
import { messengerClient, registerUser } from '../helpers/messenger.ts';
import type { Delivery } from '../../src/realtime/events.ts';
import { pushPayload } from '../../src/realtime/push.ts';

// A browser session of many steps: more than the suite's per-file default.
t.setTimeout(300_000);

const artifacts = path.resolve(import.meta.dirname, '../../test-artifacts/web');
await rm(artifacts, { recursive: true, force: true });
await mkdir(artifacts, { recursive: true });
await buildWeb({ quiet: true });
const { app, baseUrl } = await startApp(t);

const browser: Browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
t.teardown(() => browser.close());

async function personPage(viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto('/');
  return page;
}

let shots = 0;
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(artifacts, `${String(++shots).padStart(2, '0')}-${name}.png`) });

const suffix = Math.random().toString(36).slice(2, 7);
const alice = { name: 'Alice Example', username: `alice${suffix}`, password: 'alice password' };
const bob = { name: 'Bob Example', username: `bob${suffix}`, password: 'bob password 1' };

const alicePage = await personPage({ width: 1280, height: 800 });
const bobPage = await personPage({ width: 390, height: 844 });

// Nothing the client asks for should be missing (favicon, previews not yet made …).
const missing: string[] = [];
for (const page of [alicePage, bobPage]) page.on('response', (response) => void (response.status() === 404 && missing.push(response.url())));

/** Requests of one kind a page makes while `work` runs. */
async function requestsDuring(page: Page, match: RegExp, work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (request: { method(): string; url(): string }) => void (match.test(`${request.method()} ${request.url()}`) && seen.push(`${request.method()} ${request.url()}`));
  page.on('request', listener);
  try {
    await work();
  } finally {
    page.off('request', listener);
  }
  return seen;
}

/** As if the person switched to another tab (or back): the page's visibility changes. */
const setHidden = (page: Page, hidden: boolean) =>
  page.evaluate((hidden) => {
    const scope = globalThis as unknown as { document: object & { dispatchEvent(event: unknown): void }; Event: new (type: string) => unknown };
    Object.defineProperty(scope.document, 'visibilityState', { value: hidden ? 'hidden' : 'visible', configurable: true });
    Object.defineProperty(scope.document, 'hidden', { value: hidden, configurable: true });
    scope.document.dispatchEvent(new scope.Event('visibilitychange'));
  }, hidden);

async function register(page: Page, person: typeof alice) {
  await page.getByRole('button', { name: 'Create account' }).first().click();
  await page.getByLabel('Your name').fill(person.name);
  await page.getByLabel('Username').fill(person.username);
  await page.getByLabel('Password').fill(person.password);
  await page.locator('form').getByRole('button', { name: 'Create account' }).click();
  // Signed in: the navigation names the person (on a phone the chat list is the first screen).
  await page.getByRole('button', { name: `Profile (${person.name})` }).waitFor();
  await page.getByText('Live', { exact: true }).waitFor();
}

// A failed step leaves both screens as they were, next to the steps that passed.
t.afterEach(async (t) => {
  if (t.passing()) return;
  const step = t.name.replace(/\W+/g, '-').toLowerCase();
  for (const [who, page] of [['alice', alicePage], ['bob', bobPage]] as const) {
    if (!page.isClosed()) await shot(page, `FAILED-${step}-${who}`).catch(() => {});
  }
});

// The root tsconfig has no DOM library: what the page-side callbacks read, typed by hand.
interface ImageElement {
  src: string;
  complete: boolean;
  naturalWidth: number;
}
const focusedElement = (page: Page) =>
  page.evaluate(() => {
    const focused = (globalThis as unknown as { document: { activeElement: { id: string; name?: string } | null } }).document.activeElement;
    return { id: focused?.id, name: focused?.name };
  });

/** The focused element once focus has moved as wanted (focus moves in an effect after render), else the last seen after 5 s. */
async function settledFocus(page: Page, wanted: (focused: { id?: string; name?: string }) => boolean) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const focused = await focusedElement(page);
    if (wanted(focused) || Date.now() > deadline) return focused;
    await page.waitForTimeout(50);
  }
}

/**
 * Waits until `check` (run in the page, async allowed) answers true, or fails after 15 s.
 * Not page.waitForFunction: it takes the promise an async function returns as a truthy answer.
 */
async function untilInPage(page: Page, check: (arg: string) => Promise<boolean>, arg: string, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await page.evaluate(check, arg))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(100);
  }
}

/** In the page: the service worker shows exactly one notification, "title: body" (one per chat: the newest replaces the one before). */
const notifiedOnce = async (wanted: string) => {
  const scope = globalThis as unknown as { navigator: { serviceWorker: { getRegistration(): Promise<{ getNotifications(): Promise<{ title: string; body: string }[]> } | undefined> } } };
  const notes = (await (await scope.navigator.serviceWorker.getRegistration())?.getNotifications()) ?? [];
  return notes.length === 1 && `${notes[0].title}: ${notes[0].body}` === wanted;
};

const bobSession = async () =>
  JSON.parse((await bobPage.evaluate(() => localStorage.getItem('parley.session')))!) as { token: string; userId: number };

/** The main navigation; on a phone it is on the list screen, behind "← Chats". */
async function navigate(page: Page, name: string | RegExp) {
  const back = page.getByRole('button', { name: '← Chats' });
  if (await back.isVisible()) await back.click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name }).click();
}

/** A message by its own text (not by the text it quotes). */
const messageItem = (page: Page, text: string) => page.locator('li.message').filter({ has: page.locator(':scope > .text', { hasText: text }) });

/** A message's one actions button, then one of its menu items. */
async function messageAction(page: Page, text: string, action: 'Reply' | 'Edit' | 'Delete') {
  await messageItem(page, text).getByRole('button', { name: /^Actions for / }).click();
  await page.getByRole('menuitem', { name: action, exact: true }).click();
}

/** The name a screen reader gives the focused element. */
const labelOfFocused = (page: Page) => page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('aria-label') as string | null);

t.test('two people register', async (t) => {
  await alicePage.getByRole('heading', { name: 'Log in' }).waitFor();
  await shot(alicePage, 'login-screen');
  await register(alicePage, alice);
  await register(bobPage, bob);
  t.ok(await alicePage.getByText('No chats yet').isVisible(), 'a new account has no chats');
  t.ok(await alicePage.getByRole('heading', { name: `Welcome, ${alice.name}` }).isVisible(), 'the desktop layout greets beside the list');
  t.ok(await bobPage.locator('.main').isHidden(), 'the phone layout shows only the chat list');
  await shot(alicePage, 'alice-registered');
  await shot(bobPage, 'bob-registered-phone');
});

t.test('registration errors are shown, not swallowed', async (t) => {
  const page = await personPage({ width: 800, height: 700 });
  await page.getByRole('button', { name: 'Create account' }).first().click();
  await page.getByLabel('Your name').fill('Someone Else');
  await page.getByLabel('Username').fill(alice.username);
  await page.getByLabel('Password').fill('long enough password');
  await page.locator('form').getByRole('button', { name: 'Create account' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  t.match(await alert.textContent(), /taken|exists|already/i, 'a taken username says so');
  await shot(page, 'registration-error');

  // The rules are said in words next to their fields, before the server is asked.
  await page.getByLabel('Your name').fill("Anne-Marie O'Brien");
  await page.getByLabel('Username').fill('ab');
  await page.getByLabel('Password').fill('short');
  t.equal(await page.getByLabel('Password').getAttribute('minlength'), '8', 'the password field carries the rule');
  const requests = await requestsDuring(page, /POST .*\/api\/users$/, () => page.locator('form').getByRole('button', { name: 'Create account' }).click());
  t.same(requests, [], 'nothing is sent while a field is wrong');
  t.equal(await page.locator('#auth-username-problem').textContent(), 'The username must be 5 to 25 characters.', 'the username problem sits under the username');
  t.equal(await page.locator('#auth-password-problem').textContent(), 'The password must be at least 8 characters.', 'the password problem sits under the password');
  t.equal(await page.locator('#auth-name-problem').count(), 0, 'a real name with a hyphen and an apostrophe is fine');
  t.notMatch(await page.locator('form').textContent(), /body\/|must NOT|pattern/, 'no validator jargon on screen');
  await shot(page, 'registration-rules');
  await page.getByLabel('Username').fill(`anne${suffix}`);
  await page.getByLabel('Password').fill('long enough password');
  await page.locator('form').getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('button', { name: "Profile (Anne-Marie O'Brien)" }).waitFor();
  t.pass('"Anne-Marie O\'Brien" is accepted by the server');
  await page.context().close();
});

t.test('a personal chat: live message, edit, read mark, reply', async (t) => {
  await alicePage.getByRole('button', { name: 'New chat' }).click();
  await alicePage.getByLabel('Find people').fill(bob.username);
  await alicePage.getByRole('button', { name: `Chat with ${bob.name}` }).click();
  await alicePage.getByRole('heading', { name: bob.name }).waitFor();
  // Bob's page is open: the header says he is online.
  await alicePage.locator('.chat-head .presence').getByText('online', { exact: true }).waitFor();
  t.pass('the header of a personal chat says the other person is online');
  t.equal((await settledFocus(alicePage, (f) => f.id === 'composer')).id, 'composer', 'the composer has focus in a new chat');
  await alicePage.getByLabel('Message', { exact: true }).fill('Hello Bob');
  await alicePage.keyboard.press('Enter');
  await messageItem(alicePage, 'Hello Bob').getByText('✓ Sent').waitFor();
  await shot(alicePage, 'alice-sent');

  // Bob has not reloaded: the chat appears in his list over the WebSocket, unread.
  const bobChat = bobPage.getByRole('link', { name: `${alice.name}, 1 unread` });
  await bobChat.waitFor();
  t.match(await bobChat.textContent(), /Hello Bob/, "Bob's list shows the latest message");
  t.equal(await bobChat.locator('.avatar-small').textContent(), 'AE', "without a photo, Alice's initials stand in for it");
  await shot(bobPage, 'bob-sees-new-message');

  await messageAction(alicePage, 'Hello Bob', 'Edit');
  const editor = alicePage.getByLabel('Edit message');
  await editor.fill('Hello Bob, edited');
  await alicePage.getByRole('button', { name: 'Save' }).click();
  await messageItem(alicePage, 'Hello Bob, edited').getByText('edited', { exact: true }).waitFor();
  await bobPage.getByRole('link', { name: `${alice.name}, 1 unread` }).getByText('Hello Bob, edited').waitFor();
  await shot(bobPage, 'bob-sees-edit-in-list');

  await bobPage.getByRole('link', { name: `${alice.name}, 1 unread` }).click();
  await messageItem(bobPage, 'Hello Bob, edited').getByText('edited', { exact: true }).waitFor();
  t.ok(await bobPage.locator('.sidebar').isHidden(), 'on a phone the open chat replaces the list');
  // What was unread when the chat opened sits under a "New messages" divider; the day heads the messages.
  await bobPage.getByRole('separator', { name: 'New messages' }).waitFor();
  t.match(await bobPage.locator('li.new-divider + li.message').textContent(), /Hello Bob, edited/, 'the divider is right above the first unread message');
  t.equal(await bobPage.getByRole('separator', { name: 'Today' }).count(), 1, "one day separator for today's messages");
  t.not((await settledFocus(bobPage, (f) => f.id === 'chat-title')).id, 'composer', 'on a phone the composer does not grab focus (no keyboard pops up)');
  await shot(bobPage, 'bob-reads-chat');

  // Opening the chat marked it read; Alice sees the mark without reloading.
  await messageItem(alicePage, 'Hello Bob, edited').getByText('✓✓ Read').waitFor();
  await shot(alicePage, 'alice-sees-read-mark');

  // Typing shows on the other side (the API's notify), and stops with the message.
  await bobPage.getByLabel('Message', { exact: true }).pressSequentially('Hi');
  await alicePage.getByText('Bob Example is typing…').waitFor();
  t.pass('Alice sees Bob typing');
  await bobPage.getByLabel('Message', { exact: true }).fill('Hi Alice');
  await bobPage.getByRole('button', { name: 'Send' }).click();
  await messageItem(alicePage, 'Hi Alice').waitFor();
  await alicePage.getByText('Bob Example is typing…').waitFor({ state: 'detached' });
  t.equal(await messageItem(alicePage, 'Hi Alice').getByText('Bob Example').count(), 1, "the reply shows Bob's name");

  // Replying: the composer says to what (and can drop it); the answer quotes it; the quote leads to it.
  const replyTo = () => messageAction(alicePage, 'Hi Alice', 'Reply');
  await replyTo();
  await alicePage.locator('.reply-bar').getByText('Hi Alice').waitFor();
  await alicePage.getByRole('button', { name: 'Cancel reply' }).click();
  t.equal(await alicePage.locator('.reply-bar').count(), 0, 'Cancel drops the reply');
  await replyTo();
  await alicePage.getByLabel('Message', { exact: true }).fill('Nice to hear from you');
  await alicePage.keyboard.press('Enter');
  t.equal(await alicePage.locator('.reply-bar').count(), 0, 'sending ends the reply');
  const quote = messageItem(bobPage, 'Nice to hear from you').getByRole('button', { name: /^In reply to You: Hi Alice/ });
  await quote.waitFor();
  await messageItem(alicePage, 'Nice to hear from you').getByText('✓✓ Read').waitFor();
  t.match(await messageItem(alicePage, 'Nice to hear from you').locator('.quote').textContent(), /Bob Example\s*Hi Alice/, 'Alice sees the quoted preview too');
  await quote.click();
  await bobPage.locator('li.message.highlight').filter({ has: bobPage.locator(':scope > .text', { hasText: 'Hi Alice' }) }).waitFor();
  t.pass('clicking the quote shows the original, highlighted');
  await shot(bobPage, 'bob-sees-reply');
  await bobPage.getByRole('button', { name: '← Chats' }).click();
  await bobPage.waitForFunction(
    () => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id === 'chats-title',
  );
  t.pass('back on the list, focus is on its heading');
  const unreadBadges = await bobPage.locator('.badge').count();
  t.equal(unreadBadges, 0, 'nothing unread for Bob once he read the chat');
  await shot(bobPage, 'bob-chat-list-read');
});

t.test('a chat open in a background tab counts unread and marks read only what is seen, once', async (t) => {
  // Notifications are offered, not asked for on load; allowing them registers the service worker.
  const offer = bobPage.getByRole('group', { name: 'Notifications' });
  await offer.waitFor();
  await bobPage.context().grantPermissions(['notifications']);
  await offer.getByRole('button', { name: 'Turn on notifications' }).click();
  await untilInPage(
    bobPage,
    async () => {
      const scope = globalThis as unknown as { navigator: { serviceWorker: { getRegistration(): Promise<{ active: { scriptURL: string } | null } | undefined> } } };
      return (await scope.navigator.serviceWorker.getRegistration())?.active?.scriptURL.endsWith('/sw.js') === true;
    },
    '',
    'the service worker',
  );
  t.pass('the service worker is registered once notifications are allowed');
  await shot(bobPage, 'notifications-offered');

  await bobPage.getByRole('link', { name: new RegExp(`^${alice.name}`) }).click();
  await messageItem(bobPage, 'Hi Alice').waitFor();
  await setHidden(bobPage, true);
  const whileHidden = await requestsDuring(bobPage, /PUT .*\/read$/, async () => {
    for (const text of ['Away 1', 'Away 2', 'Away 3']) {
      await alicePage.getByLabel('Message', { exact: true }).fill(text);
      await alicePage.keyboard.press('Enter');
      await messageItem(bobPage, text).waitFor();
    }
    await bobPage.waitForFunction(() => (globalThis as unknown as { document: { title: string } }).document.title === '(3) Parley');
  });
  t.same(whileHidden, [], 'nothing is marked read while the tab is hidden');
  t.pass('the title counts what arrived in the hidden tab');
  // One notification per chat (the newest message replaces the one before).
  await untilInPage(bobPage, notifiedOnce, `${alice.name}: Away 3`, 'one notification for the chat');
  t.pass('a notification for the message that arrived in the hidden tab');
  const onReturn = await requestsDuring(bobPage, /PUT .*\/read$/, async () => {
    await setHidden(bobPage, false);
    await bobPage.waitForFunction(() => (globalThis as unknown as { document: { title: string } }).document.title === 'Parley');
    await messageItem(alicePage, 'Away 3').getByText('✓✓ Read').waitFor();
  });
  const newest = await messageItem(bobPage, 'Away 3').getAttribute('data-message-id');
  t.equal(onReturn.length, 1, 'one read request for the three messages');
  t.match(onReturn[0], new RegExp(`/messages/${newest}/read$`), 'for the newest one on screen');
  t.ok(await messageItem(alicePage, 'Away 1').getByText('✓✓ Read').isVisible(), 'which reads the ones before it too');

  // Phone-sized touch targets: the message actions are at least 24 px each way.
  await bobPage.getByLabel('Message', { exact: true }).fill('Touch me');
  await bobPage.keyboard.press('Enter');
  const actions = await messageItem(bobPage, 'Touch me').getByRole('button', { name: /^Actions for your message/ }).boundingBox();
  t.ok(actions && actions.height >= 24 && actions.width >= 24, `the actions button is a usable touch target (${actions?.width}×${actions?.height})`);
  await bobPage.getByRole('button', { name: '← Chats' }).click();
});

t.test('a send that fails waits in the outbox and goes once the connection is back', async (t) => {
  await messageItem(alicePage, 'Touch me').waitFor();
  await alicePage.route('**/api/chats/*/messages', (route) => (route.request().method() === 'POST' ? route.abort('internetdisconnected') : route.fallback()));
  await alicePage.getByLabel('Message', { exact: true }).fill('Sent from a tunnel');
  await alicePage.keyboard.press('Enter');
  const pending = alicePage.locator('li.pending', { hasText: 'Sent from a tunnel' });
  await pending.getByText(/Not sent/).waitFor();
  await shot(alicePage, 'outbox-not-sent');
  await alicePage.unroute('**/api/chats/*/messages');
  await alicePage.evaluate(() => (globalThis as unknown as { dispatchEvent(event: unknown): void; Event: new (type: string) => unknown }).dispatchEvent(new (globalThis as unknown as { Event: new (type: string) => unknown }).Event('online')));
  await messageItem(alicePage, 'Sent from a tunnel').getByText('✓ Sent').waitFor();
  await pending.waitFor({ state: 'detached' });
  await bobPage.getByRole('link', { name: new RegExp(`^${alice.name}, 1 unread`) }).waitFor();
  t.equal(await alicePage.locator('li.message', { hasText: 'Sent from a tunnel' }).count(), 1, 'sent once');
});

t.test('an uploaded image shows its preview on both sides', async (t) => {
  await bobPage.getByRole('link', { name: new RegExp(`^${alice.name}`) }).click();
  const landscape = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#6fa8dc"/><stop offset="1" stop-color="#f6d7a7"/></linearGradient></defs>
    <rect width="640" height="400" fill="url(#sky)"/><circle cx="480" cy="120" r="50" fill="#f9c74f"/>
    <path d="M0 300 Q160 200 320 290 T640 270 V400 H0 Z" fill="#4f772d"/><path d="M0 340 Q200 280 420 340 T640 330 V400 H0 Z" fill="#31572c"/></svg>`;
  const png = await sharp(Buffer.from(landscape)).png().toBuffer();
  await alicePage.getByLabel('Attach a file').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: png });
  for (const [who, page] of [['Alice', alicePage], ['Bob', bobPage]] as const) {
    const preview = page.locator('li.message img[alt^="Image preview"]:not(.loading)');
    await preview.waitFor();
    const { src, width } = await preview.evaluate((element) => {
      const img = element as unknown as ImageElement;
      return { src: img.src, width: img.naturalWidth };
    });
    t.match(src, /\/uploads\/[0-9a-f-]{36}-preview\.jpeg/, `${who} sees the preview file`);
    t.ok(width > 0 && width <= 350, `${who}'s preview is a loaded image at most 350 px wide (${width})`);
  }
  await shot(alicePage, 'image-preview-alice');
  await shot(bobPage, 'image-preview-bob');

  await alicePage.getByLabel('Attach a file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('shopping list') });
  const link = bobPage.getByRole('link', { name: /Download file \(TXT, 13 B\)/ });
  await link.waitFor();
  const href = await link.getAttribute('href');
  t.equal(await (await fetch(`${baseUrl}${href}`)).text(), 'shopping list', 'the file link downloads the upload');
  await shot(bobPage, 'file-attachment');
});

t.test('deleting a message', async (t) => {
  await alicePage.getByLabel('Message', { exact: true }).fill('Oops, wrong chat');
  await alicePage.keyboard.press('Enter');
  await messageItem(bobPage, 'Oops, wrong chat').waitFor();
  await messageAction(alicePage, 'Oops, wrong chat', 'Delete');
  await alicePage.getByRole('button', { name: 'Yes, delete' }).click();
  await messageItem(bobPage, 'Oops, wrong chat').waitFor({ state: 'detached' });
  t.ok(await messageItem(bobPage, 'Message deleted').isVisible(), 'Bob sees the message deleted, live');
  await shot(bobPage, 'message-deleted');
  await shot(alicePage, 'chat-desktop');
});

t.test('formatting and links are rendered, markup is not', async (t) => {
  await alicePage.getByLabel('Message', { exact: true }).fill('*Bold* and _slanted_, `a<b`, <b>not markup</b> https://example.org/plan?x=1.');
  await alicePage.keyboard.press('Enter');
  const item = messageItem(bobPage, 'not markup');
  await item.waitFor();
  t.equal(await item.locator('.text strong').textContent(), 'Bold', 'bold');
  t.equal(await item.locator('.text em').textContent(), 'slanted', 'italic');
  t.equal(await item.locator('.text code').textContent(), 'a<b', 'code');
  t.equal(await item.locator('.text b').count(), 0, 'HTML in a message stays text');
  t.match(await item.locator('.text').textContent(), /<b>not markup<\/b>/);
  t.equal(await item.getByRole('link', { name: 'https://example.org/plan?x=1' }).getAttribute('href'), 'https://example.org/plan?x=1', 'a clickable link, the full stop left out');

  // Keyboard: ↑ in the empty composer edits my last message, Esc closes the editor, then the chat; Ctrl-K finds a chat.
  await alicePage.getByLabel('Message', { exact: true }).focus();
  await alicePage.keyboard.press('ArrowUp');
  const editor = alicePage.getByRole('textbox', { name: 'Edit message' });
  await editor.waitFor();
  await alicePage.waitForFunction(() => {
    const area = (globalThis as unknown as { document: { querySelector(s: string): { value: string } | null } }).document.querySelector('.edit textarea');
    return area?.value.startsWith('*Bold* and');
  });
  t.pass('↑ edits the last own message');
  await alicePage.keyboard.press('Escape');
  await editor.waitFor({ state: 'detached' });
  t.ok(await alicePage.getByRole('heading', { name: bob.name }).isVisible(), 'Esc closed the editor, not the chat');
  await alicePage.keyboard.press('Escape');
  await alicePage.getByRole('heading', { name: `Welcome, ${alice.name}` }).waitFor();
  await alicePage.keyboard.press('Control+k');
  t.equal((await settledFocus(alicePage, (f) => f.id === 'chat-search')).id, 'chat-search', 'Ctrl-K jumps to the chat search');
  await alicePage.getByRole('link', { name: new RegExp(`^${bob.name}`) }).click();
  await messageItem(alicePage, 'not markup').waitFor();
});

t.test('scrolling back loads older messages', async (t) => {
  const session = await bobSession();
  const api = messengerClient(baseUrl, { authorization: `Bearer ${session.token}` });
  const chats = await api.GET('/chats');
  const chat = chats.data!.find((c) => c.isPersonal)!;
  for (let i = 1; i <= 40; i++) {
    const { response } = await api.POST('/chats/{chatId}/messages', {
      params: { path: { chatId: chat.id } },
      body: { localId: `x+${crypto.randomUUID()}`, text: `Batch message ${i}` },
    });
    t.equal(response.status, 200);
  }
  await messageItem(alicePage, 'Batch message 40').waitFor();
  await messageItem(bobPage, 'Batch message 40').getByText('✓✓ Read').waitFor();
  t.pass('what arrived on Alice\'s screen is read, as Bob sees');
  t.match(alicePage.url(), /\?chat=[0-9a-f-]{36}$/, 'the open chat has a URL');
  // A reload keeps the open chat, and the list costs one request (unread counts included).
  const onReload = await requestsDuring(alicePage, /GET .*\/api\/chats/, async () => {
    await alicePage.reload();
    await messageItem(alicePage, 'Batch message 40').waitFor();
  });
  t.equal(onReload.filter((url) => /\/api\/chats\?/.test(url)).length, 1, 'one chat list request');
  t.equal(onReload.filter((url) => /\/messages/.test(url)).length, 1, 'one history request: for the open chat only, none per chat to count');
  t.equal(await messageItem(alicePage, 'Hello Bob, edited').count(), 0, 'only the latest page is loaded at first');
  await alicePage.locator('.messages').evaluate((box) => {
    box.scrollTop = 0;
  });
  await messageItem(alicePage, 'Hello Bob, edited').waitFor();
  await alicePage.getByText('Batch message 1', { exact: true }).waitFor();
  await shot(alicePage, 'older-messages-loaded');
  // Scrolled up, a button leads back to the newest message.
  const jump = alicePage.getByRole('button', { name: 'Jump to latest ↓' });
  await jump.click();
  await jump.waitFor({ state: 'detached' });
  t.ok(await messageItem(alicePage, 'Batch message 40').isVisible(), 'the newest message is on screen again');
  t.ok(
    await messageItem(alicePage, 'Batch message 40').evaluate((item) => {
      const box = item.getBoundingClientRect();
      const list = item.closest('.messages')!.getBoundingClientRect();
      return box.top >= list.top && box.bottom <= list.bottom + 1;
    }),
    'scrolled into the list view',
  );
  // Days: each day's messages are headed by it. The server stamps messages "now", so this page's
  // copy of the latest history is dated back: the oldest ten two days, the next ten one day.
  const DAY = 86_400_000;
  await alicePage.route(/\/api\/chats\/[0-9a-f-]+\/messages\?/, async (route) => {
    const response = await route.fetch();
    const page = (await response.json()) as { id: number; createdAt: string }[];
    const rank = page.map((m) => m.id).sort((x, y) => x - y);
    const back = (id: number) => (rank.indexOf(id) < 10 ? 2 : rank.indexOf(id) < 20 ? 1 : 0);
    await route.fulfill({ response, json: page.map((m) => ({ ...m, createdAt: new Date(Date.parse(m.createdAt) - back(m.id) * DAY).toISOString() })) });
  });
  await alicePage.reload();
  await messageItem(alicePage, 'Batch message 40').waitFor();
  const days = await alicePage.locator('li.day-separator').allTextContents();
  t.equal(days.length, 3, `three days, three separators (${days.join(' | ')})`);
  t.match(days[0], /^\w+day, /, 'two days ago is named by its weekday and date');
  t.same(days.slice(1), ['Yesterday', 'Today'], 'then Yesterday and Today');
  await shot(alicePage, 'day-separators');
  await alicePage.unrouteAll();
  // Alice came to this chat from the list (after Esc): Back returns there.
  await alicePage.goBack();
  await alicePage.getByRole('heading', { name: `Welcome, ${alice.name}` }).waitFor();
  await alicePage.goForward();
  await alicePage.getByRole('heading', { name: bob.name }).waitFor();
  t.pass('Back and Forward move between the list and the chat');
});

t.test('accessibility: one tab stop per message, its actions in a menu, old history not read out', async (t) => {
  // Both are in their personal chat (Alice on the latest page after Back and Forward).
  await alicePage.getByLabel('Message', { exact: true }).fill('Keyboard check');
  await alicePage.keyboard.press('Enter');
  const own = messageItem(alicePage, 'Keyboard check').and(alicePage.locator('li.message:not(.pending)'));
  await own.waitFor();

  const tabStops = (text: string) =>
    messageItem(alicePage, text).evaluate((item) => item.querySelectorAll('a[href], button, input, textarea, select, [tabindex]:not([tabindex="-1"])').length);
  t.equal(await tabStops('Batch message 39'), 1, 'a message has one tab stop');
  await messageItem(alicePage, 'Batch message 38').getByRole('button', { name: /^Actions for / }).focus();
  await alicePage.keyboard.press('Tab');
  t.match(await labelOfFocused(alicePage), /^Actions for Bob Example’s message: Batch message 39$/, "Tab goes on to the next message's actions");

  // The menu: Enter opens it on its first item, arrows and End move, Esc closes it and focus returns.
  const button = own.getByRole('button', { name: /^Actions for your message: Keyboard check/ });
  t.equal(await button.getAttribute('aria-haspopup'), 'menu', 'the button says it opens a menu');
  await button.focus();
  await alicePage.keyboard.press('Enter');
  const menu = alicePage.getByRole('menu', { name: 'Message actions' });
  await menu.waitFor();
  t.equal(await button.getAttribute('aria-expanded'), 'true', 'and that it is open');
  t.same(await menu.getByRole('menuitem').allTextContents(), ['Reply', 'Edit', 'Delete'], 'reply, edit and delete, in one menu');
  const focusedItem = (name: string) => alicePage.locator('[role="menuitem"]:focus', { hasText: name }).waitFor();
  await focusedItem('Reply');
  await alicePage.keyboard.press('ArrowDown');
  await focusedItem('Edit');
  await alicePage.keyboard.press('End');
  await focusedItem('Delete');
  await alicePage.keyboard.press('ArrowDown');
  await focusedItem('Reply');
  t.pass('arrows, End and wrapping move between the items');
  await alicePage.keyboard.press('Escape');
  await menu.waitFor({ state: 'detached' });
  t.match(await labelOfFocused(alicePage), /^Actions for your message: Keyboard check/, 'Esc closes the menu and focus is back on its button');
  t.ok(await alicePage.getByRole('heading', { name: bob.name }).isVisible(), 'the chat stays open');

  // Only new messages from others are announced: the list itself is not a live region.
  const list = alicePage.locator('.messages');
  t.equal(await list.getAttribute('aria-live'), null, 'the message list is not a live region');
  t.not(await list.getAttribute('role'), 'log', 'nor a log (live by default)');
  await bobPage.getByLabel('Message', { exact: true }).fill('Heard live');
  await bobPage.keyboard.press('Enter');
  const announcer = alicePage.locator('#message-announcer');
  await announcer.getByText('Bob Example: Heard live').waitFor();
  t.equal(await announcer.getAttribute('aria-live'), 'polite', 'a new message from Bob is announced politely');

  // An older page: the list is busy while it loads, and nothing of it is announced.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await alicePage.route(/\/messages\?.*before=/, async (route) => {
    await held;
    await route.continue();
  });
  const shown = await alicePage.locator('li.message').count();
  await list.evaluate((box) => {
    box.scrollTop = 0;
  });
  await alicePage.locator('.messages[aria-busy="true"]').waitFor();
  t.pass('aria-busy while an older page loads');
  release();
  await alicePage.locator('.messages[aria-busy="false"]').waitFor();
  t.ok((await alicePage.locator('li.message').count()) > shown, 'the older page arrived');
  t.equal(await announcer.textContent(), 'Bob Example: Heard live', 'and was not announced');
  await alicePage.unrouteAll();
});

t.test('a group: create it, remove and add a member', async (t) => {
  const carol = await registerUser(baseUrl, { name: 'Carol Example' });
  await bobPage.getByRole('button', { name: '← Chats' }).click();
  await navigate(alicePage, 'New chat');
  for (const [name, username] of [['Carol Example', carol.username], [bob.name, bob.username]]) {
    await alicePage.getByLabel('Find people').fill(username);
    await alicePage.getByRole('button', { name: `Add ${name} to group` }).click();
  }
  await alicePage.getByLabel('Group name').fill('Weekend plans');
  await shot(alicePage, 'group-new');
  await alicePage.getByRole('button', { name: 'Create group' }).click();
  await alicePage.getByRole('heading', { name: 'Weekend plans' }).waitFor();
  await bobPage.getByRole('link', { name: /^Weekend plans\. No messages yet/ }).waitFor();
  t.pass('the new group shows in a member\'s list before its first message');
  await alicePage.getByLabel('Message', { exact: true }).fill('Who is in?');
  await alicePage.keyboard.press('Enter');
  await bobPage.getByRole('link', { name: 'Weekend plans, 1 unread' }).waitFor();
  t.match(
    await bobPage.getByRole('link', { name: /^Weekend plans/ }).getAttribute('aria-label'),
    /^Weekend plans, 1 unread\. Alice Example: Who is in\?, \d{2}:\d{2}/,
    'the entry names the chat, the unread count, who wrote the last message, what and when',
  );
  await shot(bobPage, 'group-in-bob-list');

  const chatId = (await carol.api.GET('/chats')).data!.find((chat) => chat.title === 'Weekend plans')!.id;
  await alicePage.getByRole('button', { name: 'Members (3)' }).click();
  t.same(await alicePage.locator('#members li .avatar-small').allTextContents(), ['AE', 'BE', 'CE'], 'each member has an avatar (initials without a photo)');

  // Who is online: Bob's page is open; Carol has never connected, then does, then leaves.
  const presenceOf = (name: string) => alicePage.locator('#members li', { hasText: name }).locator('.presence');
  await presenceOf(bob.name).getByText('online').waitFor();
  t.match(await presenceOf('Carol Example').textContent(), /last seen today at \d{2}:\d{2}/, 'Carol was last seen when she registered');
  const carolPage = await personPage({ width: 800, height: 700 });
  await carolPage.getByLabel('Username').fill(carol.username);
  await carolPage.getByLabel('Password').fill(carol.password);
  await carolPage.locator('form').getByRole('button', { name: 'Log in' }).click();
  await carolPage.getByText('Live', { exact: true }).waitFor();
  await presenceOf('Carol Example').getByText('online').waitFor();
  t.pass('Carol shows online as soon as her page connects');
  await shot(alicePage, 'members-presence');
  await carolPage.context().close();
  await presenceOf('Carol Example').getByText(/last seen today at/).waitFor();
  t.pass('and "last seen" once she closed it');
  await alicePage.getByRole('button', { name: 'Remove Carol Example' }).click();
  await alicePage.getByText('Carol Example was removed.').waitFor();
  await alicePage.getByRole('button', { name: 'Members (2)' }).waitFor();
  t.equal((await carol.api.GET('/chats/{chatId}', { params: { path: { chatId } } })).response.status, 403, 'Carol is out of the group');
  await shot(alicePage, 'group-member-removed');

  await alicePage.getByLabel('Add a member').fill(carol.username);
  await alicePage.getByRole('button', { name: 'Add Carol Example' }).click();
  await alicePage.getByText('Carol Example was added.').waitFor();
  await alicePage.getByRole('button', { name: 'Members (3)' }).waitFor();
  const back = await carol.api.GET('/chats/{chatId}', { params: { path: { chatId } } });
  t.ok(back.data?.allUsers?.some((user) => user.id === carol.id), 'Carol is back in the group');
  await shot(alicePage, 'group-member-added');

  // Past 50 unread, the badge and the label say the same number.
  for (let i = 1; i <= 60; i++) await carol.api.POST('/chats/{chatId}/messages', { params: { path: { chatId } }, body: { localId: `${carol.id}+${crypto.randomUUID()}`, text: `Plan ${i}` } });
  const many = bobPage.getByRole('link', { name: /^Weekend plans, 61 unread/ });
  await many.waitFor();
  t.equal((await many.locator('.badge').textContent())?.trim(), '61', 'the badge says 61 like the label');

  // Chats are found by name.
  await bobPage.getByLabel('Search chats').fill('weekend');
  t.equal(await bobPage.locator('.chat-list li').count(), 1, 'searching "weekend" leaves one chat');
  await bobPage.getByLabel('Search chats').fill('');

  // Only the owner is offered "Remove"; a removed member is told and the chat closes.
  await many.click();
  // More unread than fits: the chat opens at the "New messages" divider, with a way down.
  await bobPage.getByRole('separator', { name: 'New messages' }).waitFor();
  t.ok(
    await bobPage.locator('li.new-divider').evaluate((item) => {
      const box = item.getBoundingClientRect();
      const list = item.closest('.messages')!.getBoundingClientRect();
      return box.bottom > list.top && box.top < list.bottom;
    }),
    'the divider is on screen',
  );
  await bobPage.getByRole('button', { name: 'Jump to latest ↓' }).waitFor();
  await shot(bobPage, 'opened-at-new-messages');
  await bobPage.getByRole('button', { name: 'Members (3)' }).click();
  await bobPage.getByRole('heading', { name: 'Members', exact: true }).waitFor();
  t.equal(await bobPage.getByRole('button', { name: /^Remove / }).count(), 0, 'a member who is not the owner sees no Remove buttons');
  await alicePage.getByRole('button', { name: 'Remove Bob Example' }).click();
  await bobPage.getByText('You were removed from “Weekend plans”.').filter({ visible: true }).waitFor();
  t.equal(await bobPage.getByRole('heading', { name: 'Weekend plans' }).count(), 0, 'the chat is closed');
  t.equal(await bobPage.getByRole('link', { name: /^Weekend plans/ }).count(), 0, 'and gone from the list');
  await shot(bobPage, 'removed-from-group');
});

t.test('contacts: add, message, remove', async (t) => {
  await navigate(bobPage, 'Contacts');
  await bobPage.getByRole('heading', { name: 'Contacts' }).waitFor();
  await bobPage.getByText('No contacts yet.').waitFor();
  await bobPage.getByLabel('Add a contact').fill(alice.username);
  await bobPage.getByRole('button', { name: `Add ${alice.name} to contacts` }).click();
  await bobPage.getByText(`${alice.name} was added to your contacts.`).waitFor();
  await bobPage.getByRole('list', { name: 'Your contacts' }).getByRole('button', { name: `Message ${alice.name}` }).waitFor();
  await shot(bobPage, 'contacts-added');
  await bobPage.getByRole('button', { name: `Message ${alice.name}` }).click();
  await bobPage.getByRole('heading', { name: alice.name }).waitFor();
  await messageItem(bobPage, 'Batch message 40').waitFor();
  await navigate(bobPage, 'Contacts');
  await bobPage.getByRole('button', { name: `Remove ${alice.name}` }).click();
  await bobPage.getByText('No contacts yet.').waitFor();
  await shot(bobPage, 'contacts-removed');
});

t.test('profile: about and photo', async (t) => {
  await navigate(bobPage, /^Profile/);
  await bobPage.getByLabel('About', { exact: true }).fill('Builds things.');
  await bobPage.getByRole('button', { name: 'Save profile' }).click();
  await bobPage.getByText('Profile saved.').waitFor();
  await bobPage.getByLabel('Name', { exact: true }).fill('Bob Unsaved-Edit');
  const jpeg = await sharp({ create: { width: 500, height: 500, channels: 3, background: { r: 30, g: 90, b: 200 } } }).jpeg().toBuffer();
  await bobPage.getByLabel('Upload a photo').setInputFiles({ name: 'me.jpg', mimeType: 'image/jpeg', buffer: jpeg });
  await bobPage.getByText('Photo added.').waitFor();
  t.equal(await bobPage.getByLabel('Name', { exact: true }).inputValue(), 'Bob Unsaved-Edit', 'adding a photo keeps an unsaved name edit');
  t.notOk(await bobPage.getByText('Profile saved.').isVisible(), 'and no stale message from before');
  await bobPage.getByLabel('Name', { exact: true }).fill(bob.name);
  const photo = bobPage.getByRole('img', { name: 'Your profile photo' });
  await bobPage.waitForFunction(() => {
    const img = (globalThis as unknown as { document: { querySelector(s: string): ImageElement | null } }).document.querySelector('img.avatar');
    return !!img && img.complete && img.naturalWidth > 0;
  });
  t.match(await photo.getAttribute('src'), /\/uploads\/[0-9a-f-]{36}/, 'the photo is served from /uploads');
  await shot(bobPage, 'profile-photo');
  // Others see the photo as Bob's avatar in their chat list and beside his messages.
  await alicePage.reload();
  const listAvatar = alicePage.getByRole('link', { name: new RegExp(`^${bob.name}`) }).locator('img.avatar-small');
  await listAvatar.waitFor();
  t.match(await listAvatar.getAttribute('src'), /\/uploads\/[0-9a-f-]{36}/, "Bob's photo is his avatar in Alice's list");
  await alicePage.waitForFunction(() => {
    const img = (globalThis as unknown as { document: { querySelector(s: string): ImageElement | null } }).document.querySelector('.chat-list img.avatar-small');
    return !!img && img.complete && img.naturalWidth > 0;
  });
  await shot(alicePage, 'avatar-in-list');
  await bobPage.getByRole('button', { name: 'Remove photo' }).click();
  await bobPage.getByText('No photo yet.').waitFor();
  const { data, response } = await messengerClient(baseUrl).GET('/users/{id}', { params: { path: { id: (await bobSession()).userId }, query: { full: '1' } } });
  t.equal(response.status, 200, 'the profile is public');
  t.equal(data?.about, 'Builds things.', 'the about text was saved');
  t.notOk(data?.photos?.length, 'the photo is gone from the profile');

  // Appearance: dark or light by choice, remembered; "Same as the system" follows the system again.
  const background = () =>
    bobPage.locator('html').evaluate((html) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(html).backgroundColor);
  await bobPage.emulateMedia({ colorScheme: 'light' });
  t.equal(await background(), 'rgb(244, 245, 247)', 'light by default on a light system');
  await bobPage.getByLabel('Dark', { exact: true }).check();
  t.equal(await background(), 'rgb(18, 20, 24)', 'Dark turns the page dark at once');
  await bobPage.reload();
  await bobPage.getByLabel('Dark', { exact: true }).waitFor();
  t.ok(await bobPage.getByLabel('Dark', { exact: true }).isChecked(), 'the choice is remembered');
  t.equal(await background(), 'rgb(18, 20, 24)', 'and applied after a reload');
  await shot(bobPage, 'profile-dark-by-choice');
  await bobPage.emulateMedia({ colorScheme: 'dark' });
  await bobPage.getByLabel('Light', { exact: true }).check();
  t.equal(await background(), 'rgb(244, 245, 247)', 'Light wins over a dark system');
  await bobPage.getByLabel('Same as the system').check();
  t.equal(await background(), 'rgb(18, 20, 24)', '"Same as the system" follows it again');
  await bobPage.emulateMedia({ colorScheme: 'light' });
});

t.test('two-factor authentication: enable, log in with a code, disable', async (t) => {
  await alicePage.getByRole('button', { name: /^Profile/ }).click();
  // Turning it on needs the password: a session alone is not enough.
  const twoFactorCard = alicePage.getByRole('group', { name: 'Two-factor authentication' });
  await twoFactorCard.getByLabel('Your password, to confirm it is you').fill('not the password');
  await alicePage.getByRole('button', { name: 'Enable two-factor authentication' }).click();
  await twoFactorCard.getByRole('alert').waitFor();
  t.match(await twoFactorCard.getByRole('alert').textContent(), /password is not right/, 'a wrong password is refused with a readable message');
  await twoFactorCard.getByLabel('Your password, to confirm it is you').fill(alice.password);
  await alicePage.getByRole('button', { name: 'Enable two-factor authentication' }).click();
  const secret = (await alicePage.locator('code.secret').textContent())!.trim();
  t.match(secret, /^[A-Z2-7]+=*$/, 'the secret is shown in base32');
  t.match(await alicePage.locator('img.qr').getAttribute('alt'), /otpauth:\/\/totp\//, 'a QR code of the otpauth:// URL');
  t.ok(await alicePage.locator('img.qr').evaluate((element) => {
      const img = element as unknown as ImageElement;
      return img.complete && img.naturalWidth > 0;
    }), 'the QR code is drawn');
  await shot(alicePage, '2fa-qr-code');

  await alicePage.getByLabel('Code from your authenticator app').fill('000000');
  await alicePage.getByRole('button', { name: 'Confirm and enable' }).click();
  await alicePage.getByRole('alert').waitFor();
  t.match(await alicePage.getByRole('alert').textContent(), /not valid/, 'a wrong code is refused with a readable message');

  await alicePage.getByLabel('Code from your authenticator app').fill(await generate({ secret }));
  await alicePage.getByRole('button', { name: 'Confirm and enable' }).click();
  await alicePage.getByRole('list', { name: 'Backup codes' }).waitFor();
  const backupCodes = await alicePage.getByRole('list', { name: 'Backup codes' }).getByRole('listitem').allTextContents();
  t.equal(backupCodes.length, 12, 'twelve backup codes');
  await shot(alicePage, '2fa-enabled');

  await navigate(alicePage, 'Log out');
  await alicePage.getByText('You have logged out.').waitFor();
  await alicePage.getByLabel('Username').fill(alice.username);
  await alicePage.getByLabel('Password').fill('not the password');
  await alicePage.locator('form').getByRole('button', { name: 'Log in' }).click();
  await alicePage.getByRole('alert').waitFor();
  t.match(await alicePage.getByRole('alert').textContent(), /Invalid user or password/, 'a wrong password says so');
  t.equal(await alicePage.getByText('You have logged out.').count(), 0, '"You have logged out." is gone at the next attempt');

  await alicePage.getByLabel('Password').fill(alice.password);
  await alicePage.locator('form').getByRole('button', { name: 'Log in' }).click();
  const codeField = alicePage.getByLabel('Two-factor code');
  await codeField.waitFor();
  t.equal((await settledFocus(alicePage, (f) => f.name === 'code')).name, 'code', 'the code field gets focus');
  await shot(alicePage, '2fa-code-asked');
  // The enrolment used this 30-second step's code; codes are single use, so take the next step's.
  await codeField.fill(await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }));
  await alicePage.locator('form').getByRole('button', { name: 'Log in' }).click();
  await alicePage.getByRole('heading', { name: `Welcome, ${alice.name}` }).waitFor();
  await alicePage.getByRole('link', { name: new RegExp(`^${bob.name}`) }).waitFor();
  await shot(alicePage, '2fa-logged-in');

  // Turning it off with a backup code; then a password alone logs in again.
  await navigate(alicePage, /^Profile/);
  await alicePage.getByLabel('Code from your authenticator app').fill(backupCodes[0].trim());
  await alicePage.getByRole('button', { name: 'Disable two-factor authentication' }).click();
  await alicePage.getByText('Two-factor authentication is off.').waitFor();
  await alicePage.getByRole('button', { name: 'Enable two-factor authentication' }).waitFor();
  await shot(alicePage, '2fa-disabled');
  await navigate(alicePage, 'Log out');
  await alicePage.getByLabel('Username').fill(alice.username);
  await alicePage.getByLabel('Password').fill(alice.password);
  await alicePage.locator('form').getByRole('button', { name: 'Log in' }).click();
  await alicePage.getByRole('heading', { name: `Welcome, ${alice.name}` }).waitFor();
  t.equal(await alicePage.getByLabel('Two-factor code').count(), 0, 'no code asked once it is off');
});

/** Both open their chat with each other (on a phone the list is behind "← Chats"). */
async function openPersonalChat() {
  await alicePage.getByRole('link', { name: new RegExp(`^${bob.name}`) }).click();
  const back = bobPage.getByRole('button', { name: '← Chats' });
  if (await back.isVisible()) await back.click();
  await bobPage.getByRole('link', { name: new RegExp(`^${alice.name}`) }).click();
  await alicePage.getByLabel('Message', { exact: true }).waitFor();
}

/** A file made in the page and handed over as a drop on the messages or a paste into the composer. */
const handOver = (page: Page, how: 'drop' | 'paste', name: string, type: string, bytes: number[] | number) =>
  page.evaluate(
    ({ how, name, type, bytes }) => {
      const scope = globalThis as unknown as Record<string, any>;
      const content = typeof bytes === 'number' ? new scope.Uint8Array(bytes) : new scope.Uint8Array(bytes);
      const data = new scope.DataTransfer();
      data.items.add(new scope.File([content], name, { type }));
      const target = scope.document.querySelector(how === 'drop' ? '.messages' : '#composer');
      const event =
        how === 'drop'
          ? new scope.DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })
          : new scope.ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
      target.dispatchEvent(event);
    },
    { how, name, type, bytes },
  );

t.test('drag-and-drop and paste upload an image, with progress and cancel', async (t) => {
  await openPersonalChat();
  const images = bobPage.locator('li.message img[alt^="Image preview"]');
  const before = await images.count();
  const png = [...(await sharp({ create: { width: 120, height: 80, channels: 3, background: '#3a7' } }).png().toBuffer())];
  await handOver(alicePage, 'drop', 'dropped.png', 'image/png', png);
  await images.nth(before).waitFor();
  t.pass('an image dropped on Alice\'s chat reaches Bob');
  await handOver(alicePage, 'paste', 'image.png', 'image/png', png);
  await images.nth(before + 1).waitFor();
  t.pass('an image pasted into Alice\'s composer reaches Bob');

  // Cancel: the upload is held at the network so that Cancel surely comes first.
  let held: { abort(): Promise<void> } | undefined;
  await alicePage.route('**/api/uploads', (route) => void (held = route));
  await handOver(alicePage, 'drop', 'big.bin', 'application/octet-stream', 8_000_000);
  await alicePage.getByRole('status').filter({ hasText: 'Uploading big.bin' }).locator('progress').waitFor();
  await shot(alicePage, 'upload-progress');
  await alicePage.getByRole('button', { name: 'Cancel upload' }).click();
  await alicePage.getByLabel('Attach a file').waitFor({ state: 'attached' });
  await alicePage.unroute('**/api/uploads');
  await held?.abort().catch(() => {});
  await alicePage.getByLabel('Message', { exact: true }).fill('After the cancelled upload');
  await alicePage.keyboard.press('Enter');
  await messageItem(bobPage, 'After the cancelled upload').waitFor();
  t.equal(await bobPage.getByRole('link', { name: /Download file \(BIN/ }).count(), 0, 'the cancelled file was never sent');
  t.equal(await images.count(), before + 2, 'no other attachment arrived');
});

t.test('an image opens in the in-app viewer; Esc closes it and focus returns', async (t) => {
  const opener = bobPage.getByRole('link', { name: /^Open Image \(PNG/ }).last();
  await opener.click();
  const viewer = bobPage.getByRole('dialog');
  const full = viewer.locator('img');
  await full.waitFor();
  const src = await full.getAttribute('src');
  t.match(src, /^\/uploads\/[0-9a-f-]{36}\.png$/, 'the viewer shows the full image, not the preview');
  t.equal(await viewer.getByRole('link', { name: 'Download' }).getAttribute('href'), src, 'with a download link');
  t.equal(bobPage.url().includes('/uploads/'), false, 'the page stays in the app');
  await shot(bobPage, 'image-viewer');
  await bobPage.keyboard.press('Escape');
  await viewer.waitFor({ state: 'hidden' });
  const focusedLabel = await bobPage.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('aria-label'));
  t.match(focusedLabel, /^Open Image \(PNG/, 'focus is back on the image');
  await opener.click();
  await viewer.getByRole('button', { name: 'Close' }).click();
  await viewer.waitFor({ state: 'hidden' });
  t.pass('the Close button closes it too');
});

t.test('screenshots for docs/: desktop and phone, light and dark', async (t) => {
  const docs = path.resolve(import.meta.dirname, '../../docs/screenshots');
  await mkdir(docs, { recursive: true });
  await alicePage.getByRole('link', { name: new RegExp(`^${bob.name}`) }).click();
  await messageItem(alicePage, 'Batch message 40').waitFor();
  const back = bobPage.getByRole('button', { name: '← Chats' });
  if (await back.isVisible()) await back.click();
  await bobPage.getByRole('link', { name: new RegExp(`^${alice.name}`) }).click();
  await messageItem(bobPage, 'Batch message 40').waitFor();
  for (const scheme of ['light', 'dark'] as const) {
    for (const [size, page] of [['desktop', alicePage], ['phone', bobPage]] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: path.join(docs, `${size}-${scheme}.png`) });
    }
  }
  await alicePage.emulateMedia({ colorScheme: 'light' });
  await bobPage.emulateMedia({ colorScheme: 'light' });
  t.pass('docs/screenshots/{desktop,phone}-{light,dark}.png');
});

t.test('the chat menu: mute, rename, group photo, clear, archive, delete, block', async (t) => {
  await navigate(alicePage, 'New chat');
  await alicePage.getByLabel('Find people').fill(bob.username);
  await alicePage.getByRole('button', { name: `Add ${bob.name} to group` }).click();
  await alicePage.getByLabel('Group name').fill('Book club');
  await alicePage.getByRole('button', { name: 'Create group' }).click();
  await alicePage.getByRole('heading', { name: 'Book club' }).waitFor();
  await alicePage.getByLabel('Message', { exact: true }).fill('Chapter one');
  await alicePage.keyboard.press('Enter');
  // The sent message, not its outbox copy (both may be on screen for a moment).
  await messageItem(alicePage, 'Chapter one').and(alicePage.locator('li.message:not(.pending)')).waitFor();
  const bobBack = bobPage.getByRole('button', { name: '← Chats' });
  if (await bobBack.isVisible()) await bobBack.click();
  await bobPage.getByRole('link', { name: /^Book club/ }).waitFor();

  // The menu is one button; the keyboard opens it, arrows move, Esc closes it.
  const menuButton = alicePage.getByRole('button', { name: 'Chat menu' });
  await menuButton.focus();
  await alicePage.keyboard.press('Enter');
  await alicePage.locator('[role="menuitem"]:focus', { hasText: 'Mute' }).waitFor();
  t.pass('the first item has the focus');
  await alicePage.keyboard.press('ArrowDown');
  await alicePage.locator('[role="menuitem"]:focus', { hasText: 'Archive' }).waitFor();
  t.pass('ArrowDown moves to the next item');
  await alicePage.keyboard.press('Escape');
  await alicePage.getByRole('menu').waitFor({ state: 'detached' });
  t.pass('Esc closes the menu');

  // Mute: the list and the header say so at once.
  await menuButton.click();
  await alicePage.getByRole('menuitem', { name: 'Mute' }).click();
  await alicePage.getByRole('link', { name: /^Book club, muted/ }).waitFor();
  await alicePage.locator('#chat-title .muted-marker').waitFor();
  t.pass('a muted chat is marked in the list and the header');
  await shot(alicePage, 'chat-menu-muted');

  // Rename: the other member sees the new title live.
  await menuButton.click();
  await alicePage.getByRole('menuitem', { name: 'Rename group' }).click();
  await alicePage.getByLabel('Group name').fill('Reading club');
  await alicePage.getByRole('button', { name: 'Save' }).click();
  await alicePage.getByRole('heading', { name: /^Reading club/ }).waitFor();
  await bobPage.getByRole('link', { name: /^Reading club/ }).waitFor();
  t.pass('the new group name reaches the other member live');

  // Group photo: the menu opens the file picker; the photo heads the chat and its list entry.
  const picker = alicePage.waitForEvent('filechooser');
  await menuButton.click();
  await alicePage.getByRole('menuitem', { name: 'Change group photo' }).click();
  const photo = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#c63' } }).png().toBuffer();
  await (await picker).setFiles({ name: 'club.png', mimeType: 'image/png', buffer: photo });
  await alicePage.getByText('The group photo was changed.').waitFor();
  t.match(await alicePage.locator('.chat-head img.avatar-small').getAttribute('src'), /^\/uploads\/[0-9a-f-]{36}\.png$/, 'the header shows the group photo');
  await alicePage.getByRole('link', { name: /^Reading club/ }).locator('img.avatar-small').waitFor();
  t.pass("and so does the group's entry in the list");
  await bobPage.getByRole('link', { name: /^Reading club/ }).locator('img.avatar-small').waitFor();
  t.pass('the group photo reaches the other member live');
  await shot(alicePage, 'chat-menu-group-photo');

  // Clear history, after a confirm step. Bob meanwhile reads his chat with Alice: it is not the one cleared.
  await bobPage.getByRole('link', { name: new RegExp(`^${alice.name}`) }).click();
  await messageItem(bobPage, 'Heard live').waitFor();
  await menuButton.click();
  await alicePage.getByRole('menuitem', { name: 'Clear history' }).click();
  await alicePage.getByRole('alertdialog').getByRole('button', { name: 'Clear history' }).click();
  await messageItem(alicePage, 'Chapter one').waitFor({ state: 'detached' });
  t.equal(await alicePage.locator('li.message').count(), 0, 'the history is empty');
  // The event names the chat: Bob's list entry (hidden behind his open chat) empties, his open chat does not.
  await bobPage.locator('a.chat-item', { hasText: 'Reading club' }).filter({ hasText: 'No messages yet' }).waitFor({ state: 'attached' });
  t.ok(await messageItem(bobPage, 'Heard live').isVisible(), "Bob's open chat keeps its messages");
  t.equal(await bobPage.getByText('The chat history was cleared.').count(), 0, 'and says nothing about a clear');
  await bobPage.getByRole('button', { name: '← Chats' }).click();

  // Archive: gone from the list, back behind the "Archived" toggle.
  await menuButton.click();
  await alicePage.getByRole('menuitem', { name: 'Archive' }).click();
  await alicePage.getByRole('link', { name: /^Reading club/ }).waitFor({ state: 'detached' });
  t.pass('an archived chat leaves the list');
  await alicePage.getByRole('button', { name: /^Archived \(1\)/ }).click();
  await alicePage.getByRole('link', { name: /^Reading club/ }).waitFor();
  t.pass('the Archived toggle shows it');
  await shot(alicePage, 'chat-menu-archived');

  // Delete, after a confirm step: gone from both lists.
  await menuButton.click();
  await alicePage.getByRole('menuitem', { name: 'Delete chat' }).click();
  await alicePage.getByRole('alertdialog').getByRole('button', { name: 'Delete chat' }).click();
  await alicePage.getByRole('link', { name: /^Reading club/ }).waitFor({ state: 'detached' });
  await bobPage.getByRole('link', { name: /^Reading club/ }).waitFor({ state: 'detached' });
  t.pass('a deleted chat leaves the lists');
  const toggle = alicePage.getByRole('button', { name: '← All chats' });
  if (await toggle.isVisible()) await toggle.click();

  // Block the personal chat, after a confirm step: Bob can no longer write to Alice there; Unblock undoes it.
  await alicePage.getByRole('link', { name: new RegExp(`^${bob.name}`) }).click();
  await alicePage.getByRole('heading', { name: bob.name }).waitFor();
  const bobApi = messengerClient(baseUrl, { authorization: `Bearer ${(await bobSession()).token}` });
  const personalId = (await bobApi.GET('/chats', { params: { query: { full: '1' } } })).data!.find((chat) => chat.isPersonal && chat.allUsers?.some((user) => user.username === alice.username))!.id;
  const bobWrites = async (text: string) =>
    (await bobApi.POST('/chats/{chatId}/messages', { params: { path: { chatId: personalId } }, body: { localId: `x+${crypto.randomUUID()}`, text } })).response.status;
  await menuButton.click();
  await alicePage.getByRole('menuitem', { name: 'Block' }).click();
  const confirmBlock = alicePage.getByRole('alertdialog');
  t.match(await confirmBlock.textContent(), /Block this chat\?/, 'blocking asks first');
  await confirmBlock.getByRole('button', { name: 'Block' }).click();
  await alicePage.getByText('You blocked this chat.').waitFor();
  t.equal(await bobWrites('Are you there?'), 403, 'Bob cannot write to Alice any more');
  // In Bob's client a refused message says why, and does not hold up the next one.
  await bobPage.getByRole('link', { name: new RegExp(`^${alice.name}`) }).click();
  for (const text of ['Hello?', 'Still there?']) {
    await bobPage.getByLabel('Message', { exact: true }).fill(text);
    await bobPage.keyboard.press('Enter');
    await bobPage.locator('li.message.pending', { hasText: text }).getByText('Not sent: The other participant blocked this chat.').waitFor();
  }
  t.pass('each refused message says why, the second is not stuck behind the first');
  await shot(bobPage, 'refused-message');
  await menuButton.click();
  await alicePage.getByRole('menuitem', { name: 'Unblock' }).click();
  await alicePage.getByText('You unblocked this chat.').waitFor();
  t.equal(await bobWrites('Back again'), 200, 'after Unblock he can');
  await messageItem(alicePage, 'Back again').waitFor();
  await bobPage.locator('li.message.pending', { hasText: 'Hello?' }).getByRole('button', { name: 'Retry' }).click();
  await messageItem(alicePage, 'Hello?').waitFor();
  t.pass('Retry sends a refused message once the block is lifted');
  await bobPage.locator('li.message.pending', { hasText: 'Still there?' }).getByRole('button', { name: 'Discard' }).click();
  await bobPage.locator('li.message.pending').waitFor({ state: 'detached' });
  await bobPage.getByRole('button', { name: '← Chats' }).click();
  await menuButton.click();
  t.equal(await alicePage.getByRole('menuitem', { name: 'Block' }).count(), 1, 'the menu offers Block again');
  await alicePage.keyboard.press('Escape');
});

t.test('with every tab closed, a message still notifies (Web Push to the service worker)', async (t) => {
  const context = bobPage.context();
  const { token } = await bobSession();
  const bobApi = messengerClient(baseUrl, { authorization: `Bearer ${token}` });
  const personal = (await bobApi.GET('/chats', { params: { query: { full: '1' } } })).data!.find((chat) => chat.isPersonal && chat.allUsers?.some((user) => user.username === alice.username))!;
  // A page of another origin keeps the browser context (and its DevTools session) alive;
  // every one of Bob's Parley tabs closes.
  const blank = await context.newPage();
  for (const page of context.pages()) if (page !== blank) await page.close();
  t.equal(context.pages().length, 1, 'no Parley tab is open');

  // The exact body the server pushes for a real message; the push service between the server
  // and the browser (FCM, Mozilla's) cannot run here, so DevTools hands it to the worker.
  const deliveries: Delivery[] = [];
  const realtime = app.kernel.realtime;
  const publish = realtime.publish.bind(realtime);
  realtime.publish = async (delivery) => {
    deliveries.push(structuredClone(delivery));
    return publish(delivery);
  };
  t.teardown(() => {
    realtime.publish = publish;
  });
  await alicePage.getByRole('link', { name: new RegExp(`^${bob.name}`) }).click();
  await alicePage.getByLabel('Message', { exact: true }).fill('While you were away');
  await alicePage.keyboard.press('Enter');
  await messageItem(alicePage, 'While you were away').and(alicePage.locator('li.message:not(.pending)')).waitFor();
  const delivery = deliveries.find((d) => d.chatId === personal.id && d.event.event === 'message' && (d.event.payload as { text?: string }).text === 'While you were away');
  t.ok(delivery, 'the message was published');

  const cdp = await context.newCDPSession(blank);
  const registration = new Promise<string>((resolve) =>
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r) => r.scopeURL.startsWith(baseUrl) && !r.isDeleted);
      if (ours) resolve(ours.registrationId);
    }),
  );
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.deliverPushMessage', { origin: new URL(baseUrl).origin, registrationId: await registration, data: pushPayload(delivery!) });

  const reopened = await context.newPage();
  await reopened.goto('/');
  await untilInPage(reopened, notifiedOnce, `${alice.name}: While you were away`, 'the pushed notification');
  t.pass('the service worker showed the notification with no tab open');
  await blank.close();
});

t.test('page weight: the initial JavaScript is under 40 KB compressed', async (t) => {
  const dist = path.resolve(import.meta.dirname, '../../web/dist');
  const html = await readFile(path.join(dist, 'index.html'), 'utf8');
  const entries = [...html.matchAll(/<script type="module"[^>]*src="([^"]+)"/g)].map((match) => match[1]);
  t.ok(entries.length > 0, 'index.html loads a module');
  for (const entry of entries) {
    const gzipped = (await stat(path.join(dist, `${entry}.gz`))).size;
    t.ok(gzipped < 40 * 1024, `${entry}: ${(gzipped / 1024).toFixed(1)} KB gzip`);
  }
});

t.test('nothing the client asks for is missing', async (t) => {
  const favicon = await fetch(`${baseUrl}/favicon.ico`);
  t.equal(favicon.status, 200, 'favicon.ico is served');
  t.same(missing, [], `no 404 during the whole session (${missing.join(', ')})`);
});
