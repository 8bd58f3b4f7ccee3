// The administrator command, `npm run admin -- <command> …` (`npm run admin -- help` lists them).
// Uses the server's configuration (DATABASE_URL, else PGlite in DATA_DIR). PGlite serves one
// process: while a server runs on DATA_DIR the command refuses, rather than touch its files.
// Exit codes: 0 done, 1 failed (no such user, database unreachable or busy), 2 bad arguments.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AuthCache } from '../src/auth/auth-cache.ts';
import {
  createAccount,
  disableSecondFactors,
  endAllSessions,
  findAccount,
  listAccounts,
  NAME_RULE,
  oneTimePassword,
  PASSWORD_LENGTH,
  removeAdminRole,
  resetPasswordByOperator,
  USERNAME_RULE,
} from '../src/auth/operator.ts';
import type { UserRow } from '../src/auth/sessions.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type Database, type DatabaseHandle } from '../src/db/client.ts';
import { DataDirLockedError } from '../src/db/data-dir-lock.ts';
import { isPlainAddress, promoteToAdmin, setVerifiedEmail } from '../src/rocketchat/admin.ts';

class UsageError extends Error {}
class Failure extends Error {}

interface Command {
  usage: string;
  summary: string;
  options?: ParseArgsConfig['options'];
  /** Positional arguments: required, then optional. */
  positionals: [min: number, max: number];
  run(db: Database, args: { positionals: string[]; values: Record<string, string | boolean | undefined> }): Promise<void>;
}

const CHANGE_IT = 'Give it to the user over a trusted channel; they should change it at once (messenger: PUT /api/users/me/changePassword).';

async function account(db: Database, username: string): Promise<UserRow> {
  const user = await findAccount(db, username);
  if (!user) throw new Failure(`No user named "${username.toLowerCase()}" (npm run admin -- list shows them)`);
  return user;
}

