// `npm run admin -- …` as an operator runs it: a child process on the server's configuration,
// against PostgreSQL (TEST_DATABASE_URL) and against a PGlite data directory. Every command's
// happy path, its main failure, and the exit codes (0 done, 1 failed, 2 bad arguments).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.ts';
import { issueSession } from '../../src/auth/sessions.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.ts';
import { deviceSessions, emailTwoFactor, totpEnrolments, users } from '../../src/db/schema/index.ts';
import { projectRoot } from '../../src/paths.ts';
import { freshDatabaseUrl } from '../helpers/app.ts';
import { tempDir } from '../helpers/child-server.ts';
import { basicAuth, deviceInfo } from '../helpers/messenger.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const run = promisify(execFile);
// Dozens of child processes (each loads tsx and opens the database) on a small machine.
t.setTimeout(600_000);

async function admin(env: Record<string, string>, ...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', ...args], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'silent', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

interface Backend {
  env: Record<string, string>;
  /** Opens the same database in this process (for PGlite: only while no command runs). */
  open(): Promise<DatabaseHandle>;
}

/** Runs `work` with the database open in this process, closed again before the next command. */
async function withDatabase<T>(backend: Backend, work: (database: DatabaseHandle) => Promise<T>): Promise<T> {
  const database = await backend.open();
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/** Logs in through the messenger API of an app on that database: what the user would try. */
async function canLogIn(backend: Backend, username: string, password: string): Promise<boolean> {
  return withDatabase(backend, async (database) => {
    const app = await buildApp({ ...loadConfig({ DATA_DIR: await tempDirFor(), LOG_LEVEL: 'silent' }) }, { database, logger: false });
    try {
      const response = await app.inject({ method: 'POST', url: '/api/users/login', headers: { authorization: basicAuth(username, password) }, payload: { deviceInfo: deviceInfo() } });
      return response.statusCode === 200;
    } finally {
      await app.close();
    }
  });
}
let scratch: (() => Promise<string>) | undefined;
const tempDirFor = () => scratch!();

const oneTimePassword = (output: string) => output.match(/one-time password: (\S+)/)?.[1];

async function exercise(t: Test, backend: Backend) {
  scratch = () => tempDir(t);
  const { env } = backend;

  t.test('--help, for the whole command and for each command', async (t) => {
    const overview = await admin(env, '--help');
    t.equal(overview.code, 0);
    for (const name of ['create', 'make-admin', 'remove-admin', 'reset-password', 'revoke-sessions', 'disable-2fa', 'list']) {
      t.match(overview.stdout, name, `lists ${name}`);
      const help = await admin(env, name, '--help');
      t.equal(help.code, 0, `${name} --help`);
      t.match(help.stdout, new RegExp(`^usage: npm run admin -- ${name}`));
    }
    const none = await admin(env);
    t.equal(none.code, 2, 'no command: bad arguments');
    t.match(none.stderr, /usage: npm run admin -- <command>/);
    const unknown = await admin(env, 'frobnicate');
    t.equal(unknown.code, 2);
    t.match(unknown.stderr, 'Unknown command "frobnicate"');
  });

  t.test('create: users and administrators; refused for a taken name or bad arguments', async (t) => {
    const alice = await admin(env, 'create', 'alice01', '--name', 'Alice Liddell');
    t.equal(alice.code, 0, alice.stderr);
    t.match(alice.stdout, 'created user alice01');
    const password = oneTimePassword(alice.stdout);
    t.ok(password && password.length >= 16, 'a generated one-time password is printed');
    t.match(alice.stdout, /should change it/);
    t.ok(await canLogIn(backend, 'alice01', password!), 'it logs the user in');

    const bob = await admin(env, 'create', 'BobbyTwo', 'password123', '--admin');
    t.equal(bob.code, 0, bob.stderr);
    t.match(bob.stdout, 'created administrator bobbytwo');
    t.notOk(oneTimePassword(bob.stdout), 'a given password is not printed');

    const again = await admin(env, 'create', 'alice01');
    t.equal(again.code, 1, 'a taken username fails');
    t.match(again.stderr, 'A user named "alice01" exists already');
    for (const [args, message] of [
      [['create', 'x1'], /username must be 5-25 letters and digits/],
      [['create', 'carol03', 'short'], /password must be 8 to 25 characters/],
      [['create', 'carol03', '--name', '1234'], /name must be letters/],
      [['create'], /usage: npm run admin -- create <username>/],
      [['create', 'carol03', '--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const refused = await admin(env, ...args);
      t.equal(refused.code, 2, `${args.join(' ')}: bad arguments`);
      t.match(refused.stderr, message);
    }
  });

  t.test('list: everyone, administrators only, as JSON', async (t) => {
    const table = await admin(env, 'list');
    t.equal(table.code, 0);
    t.match(table.stdout, /^id\s+username\s+name\s+role/);
    t.match(table.stdout, /alice01\s+Alice Liddell/);
    t.match(table.stdout, /bobbytwo\s+Administrator\s+admin/);
    t.match(table.stdout, '2 user(s)');
    const admins = JSON.parse((await admin(env, 'list', '--admins', '--json')).stdout) as Array<{ username: string; admin: boolean }>;
    t.same(admins.map((a) => [a.username, a.admin]), [['bobbytwo', true]]);
    t.equal((await admin(env, 'list', 'extra')).code, 2, 'no positional arguments');
  });

  t.test('make-admin and remove-admin', async (t) => {
    const listed = async () => (JSON.parse((await admin(env, 'list', '--json')).stdout) as Array<{ username: string; admin: boolean }>).find((a) => a.username === 'alice01')!.admin;
    const made = await admin(env, 'make-admin', 'Alice01');
    t.equal(made.code, 0);
    t.match(made.stdout, 'alice01 is now an administrator');
    t.equal(await listed(), true);
    t.match((await admin(env, 'promote', 'alice01')).stdout, 'was an administrator already', 'promote is the same command');
    const removed = await admin(env, 'remove-admin', 'alice01');
    t.equal(removed.code, 0);
    t.match(removed.stdout, 'alice01 is no longer an administrator');
    t.equal(await listed(), false);
    for (const command of ['make-admin', 'remove-admin', 'reset-password', 'revoke-sessions', 'disable-2fa']) {
      const missing = await admin(env, command, 'nobody99');
      t.equal(missing.code, 1, `${command} of an unknown user fails`);
      t.match(missing.stderr, 'No user named "nobody99"');
    }
  });

  const sessionsOf = (username: string) =>
    withDatabase(backend, async ({ db }) => {
      const [user] = await db.select().from(users).where(eq(users.username, username));
      return (await db.select().from(deviceSessions).where(eq(deviceSessions.userId, user.id))).length;
    });
  const addSessions = (username: string, count: number) =>
    withDatabase(backend, async ({ db }) => {
      const [user] = await db.select().from(users).where(eq(users.username, username));
      for (let i = 0; i < count; i++) await issueSession(db, user.id, { id: randomUUID(), name: 'phone', model: 'x', transport: 'none' }, '127.0.0.1');
      return user.id;
    });

  t.test('revoke-sessions ends every session of the user', async (t) => {
    await addSessions('alice01', 2);
    t.ok((await sessionsOf('alice01')) >= 2);
    const revoked = await admin(env, 'revoke-sessions', 'alice01');
    t.equal(revoked.code, 0);
    t.match(revoked.stdout, /\d+ session\(s\) of alice01 ended/);
    t.equal(await sessionsOf('alice01'), 0);
  });

  t.test('reset-password prints a new one-time password and ends the sessions', async (t) => {
    await addSessions('bobbytwo', 1);
    const reset = await admin(env, 'reset-password', 'bobbytwo');
    t.equal(reset.code, 0, reset.stderr);
    const password = oneTimePassword(reset.stdout);
    t.ok(password, 'printed');
    t.match(reset.stdout, /should change it/, 'and the user is told to change it');
    t.match(reset.stdout, '1 session(s) ended');
    t.equal(await sessionsOf('bobbytwo'), 0);
    t.ok(await canLogIn(backend, 'bobbytwo', password!), 'the new password works');
    t.notOk(await canLogIn(backend, 'bobbytwo', 'password123'), 'the old one does not');
  });

  t.test('disable-2fa lifts TOTP and email codes of a locked-out user', async (t) => {
    const userId = await addSessions('alice01', 1);
    await withDatabase(backend, async ({ db }) => {
      await db.insert(totpEnrolments).values({ userId, enabled: true, secret: 'JBSWY3DPEHPK3PXP' });
      await db.insert(emailTwoFactor).values({ userId, enabled: true });
    });
    const disabled = await admin(env, 'disable-2fa', 'alice01');
    t.equal(disabled.code, 0, disabled.stderr);
    t.match(disabled.stdout, 'TOTP and email codes disabled for alice01');
    await withDatabase(backend, async ({ db }) => {
      t.same(await db.select().from(totpEnrolments).where(eq(totpEnrolments.userId, userId)), [], 'no TOTP left');
      t.same((await db.select().from(emailTwoFactor).where(eq(emailTwoFactor.userId, userId))).map((row) => row.enabled), [false], 'email codes off');
    });
    t.equal(await sessionsOf('alice01'), 0, 'the sessions ended with the TOTP');
    t.match((await admin(env, 'disable-2fa', 'alice01')).stdout, 'had no second factor on');
  });
}

t.test('against PostgreSQL', { skip: !process.env.TEST_DATABASE_URL && 'TEST_DATABASE_URL is not set' }, async (t) => {
  const url = (await freshDatabaseUrl(t))!;
  // The schema exists before the first command, as it does once a server has started.
  await (await openDatabase({ url })).close();
  await exercise(t, { env: { DATABASE_URL: url }, open: () => openDatabase({ url, poolSize: 2 }) });
});

t.test('against a PGlite data directory', async (t) => {
  const dataDir = await tempDir(t);
  // Each suite runs the commands on its own database: the PostgreSQL suite has them above.
  if (!process.env.TEST_DATABASE_URL) await exercise(t, { env: { DATA_DIR: dataDir }, open: () => openDatabase({ dataDir }) });

  t.test('while a server holds the data directory, commands refuse and say why', async (t) => {
    // What a running server leaves there: its pid in parley.pid (this test process stands in).
    await writeFile(path.join(dataDir, 'parley.pid'), String(process.pid));
    const busy = await admin({ DATA_DIR: dataDir }, 'list');
    t.equal(busy.code, 1);
    t.match(busy.stderr, `in use by another Parley process (pid ${process.pid})`);
    t.match(busy.stderr, /stop the server first/);
    t.equal(busy.stdout, '', 'nothing listed');
  });
});

t.test('an unreachable database is a clear failure', async (t) => {
  const unreachable = await admin({ DATABASE_URL: 'postgres://parley:s3cret-pw@127.0.0.1:1/parley' }, 'list');
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, 'Cannot open the database (PostgreSQL at 127.0.0.1:1/parley)');
  t.notMatch(unreachable.stderr, 's3cret-pw', 'the password is not printed');
});
