// Lockout cannot be used against the owner: failed logins are throttled per (account,
// client address), so an attacker hammering an account from one address is refused while
// the owner, from another address, still logs in on every surface; past the account's
// ceiling (many addresses guessing), every address waits.
import t from 'tap';
import { startApp } from '../helpers/app.ts';
import { basicAuth, deviceInfo, registerUser } from '../helpers/messenger.ts';
import { rawRequest, type RawResponse } from '../helpers/raw-http.ts';

const PER_PAIR = 3;
const CEILING = 6;
const { baseUrl } = await startApp(t, {
  loginRateLimit: { perAccount: PER_PAIR, perAccountCeiling: CEILING, perIp: 1000, windowMs: 60_000 },
});

const ATTACKER = '127.0.0.2';
const OWNER = '127.0.0.3';

type Surface = 'messenger' | 'rocketchat';

function login(surface: Surface, from: string, username: string, password: string): Promise<RawResponse> {
  return surface === 'messenger'
    ? rawRequest(baseUrl, {
        method: 'POST',
        path: '/api/users/login',
        localAddress: from,
        headers: { authorization: basicAuth(username, password), 'content-type': 'application/json' },
        body: JSON.stringify({ deviceInfo: deviceInfo() }),
      })
    : rawRequest(baseUrl, {
        method: 'POST',
        path: '/api/v1/login',
        localAddress: from,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: username, password }),
      });
}

/** PER_PAIR wrong passwords from `from`, then one more: their statuses and the last answer. */
async function hammer(surface: Surface, from: string, username: string): Promise<{ statuses: number[]; refused: RawResponse }> {
  const statuses: number[] = [];
  for (let i = 1; i <= PER_PAIR; i++) statuses.push((await login(surface, from, username, 'wrong-guess')).status);
  return { statuses, refused: await login(surface, from, username, 'wrong-guess') };
}

for (const attackedOn of ['messenger', 'rocketchat'] as const) {
  t.test(`an attacker guessing on the ${attackedOn} surface does not lock the owner out`, async (t) => {
    const owner = await registerUser(baseUrl, { password: 'password1' });
    const { statuses, refused } = await hammer(attackedOn, ATTACKER, owner.username);
    t.same(statuses, Array(PER_PAIR).fill(401), 'the first guesses are only wrong');
    t.equal(refused.status, 429, 'the attacking address is refused');
    t.ok(Number(refused.headers['retry-after']) >= 1, 'with Retry-After');
    if (attackedOn === 'messenger') t.same(refused.json, { error: true, reason: (refused.json as { reason: string }).reason }, 'messenger envelope');
    else t.match(refused.json, { status: 'error', error: 'error-too-many-requests' }, 'Rocket.Chat envelope');

    const messenger = await login('messenger', OWNER, owner.username, 'password1');
    t.equal(messenger.status, 200, 'the owner logs in on the messenger from another address');
    t.equal((messenger.json as { info: { id: number } }).info.id, owner.id);
    const rocketchat = await login('rocketchat', OWNER, owner.username, 'password1');
    t.equal(rocketchat.status, 200, 'and on the Rocket.Chat surface');
    t.match(rocketchat.json, { status: 'success', data: { userId: String(owner.id) } });

    for (const surface of ['messenger', 'rocketchat'] as const) {
      t.equal((await login(surface, ATTACKER, owner.username, 'wrong-guess')).status, 429, `the attacker stays refused (${surface})`);
      t.equal((await login(surface, ATTACKER, owner.username, 'password1')).status, 429, `even with the right password (${surface})`);
    }
  });
}

t.test("the owner's own failures are forgiven by a success", async (t) => {
  const owner = await registerUser(baseUrl, { password: 'password1' });
  for (let round = 1; round <= 2; round++) {
    for (let i = 1; i < PER_PAIR; i++) t.equal((await login('messenger', OWNER, owner.username, 'typo-typo')).status, 401, `round ${round}: typo ${i}`);
    t.equal((await login('messenger', OWNER, owner.username, 'password1')).status, 200, `round ${round}: then the right password`);
  }
});

t.test("past the account's ceiling every address waits", async (t) => {
  const owner = await registerUser(baseUrl, { password: 'password1' });
  // Each address stays under its own limit; together they reach the account's ceiling.
  for (let a = 0; a < CEILING / (PER_PAIR - 1); a++) {
    for (let i = 1; i < PER_PAIR; i++) t.equal((await login('messenger', `127.0.1.${a + 1}`, owner.username, 'wrong-guess')).status, 401);
  }
  const fresh = await login('messenger', OWNER, owner.username, 'password1');
  t.equal(fresh.status, 429, 'a fresh address is refused once the account has seen its ceiling of failures');
  t.ok(Number(fresh.headers['retry-after']) >= 1, 'with Retry-After');
});
