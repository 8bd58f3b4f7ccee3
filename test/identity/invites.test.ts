// Identity invites cannot be used for phishing or template tricks: request fields cannot
// replace what the server puts in the mail (boundary, links), the web client link is https
// (and one of IDENTITY_WEB_CLIENT_LOCATIONS when set), over-long addresses are refused, and
// next_link is http(s) on IDENTITY_NEXT_LINK_ALLOWED_HOSTS when set.
import t from 'tap';
import { loadConfig } from '../../src/config.ts';
import { startApp } from '../helpers/app.ts';
import { identityClient, plainText, startMailCatcher, type ReceivedMail } from '../helpers/identity.ts';

const mail = await startMailCatcher(t);
const defaults = loadConfig({});
const generous = { perAddress: 50, perClient: 500, windowMs: 60_000 };
const open = await startApp(t, {
  mail: { ...defaults.mail, smtpUrl: mail.url },
  identity: { ...defaults.identity, serverName: 'id.test', emailRateLimit: generous },
});
const restricted = await startApp(t, {
  mail: { ...defaults.mail, smtpUrl: mail.url },
  identity: {
    ...defaults.identity,
    serverName: 'id.test',
    emailRateLimit: generous,
    webClientLocations: ['https://chat.example.test', 'https://element.example.test'],
    nextLinkAllowedHosts: ['app.example.test', 'localhost:3000'],
  },
});
const api = identityClient(open.baseUrl);
const restrictedApi = identityClient(restricted.baseUrl);
let counter = 0;
const newAddress = () => `invitee${++counter}.${Date.now()}@example.test`;

async function invite(client: typeof api, fields: Record<string, unknown>) {
  const address = newAddress();
  const before = mail.received.length;
  const result = await client.POST('/api/v1/store-invite', {
    body: { medium: 'email', address, room_id: '!room:example.test', sender: '@bob:example.test', ...fields } as never,
  });
  return { ...result, address, mail: () => mail.next(address, before) };
}

/** The join link of the plain-text part, as the invitee would click it. */
function joinLink(message: ReceivedMail): URL {
  const line = plainText(message).split('\n').find((l) => l.includes('/#/room/'));
  if (!line) throw new Error('no join link in the mail');
  return new URL(line.trim());
}

t.test('request fields cannot replace the server-set template values', async (t) => {
  const sent = await invite(api, {
    room_name: 'Garden & <Co>',
    sender_display_name: 'Bob',
    multipart_boundary: 'EVILBOUNDARY',
    room_name_forurl: 'x&signurl=https://evil.example/steal',
    signurl_forurl: 'https%3A%2F%2Fevil.example%2Fsign',
    signurl: 'https://evil.example/sign',
    to_forurl: 'victim%40evil.example',
    web_client_location: 'https://evil.example',
    token: 'attacker-token',
    room_avatar_url_forhtml: '<a href="https://evil.example">click</a>',
  });
  t.equal(sent.response.status, 200);
  const message = await sent.mail();
  t.notMatch(message.raw, /EVILBOUNDARY/, 'the boundary is not the request\'s');
  const boundary = /boundary="([^"]+)"/.exec(message.raw)![1];
  t.match(boundary, /^[0-9a-f]{32}$/, 'a random boundary of the server');
  t.equal(message.raw.split(`--${boundary}`).length, 4, 'two parts and the closing line: the message structure holds');
  t.notMatch(message.raw, /evil\.example/, 'no request field put evil.example anywhere in the mail');
  t.notMatch(message.raw, /attacker-token/);

  const link = joinLink(message);
  t.equal(link.origin, 'https://app.element.io', 'the default web client');
  const query = new URLSearchParams(link.hash.split('?')[1]);
  t.equal(query.get('room_name'), 'Garden & <Co>', 'room_name is URL-encoded by the server, so it stays one parameter');
  t.equal(query.getAll('signurl').length, 1);
  const signurl = new URL(query.get('signurl')!);
  t.equal(signurl.pathname, '/_matrix/identity/api/v1/sign-ed25519', 'the signurl is the server\'s');
  t.equal(signurl.searchParams.get('token'), sent.data!.token);
  t.equal(query.get('email'), sent.address);
  t.match(message.raw, /Garden &amp; &lt;Co&gt;/, 'and HTML-escaped in the HTML part');
});

t.test('org.matrix.web_client_location must be an https: URL', async (t) => {
  const before = mail.received.length;
  for (const location of ['javascript:alert(document.cookie)', 'http://app.element.io', 'data:text/html,hi', 'https://user:pass@app.element.io', 'not a url', '']) {
    const refused = await invite(api, { 'org.matrix.web_client_location': location });
    t.equal(refused.response.status, 400, `${location || 'empty'} is refused`);
    t.equal(refused.error?.errcode, 'M_INVALID_PARAM');
  }
  t.equal(mail.received.length, before, 'no mail for a refused invite');
  const accepted = await invite(api, { 'org.matrix.web_client_location': 'https://my.element.example/' });
  t.equal(accepted.response.status, 200);
  const link = joinLink(await accepted.mail());
  t.equal(`${link.origin}${link.pathname}`, 'https://my.element.example/');
});

