// GET /metrics: the Prometheus text exposition format, checked line by line against its
// grammar; request durations by route pattern and status; live gauges; the token; hidden
// from the published specifications.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { basicAuth, deviceInfo, registerUser } from '../helpers/messenger.ts';
import { socketOpener } from '../helpers/realtime.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
// Floats as Go's ParseFloat reads them (Prometheus): NaN and Inf in any case (prom-client writes "Nan").
const VALUE = '[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|(?:[nN][aA][nN])|[-+]?[iI][nN][fF](?:[iI][nN][iI][tT][yY])?';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,(?:${LABEL}))*,?)?\\})? (${VALUE})(?: -?\\d+)?$`);
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

/** Parses the text format strictly: every line must match the grammar, every sample belong to a declared family. */
function parseExposition(text: string): Sample[] {
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  for (const [index, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${index + 1}: ${line}`;
    if (line === '') continue;
    let match: RegExpMatchArray | null;
    if ((match = line.match(TYPE))) {
      if (types.has(match[1])) throw new Error(`TYPE repeated, ${where}`);
      if (samples.some((sample) => familyOf(sample.name, types) === match![1])) throw new Error(`TYPE after its samples, ${where}`);
      types.set(match[1], match[2]);
    } else if ((match = line.match(HELP))) {
      if (helped.has(match[1])) throw new Error(`HELP repeated, ${where}`);
      helped.add(match[1]);
    } else if (line.startsWith('#')) {
      if (/^# (HELP|TYPE)/.test(line)) throw new Error(`malformed ${line.slice(2, 6)}, ${where}`);
    } else if ((match = line.match(SAMPLE))) {
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        if (pair[1] in labels) throw new Error(`label repeated, ${where}`);
        labels[pair[1]] = pair[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
      }
      if (!familyOf(match[1], types)) throw new Error(`sample of an undeclared family, ${where}`);
      samples.push({ name: match[1], labels, value: toNumber(match[3]) });
    } else {
      throw new Error(`not in the text format, ${where}`);
    }
  }
  return samples;
}

function toNumber(text: string): number {
  if (/^nan$/i.test(text)) return NaN;
  if (/inf/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const [family, type] of types) if ((SUFFIXES[type] ?? []).some((suffix) => suffix && name === family + suffix)) return family;
  return undefined;
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))?.value;
}

async function scrape(baseUrl: string, headers: Record<string, string> = {}): Promise<Sample[]> {
  const response = await fetch(`${baseUrl}/metrics`, { headers });
  if (response.status !== 200) throw new Error(`scrape: ${response.status}`);
  if (!response.headers.get('content-type')?.startsWith('text/plain; version=0.0.4')) throw new Error(`content-type ${response.headers.get('content-type')}`);
  return parseExposition(await response.text());
}

t.test('the grammar check refuses what is not the text format', async (t) => {
  t.throws(() => parseExposition('# TYPE a counter\na{x="1"} one\n'), /not in the text format/);
  t.throws(() => parseExposition('b 1\n'), /undeclared family/);
  t.throws(() => parseExposition('# TYPE a counter\na{x=1} 1\n'), /not in the text format/);
  t.same(parseExposition('# HELP a A.\n# TYPE a gauge\na{x="q\\"uote"} -Inf\n'), [{ name: 'a', labels: { x: 'q"uote' }, value: -Infinity }]);
});