const commands: Record<string, Command> = {
  create: {
    usage: 'create <username> [password] [--name <name>] [--admin]',
    summary: 'creates a user (with --admin, an administrator); without a password, prints a generated one',
    options: { name: { type: 'string' }, admin: { type: 'boolean' } },
    positionals: [1, 2],
    async run(db, { positionals: [username, given], values }) {
      const password = given ?? oneTimePassword();
      const name = (values.name as string | undefined) ?? (values.admin ? 'Administrator' : 'Parley User');
      const result = await createAccount(db, { username, password, name, admin: Boolean(values.admin) });
      if (result === 'exists') throw new Failure(`A user named "${username.toLowerCase()}" exists already${values.admin ? `; to make them an administrator: npm run admin -- make-admin ${username.toLowerCase()}` : ''}`);
      console.log(`created ${values.admin ? 'administrator' : 'user'} ${username.toLowerCase()}`);
      if (!given) console.log(`one-time password: ${password}\n${CHANGE_IT}`);
    },
  },
  'make-admin': {
    usage: 'make-admin <username>   (also: promote)',
    summary: 'gives an existing user the admin role',
    positionals: [1, 1],
    async run(db, { positionals: [username] }) {
      const user = await account(db, username);
      const result = await promoteToAdmin(db, user.username);
      console.log(result === 'promoted' ? `${user.username} is now an administrator` : `${user.username} was an administrator already`);
    },
  },
  'remove-admin': {
    usage: 'remove-admin <username>',
    summary: 'takes the admin role away from a user',
    positionals: [1, 1],
    async run(db, { positionals: [username] }) {
      const user = await account(db, username);
      const result = await removeAdminRole(db, user);
      console.log(result === 'removed' ? `${user.username} is no longer an administrator` : `${user.username} was not an administrator`);
    },
  },
  'reset-password': {
    usage: 'reset-password <username>',
    summary: "replaces the user's password with a generated one-time password and ends all their sessions",
    positionals: [1, 1],
    async run(db, { positionals: [username] }) {
      const user = await account(db, username);
      const { password, sessionsEnded } = await resetPasswordByOperator(db, user.id);
      console.log(`${user.username}'s password was reset; ${sessionsEnded} session(s) ended.`);
      console.log(`one-time password: ${password}\n${CHANGE_IT}`);
    },
  },
  'revoke-sessions': {
    usage: 'revoke-sessions <username>',
    summary: 'ends every session of the user (every device must log in again)',
    positionals: [1, 1],
    async run(db, { positionals: [username] }) {
      const user = await account(db, username);
      console.log(`${await endAllSessions(db, user.id)} session(s) of ${user.username} ended`);
    },
  },
  'disable-2fa': {
    usage: 'disable-2fa <username>',
    summary: 'removes TOTP and turns email codes off for a locked-out user (their sessions end)',
    positionals: [1, 1],
    async run(db, { positionals: [username] }) {
      const user = await account(db, username);
      // The server's own caches hear the ended sessions through the change-notice triggers.
      const was = await disableSecondFactors({ db, authCache: new AuthCache(db) }, user.id);
      const lifted = [was.totp && 'TOTP', was.email && 'email codes'].filter(Boolean);
      console.log(lifted.length ? `${lifted.join(' and ')} disabled for ${user.username}; they log in with their password alone` : `${user.username} had no second factor on; nothing to disable`);
    },
  },
  list: {
    usage: 'list [--admins] [--json]',
    summary: 'lists the users (id, username, name, admin, email, sessions, second factors)',
    options: { admins: { type: 'boolean' }, json: { type: 'boolean' } },
    positionals: [0, 0],
    async run(db, { values }) {
      const accounts = await listAccounts(db, { adminsOnly: Boolean(values.admins) });
      if (values.json) return void console.log(JSON.stringify(accounts, null, 2));
      const rows = accounts.map((a) => [String(a.id), a.username, a.name, a.admin ? 'admin' : '', a.email ?? '', String(a.sessions), [a.totp && 'totp', a.emailCodes && 'email'].filter(Boolean).join('+')]);
      const header = ['id', 'username', 'name', 'role', 'email', 'sessions', '2fa'];
      const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
      for (const row of [header, ...rows]) console.log(row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
      console.log(`${accounts.length} user(s)`);
    },
  },
  email: {
    usage: 'email <username> <address>',
    summary: "sets the user's email address, as verified (a login name, and where email codes go)",
    positionals: [2, 2],
    async run(db, { positionals: [username, address] }) {
      if (!isPlainAddress(address)) throw new UsageError('That is not a plain email address (user@example.org)');
      if ((await setVerifiedEmail(db, username, address)) === 'missing') throw new Failure(`No user named "${username.toLowerCase()}"`);
      console.log(`${username.toLowerCase()}'s verified email is now ${address.toLowerCase()}`);
    },
  },
};
const aliases: Record<string, string> = { promote: 'make-admin' };

function overview(): string {
  const lines = Object.values(commands).map((command) => `  ${command.usage}\n      ${command.summary}`);
  return [
    'usage: npm run admin -- <command> [arguments]   (npm run admin -- <command> --help)',
    '',
    ...lines,
    '',
    'Database: DATABASE_URL (PostgreSQL), else PGlite in DATA_DIR (./data) — as the server.',
    'With PGlite, stop the server first: it holds the data directory.',
  ].join('\n');
}

function parse(command: Command, argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nusage: npm run admin -- ${command.usage}`);
  }
  const [min, max] = command.positionals;
  if (!parsed.values.help && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw new UsageError(`usage: npm run admin -- ${command.usage}`);
  }
  return parsed;
}

function checkCreate(positionals: string[], name: unknown) {
  const [username, password] = positionals;
  if (typeof name === 'string' && (name.length > 100 || !NAME_RULE.test(name))) {
    throw new UsageError("The name must be letters (and - ' . ,), starting with a letter, at most 100 characters");
  }
  if (!USERNAME_RULE.test(username)) throw new UsageError('The username must be 5-25 letters and digits, starting with a letter');
  if (password !== undefined && (password.length < PASSWORD_LENGTH.min || password.length > PASSWORD_LENGTH.max)) {
    throw new UsageError(`The password must be ${PASSWORD_LENGTH.min} to ${PASSWORD_LENGTH.max} characters long`);
  }
}

async function open(): Promise<DatabaseHandle> {
  const config = loadConfig();
  try {
    return await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      throw new Failure(`${error.message}\nThe admin command opens PGlite itself: stop the server first (with PostgreSQL it runs beside the servers).`);
    }
    const where = config.databaseUrl ? `PostgreSQL at ${describe(config.databaseUrl)}` : `PGlite in ${config.dataDir}`;
    throw new Failure(`Cannot open the database (${where}): ${(error as Error).message}`);
  }
}

/** Host and database, never the password. */
function describe(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    if (name) return void console.log(overview());
    throw new UsageError(overview());
  }
  const command = commands[aliases[name] ?? name];
  if (!command) throw new UsageError(`Unknown command "${name}"\n\n${overview()}`);
  const { positionals, values } = parse(command, rest);
  if (values.help) return void console.log(`usage: npm run admin -- ${command.usage}\n  ${command.summary}`);
  if (command === commands.create) checkCreate(positionals, (values as Record<string, unknown>).name);
  const database = await open();
  try {
    await command.run(database.db, { positionals, values });
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
