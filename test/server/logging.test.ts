// Logs are for operators: they must never contain passwords or access tokens, even at trace level.
import t from 'tap';
import { buildApp } from '../../src/app.ts';
import { openDatabase } from '../../src/db/client.ts';
import { freshDatabaseUrl, testConfig } from '../helpers/app.ts';
import { basicAuth, deviceInfo } from '../helpers/messenger.ts';

const lines: string[] = [];
const config = await testConfig(t, { logLevel: 'trace' });
const database = await openDatabase({ url: await freshDatabaseUrl(t) });
const app = await buildApp(config, { database, logStream: { write: (line) => lines.push(line) } });
t.teardown(async () => {
  await app.close();
  await database.close();
});

t.test('no password or token reaches the log', async (t) => {
  const password = 'Sup3rSecretPass';
  const registered = await app.inject({
    method: 'POST',
    url: '/api/users',
    payload: { name: 'Log Test', username: 'logtester', password, deviceInfo: deviceInfo() },
  });
  t.equal(registered.statusCode, 200);
  const token = registered.json().deviceSessions[0].accessToken as string;
  const login = await app.inject({
    method: 'POST',
    url: '/api/users/login',
    headers: { authorization: basicAuth('logtester', password) },
    payload: { deviceInfo: deviceInfo() },
  });
  t.equal(login.statusCode, 200);
  const secondToken = login.json().deviceSessions[0].accessToken as string;
  t.equal((await app.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
  await app.inject({ method: 'GET', url: `/api/users/me?token=${secondToken}` });
  await app.inject({ method: 'PUT', url: '/api/users/me/changePassword', headers: { authorization: `Bearer ${token}` }, payload: { oldPassword: password, newPassword: 'An0therSecret' } });

  const log = lines.join('');
  t.ok(lines.length > 5, 'requests were logged');
  t.match(log, /\/api\/users\/me/, 'the log names the route');
  for (const secret of [password, 'An0therSecret', token, secondToken, Buffer.from(`logtester:${password}`).toString('base64')]) {
    t.notOk(log.includes(secret), `the log does not contain ${secret.slice(0, 4)}…`);
  }
});