t.test('a scrape counts requests by route pattern and status, and reads the live gauges', async (t) => {
  const { app, baseUrl } = await startApp(t, { loginRateLimit: { perAccount: 2, perAccountCeiling: 100, perIp: 100, windowMs: 60_000 } });
  const user = await registerUser(baseUrl);
  for (let i = 0; i < 3; i++) t.equal((await user.api.GET('/users/me')).response.status, 200);
  t.equal((await fetch(`${baseUrl}/api/users/${user.id}`, { headers: { authorization: `Bearer ${user.token}` } })).status, 200);
  t.equal((await fetch(`${baseUrl}/api/users/me`)).status, 401);
  t.equal((await fetch(`${baseUrl}/no/such/page-4711`)).status, 404);
  // Failed logins beyond the per-(account, address) limit: refused, and counted by limiter.
  const wrongLogin = () =>
    fetch(`${baseUrl}/api/users/login`, {
      method: 'POST',
      headers: { authorization: basicAuth(user.username, 'wrong password'), 'content-type': 'application/json' },
      body: JSON.stringify({ deviceInfo: deviceInfo() }),
    });
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await wrongLogin()).status);
  t.equal(statuses.at(-1), 429, 'the third failed login is refused');
  await app.kernel.mail.mailer.sendRaw({ from: 'noreply@localhost', to: 'someone@example.org', raw: 'Subject: hello\r\n\r\nhello\r\n' });

  const texted = await fetch(`${baseUrl}/_matrix/identity/api/v1/validate/msisdn/requestToken`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_secret: 'metrics_secret', country: 'GB', phone_number: '07700 900001', send_attempt: 1 }),
  });
  t.equal(texted.status, 200, 'a text message to the outbox');

  // The text may leave after the answer: scrape until it is counted.
  let samples = await scrape(baseUrl);
  for (let i = 0; i < 100 && !valueOf(samples, 'parley_messages_total', { medium: 'sms', outcome: 'sent' }); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    samples = await scrape(baseUrl);
  }
  const count = (method: string, route: string, status: string) =>
    valueOf(samples, 'parley_http_request_duration_seconds_count', { method, route, status_code: status });
  t.equal(count('GET', '/api/users/me', '200'), 3, 'three answers of GET /api/users/me');
  t.equal(count('GET', '/api/users/me', '401'), 1, 'and one refusal, apart');
  t.equal(count('GET', '/api/users/:id', '200'), 1, 'the route pattern, not the URL with the id');
  t.equal(count('POST', '/api/users', '200'), 1, 'the registration');
  t.equal(count('GET', 'unmatched', '404'), 1, 'an unknown URL under one label');
  const routes = new Set(samples.map((sample) => sample.labels.route).filter(Boolean));
  t.notOk([...routes].some((route) => route.includes('4711') || route.endsWith(`/${user.id}`)), 'no raw URL in any route label');
  const buckets = samples.filter((s) => s.name === 'parley_http_request_duration_seconds_bucket' && s.labels.route === '/api/users/me' && s.labels.status_code === '200');
  t.ok(buckets.length > 2, 'a histogram with buckets');
  t.same(buckets.map((b) => b.value), [...buckets.map((b) => b.value)].sort((a, b) => a - b), 'cumulative buckets');
  t.equal(valueOf(samples, 'parley_http_request_duration_seconds_bucket', { route: '/api/users/me', status_code: '200', le: '+Inf' }), 3);

  t.ok((valueOf(samples, 'parley_rate_limit_refusals_total', { limiter: 'login-account-ip' }) ?? 0) >= 1, 'the refused login, by limiter');
  t.equal(valueOf(samples, 'parley_messages_total', { medium: 'mail', outcome: 'sent' }), 1, 'the mail written to the outbox');
  t.equal(valueOf(samples, 'parley_messages_total', { medium: 'sms', outcome: 'sent' }), 1, 'the text message');
  t.equal(valueOf(samples, 'parley_messages_total', { medium: 'sms', outcome: 'failed' }), 0);
  t.equal(valueOf(samples, 'parley_argon2_queue_length'), 0, 'no hash waiting now');
  const lag = valueOf(samples, 'parley_bus_lag_seconds');
  t.ok(lag !== undefined && lag >= 0 && lag < 5, 'the bus answered its own NOTIFY');
  t.ok((valueOf(samples, 'parley_db_pool_max') ?? 0) >= 1, 'the pool size');
  if (app.kernel.database.kind === 'postgres') t.ok((valueOf(samples, 'parley_db_connections', { state: 'active' }) ?? 0) >= 1, 'the scrape query itself is active');
  t.ok(valueOf(samples, 'process_resident_memory_bytes') !== undefined, 'the default process metrics');
  t.ok(valueOf(samples, 'nodejs_eventloop_lag_seconds') !== undefined);
});

t.test('the open WebSockets gauge and the realtime counters follow a socket', async (t) => {
  const { app, baseUrl } = await startApp(t);
  const open = socketOpener(t);
  const user = await registerUser(baseUrl);
  t.equal(valueOf(await scrape(baseUrl), 'parley_websockets_open'), 0);
  const socket = await open(baseUrl, user.sessionId, user.token);
  t.equal(valueOf(await scrape(baseUrl), 'parley_websockets_open'), 1, 'one socket open');
  await app.kernel.realtime.publish({ userIds: [user.id], event: { event: 'auxiliary', source: 'system', payload: { hello: true } } });
  await socket.event('auxiliary');
  let samples = await scrape(baseUrl);
  t.equal(valueOf(samples, 'parley_realtime_events_published_total'), 1, 'one event published');
  t.equal(valueOf(samples, 'parley_realtime_frames_delivered_total'), 1, 'one frame written to the socket');
  socket.close();
  await socket.waitClosed();
  // The server notices the close a moment later: scrape until it does.
  for (let i = 0; i < 100 && valueOf((samples = await scrape(baseUrl)), 'parley_websockets_open') !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(valueOf(samples, 'parley_websockets_open'), 0, 'closed again');
});

t.test('METRICS_TOKEN: scrapes need the bearer token', async (t) => {
  const { baseUrl } = await startApp(t, { metricsToken: 's3cret-scrape-token' });
  t.equal((await fetch(`${baseUrl}/metrics`)).status, 401, 'no token');
  const wrong = await fetch(`${baseUrl}/metrics`, { headers: { authorization: 'Bearer s3cret-scrape-tokem' } });
  t.equal(wrong.status, 401, 'a wrong token');
  t.notMatch(await wrong.text(), /parley_/, 'nothing of the metrics');
  t.equal((await fetch(`${baseUrl}/metrics`, { headers: { authorization: 's3cret-scrape-token' } })).status, 401, 'not a bearer header');
  const samples = await scrape(baseUrl, { authorization: 'Bearer s3cret-scrape-token' });
  t.ok(valueOf(samples, 'parley_websockets_open') !== undefined, 'the right token scrapes');
});

t.test('/metrics is in none of the published specifications', async (t) => {
  const { baseUrl } = await startApp(t);
  for (const surface of ['messenger', 'rocketchat', 'identity']) {
    const spec = (await (await fetch(`${baseUrl}/openapi/${surface}.json`)).json()) as { paths: Record<string, unknown> };
    t.ok(Object.keys(spec.paths).length > 0, `${surface} has paths`);
    t.notOk(Object.keys(spec.paths).some((p) => p.includes('metrics')), `${surface} does not list /metrics`);
  }
});
