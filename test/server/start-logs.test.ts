// What an operator sees when Parley starts: no warnings, one banner line with the web
// client, /docs and the database (never its password), JSON lines for machines and
// readable lines with LOG_FORMAT=pretty.
import t, { type Test } from 'tap';
import { freshDatabaseUrl } from '../helpers/app.ts';
import { freePort, ready, startServer, stopOnTeardown, tempDir, type Child } from '../helpers/child-server.ts';

async function start(t: Test, env: Record<string, string>): Promise<{ child: Child; lines: string[] }> {
  const child = startServer({ PORT: String(await freePort()), DATA_DIR: await tempDir(t), DATABASE_URL: '', LOG_LEVEL: 'info', ...env });
  stopOnTeardown(t, child);
  await ready(child);
  child.signal('SIGTERM');
  await child.exited;
  return { child, lines: child.output().split('\n').filter((line) => line.trim() !== '') };
}

const bannerOf = (lines: string[]) => lines.find((line) => line.includes('Parley is ready'));

function checkJsonStart(t: Test, lines: string[], baseUrl: string) {
  const records = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
  t.ok(records.length > 2, 'JSON lines');
  t.same(records.filter((record) => record.level >= 40).map((record) => record.msg), [], 'no warning or error on a clean start');
  const banner = records.find((record) => record.msg.startsWith('Parley is ready'));
  t.ok(banner, 'the banner is one of them');
  t.match(banner?.msg, `web client ${baseUrl}/`);
  t.match(banner?.msg, `API docs ${baseUrl}/docs`);
  return banner!.msg;
}

t.test('a clean start on PGlite: JSON lines without warnings, and the banner', async (t) => {
  const { child, lines } = await start(t, { LOG_FORMAT: 'json' });
  const banner = checkJsonStart(t, lines, child.baseUrl);
  t.match(banner, /database PGlite in \/.+\/pgdata/, 'the data directory in use');
});

t.test('without LOG_FORMAT and stdout not a terminal: JSON lines', async (t) => {
  const { child, lines } = await start(t, {});
  checkJsonStart(t, lines, child.baseUrl);
});

t.test('LOG_FORMAT=pretty: readable lines, the same banner, no warning', async (t) => {
  const { child, lines } = await start(t, { LOG_FORMAT: 'pretty' });
  t.ok(lines.length > 2);
  for (const line of lines) t.throws(() => JSON.parse(line), `not JSON: ${line.slice(0, 60)}`);
  t.notOk(lines.some((line) => /\b(WARN|ERROR|FATAL)\b/.test(line)), 'no warning');
  t.match(bannerOf(lines), new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] INFO: Parley is ready: web client ${child.baseUrl}/ · API docs ${child.baseUrl}/docs · database PGlite in `));
  t.ok(lines.some((line) => / INFO: \[req-\d+\] request completed → 200/.test(line)), 'a request in one short line');
});

t.test('on PostgreSQL the banner names the host and database, never the password', { skip: !process.env.TEST_DATABASE_URL && 'TEST_DATABASE_URL is not set' }, async (t) => {
  const url = new URL((await freshDatabaseUrl(t))!);
  // A password the server (trust authentication in the test cluster) does not need, but must not print.
  url.username ||= 'postgres';
  url.password = 'Hunter2-never-logged';
  const { child, lines } = await start(t, { LOG_FORMAT: 'json', DATABASE_URL: url.toString() });
  const banner = checkJsonStart(t, lines, child.baseUrl);
  t.match(banner, `database PostgreSQL ${url.host}${url.pathname}`);
  t.notOk(child.output().includes('Hunter2-never-logged'), 'the password appears nowhere in the output');
});
