// Registration costs an argon2 hash: it is limited per client address
// (REGISTER_RATE_LIMIT_PER_IP), one more answers 429 in the messenger envelope with
// Retry-After, and another address still registers.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { deviceInfo } from '../helpers/messenger.ts';
import { rawRequest } from '../helpers/raw-http.ts';

const PER_IP = 3;
const { baseUrl } = await startApp(t, { registerRateLimit: { perIp: PER_IP, windowMs: 600_000 } });

const register = (from: string, username = `u${randomUUID().replace(/-/g, '').slice(0, 12)}`) =>
  rawRequest(baseUrl, {
    method: 'POST',
    path: '/api/users',
    localAddress: from,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Flood', username, password: 'password1', deviceInfo: deviceInfo() }),
  });

t.test('registrations per address', async (t) => {
  const taken = await register('127.0.0.2');
  t.equal(taken.status, 200, 'first registration');
  const username = (taken.json as { info: { username: string } }).info.username;
  t.equal((await register('127.0.0.2', username)).status, 409, 'a taken name still costs an attempt');
  t.equal((await register('127.0.0.2')).status, 200, `registration ${PER_IP} from this address`);

  const limited = await register('127.0.0.2');
  t.equal(limited.status, 429, 'one more than the limit');
  t.same(Object.keys(limited.json as object), ['error', 'reason'], 'messenger envelope');
  t.equal((limited.json as { error: boolean }).error, true);
  t.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After in seconds');

  t.equal((await register('127.0.0.3')).status, 200, 'another address still registers');
  t.equal((await register('127.0.0.2')).status, 429, 'the first address stays refused');
});