t.test('IDENTITY_WEB_CLIENT_LOCATIONS: only its origins', async (t) => {
  const other = await invite(restrictedApi, { 'org.matrix.web_client_location': 'https://evil.example' });
  t.equal(other.response.status, 400);
  t.equal(other.error?.errcode, 'M_INVALID_PARAM');
  const lookalike = await invite(restrictedApi, { 'org.matrix.web_client_location': 'https://chat.example.test.evil.example' });
  t.equal(lookalike.error?.errcode, 'M_INVALID_PARAM', 'a look-alike host');
  const listed = await invite(restrictedApi, { 'org.matrix.web_client_location': 'https://element.example.test/web' });
  t.equal(listed.response.status, 200);
  const link = joinLink(await listed.mail());
  t.equal(`${link.origin}${link.pathname}`, 'https://element.example.test/web/');
  const unset = await invite(restrictedApi, {});
  t.equal(joinLink(await unset.mail()).origin, 'https://chat.example.test', 'none given: the first listed');
});

t.test('addresses over 320 characters are refused', async (t) => {
  const long = `${'a'.repeat(64)}@${'b'.repeat(251)}.test`;
  t.equal(long.length, 321);
  const invited = await api.POST('/api/v1/store-invite', { body: { medium: 'email', address: long, room_id: '!r:example.test', sender: '@bob:example.test' } });
  t.equal(invited.response.status, 400);
  t.equal(invited.error?.errcode, 'M_INVALID_PARAM');
  const form = await fetch(`${open.baseUrl}/_matrix/identity/api/v1/store-invite`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ medium: 'email', address: `${'x'.repeat(5000)}@example.test`, room_id: '!r:example.test', sender: '@bob:example.test' }),
  });
  t.equal(form.status, 400, 'also form-encoded');
  t.equal(((await form.json()) as { errcode: string }).errcode, 'M_INVALID_PARAM');
  const token = await api.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'long_secret', email: long, send_attempt: 1 } });
  t.equal(token.response.status, 400, 'requestToken too');
  t.equal(token.error?.errcode, 'M_INVALID_PARAM');
});

t.test('next_link: http(s) only, and on IDENTITY_NEXT_LINK_ALLOWED_HOSTS when set', async (t) => {
  const request = (client: typeof api, nextLink: string) =>
    client.POST('/api/v1/validate/email/requestToken', { body: { client_secret: 'next_secret', email: newAddress(), send_attempt: 1, next_link: nextLink } });
  for (const nextLink of ['javascript:alert(1)', 'JavaScript:alert(1)', 'vbscript:msgbox', 'file:///etc/passwd', 'ftp://files.example.test/', '//evil.example/']) {
    const refused = await request(api, nextLink);
    t.equal(refused.response.status, 400, `${nextLink} is refused`);
    t.equal(refused.error?.errcode, 'M_INVALID_PARAM');
  }
  t.equal((await request(api, 'https://anywhere.example/#/done')).response.status, 200, 'any http(s) host when no list is set');

  for (const nextLink of ['https://evil.example/', 'https://app.example.test.evil.example/', 'http://localhost:3001/', 'https://user@evil.example']) {
    const refused = await request(restrictedApi, nextLink);
    t.equal(refused.error?.errcode, 'M_INVALID_PARAM', `${nextLink} is not on the list`);
  }
  for (const nextLink of ['https://app.example.test/#/register', 'http://APP.example.test:8080/x', 'http://localhost:3000/done']) {
    t.equal((await request(restrictedApi, nextLink)).response.status, 200, `${nextLink} is on the list`);
  }
});

t.test('the settings: IDENTITY_WEB_CLIENT_LOCATIONS, IDENTITY_NEXT_LINK_ALLOWED_HOSTS, IDENTITY_RATE_LIMIT_PER_IP', async (t) => {
  const config = loadConfig({ IDENTITY_WEB_CLIENT_LOCATIONS: 'https://chat.example.test/app/, https://Element.Example.test', IDENTITY_NEXT_LINK_ALLOWED_HOSTS: 'App.Example.test, localhost:3000' });
  t.same(config.identity.webClientLocations, ['https://chat.example.test', 'https://element.example.test'], 'kept as origins');
  t.same(config.identity.nextLinkAllowedHosts, ['app.example.test', 'localhost:3000']);
  t.throws(() => loadConfig({ IDENTITY_WEB_CLIENT_LOCATIONS: 'http://chat.example.test' }), /IDENTITY_WEB_CLIENT_LOCATIONS/, 'an http: origin stops the start');
  t.equal(defaults.identity.webClientLocations, undefined, 'unset: any https: URL');
  t.equal(defaults.identity.ratePerIp, 300, '300 requests a minute per address by default');
});
