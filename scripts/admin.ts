// The administrator command:
//   npm run admin -- create <username> <password> [name]   a new user with the admin role
//   npm run admin -- promote <username>                    gives an existing user the admin role
//   npm run admin -- email <username> <address>            sets the user's email, as verified
// Uses DATABASE_URL / DATA_DIR like the server (stop a PGlite server first: it holds DATA_DIR).
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { createAdmin, isPlainAddress, promoteToAdmin, setVerifiedEmail } from '../src/rocketchat/admin.ts';

const USAGE = 'usage: npm run admin -- create <username> <password> [name] | promote <username> | email <username> <address>';

async function main() {
  const [command, username, password, ...name] = process.argv.slice(2);
  if (!username || !['create', 'promote', 'email'].includes(command)) throw new Error(USAGE);
  if (command === 'email') {
    if (!password) throw new Error(USAGE);
    if (!isPlainAddress(password)) throw new Error('That is not a plain email address (user@example.org)');
  }
  if (command === 'create') {
    if (!/^[A-Za-z][A-Za-z0-9]{4,24}$/.test(username)) throw new Error('The username must be 5-25 letters and digits, starting with a letter');
    if (!password || password.length < 8 || password.length > 25) throw new Error('The password must be 8 to 25 characters long');
  }
  const config = loadConfig();
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    if (command === 'email') {
      if ((await setVerifiedEmail(database.db, username, password)) === 'missing') throw new Error(`No user named ${username.toLowerCase()}`);
      console.log(`${username.toLowerCase()}'s verified email is now ${password.toLowerCase()}`);
    } else if (command === 'create') {
      const result = await createAdmin(database.db, username, password, name.join(' ') || undefined);
      if (result === 'unchanged') throw new Error(`A user named ${username.toLowerCase()} exists already; use: npm run admin -- promote ${username}`);
      console.log(`created administrator ${username.toLowerCase()}`);
    } else {
      const result = await promoteToAdmin(database.db, username);
      if (result === 'missing') throw new Error(`No user named ${username.toLowerCase()}`);
      console.log(result === 'promoted' ? `${username.toLowerCase()} is now an administrator` : `${username.toLowerCase()} was an administrator already`);
    }
  } finally {
    await database.close();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
