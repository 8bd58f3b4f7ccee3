// Security headers on every response (issue 13, point 2): no sniffing, no framing, no
// referrer, a strict Content-Security-Policy the web client and the Swagger UI work under,
// and no published source maps of the web client.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import t from 'tap';
import { buildWeb, webDist } from '../../scripts/build-web.ts';
import { webClient } from '../../src/http/web-client.ts';
import { startApp } from '../helpers/app.ts';
import { rawRequest, type RawResponse } from '../helpers/raw-http.ts';

t.setTimeout(240_000);
await buildWeb({ quiet: true });
const { baseUrl } = await startApp(t);

/** The CSP directives of a response, by name. */
function csp(response: RawResponse): Map<string, string[]> {
  const header = String(response.headers['content-security-policy'] ?? '');
  return new Map(
    header
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...values]) => [name.toLowerCase(), values]),
  );
}

function checkBaseline(t: Pick<typeof import('tap').default, 'equal' | 'same'>, response: RawResponse, what: string) {
  t.equal(response.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  t.equal(response.headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options DENY`);
  t.equal(response.headers['referrer-policy'], 'no-referrer', `${what}: no referrer`);
  t.same(csp(response).get('frame-ancestors'), ["'none'"], `${what}: frame-ancestors 'none'`);
}

t.test('API answers, errors and not-found answers of every surface carry the headers', async (t) => {
  const cases: Array<[string, Parameters<typeof rawRequest>[1], number]> = [
    ['health', { method: 'GET', path: '/healthz' }, 200],
    ['readiness', { method: 'GET', path: '/readyz' }, 200],
    ['messenger 404', { method: 'GET', path: '/api/no-such-route' }, 404],
    ['messenger 401', { method: 'GET', path: '/api/users/me' }, 401],
    ['messenger broken JSON', { method: 'POST', path: '/api/users', headers: { 'content-type': 'application/json' }, body: '{"name":' }, 400],
    ['Rocket.Chat 404', { method: 'GET', path: '/api/v1/no.such.method' }, 404],
    ['Rocket.Chat 401', { method: 'GET', path: '/api/v1/me' }, 401],
    ['Matrix status', { method: 'GET', path: '/_matrix/identity/v2' }, 200],
    ['Matrix 404', { method: 'GET', path: '/_matrix/identity/v2/no-such-thing' }, 404],
    ['a URL fastify cannot decode', { method: 'GET', path: '/api/users/%c0' }, 400],
    ['a specification', { method: 'GET', path: '/openapi/messenger.json' }, 200],
    ['an unknown path', { method: 'GET', path: '/no/such/page' }, 404],
  ];
  // (/uploads/* and /files/* answer with their own sandbox policy: test/reliability/upload-serving.test.ts.)
  for (const [what, request, status] of cases) {
    const response = await rawRequest(baseUrl, request);
    t.equal(response.status, status, `${what}: ${status}`);
    checkBaseline(t, response, what);
  }
});

t.test('the web client gets a strict policy and no inline script', async (t) => {
  const page = await rawRequest(baseUrl, { method: 'GET', path: '/' });
  t.equal(page.status, 200);
  checkBaseline(t, page, 'index.html');
  const policy = csp(page);
  t.same(policy.get('default-src'), ["'self'"], "default-src 'self'");
  t.same(policy.get('script-src'), ["'self'"], "script-src 'self' only: no 'unsafe-inline', no 'unsafe-eval'");
  t.same(policy.get('object-src'), ["'none'"]);
  t.same(policy.get('base-uri'), ["'none'"]);
  const scripts = [...page.text.matchAll(/<script\b([^>]*)>([^]*?)<\/script>/g)];
  t.ok(scripts.length > 0, 'the page loads its bundle');
  for (const [, attributes, body] of scripts) {
    t.match(attributes, /\bsrc="\/assets\/[^"]+\.js"/, 'every script is a file of this origin');
    t.equal(body.trim(), '', 'and has no inline code');
  }
  const bundle = /src="(\/assets\/[^"]+\.js)"/.exec(page.text)![1];
  checkBaseline(t, await rawRequest(baseUrl, { method: 'GET', path: bundle }), 'the bundle');
});

t.test('the Swagger UI at /docs gets its own policy, still without inline script or framing', async (t) => {
  const docs = await rawRequest(baseUrl, { method: 'GET', path: '/docs' });
  t.equal(docs.status, 200);
  checkBaseline(t, docs, '/docs');
  const policy = csp(docs);
  t.same(policy.get('script-src'), ["'self'"], 'script-src: its own files only');
  t.notOk(policy.has('upgrade-insecure-requests'), 'works over plain HTTP too');
  const asset = await rawRequest(baseUrl, { method: 'GET', path: '/docs/static/swagger-initializer.js' });
  t.equal(asset.status, 200);
  checkBaseline(t, asset, 'the Swagger UI initializer');
});

t.test('in a browser, the web client and the Swagger UI work under their policies without a violation', async (t) => {
  const browser: Browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  const pages: Array<[string, string, (page: import('playwright-core').Page) => Promise<unknown>]> = [
    ['/', 'the sign-in screen', (page) => page.getByRole('button', { name: 'Create account' }).first().waitFor()],
    ['/docs', 'the messenger API', (page) => page.getByText('Parley Messenger API').first().waitFor()],
  ];
  for (const [url, what, rendered] of pages) {
    const context = await browser.newContext({ baseURL: baseUrl });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const violations: string[] = [];
    await page.exposeFunction('reportViolation', (text: string) => violations.push(text));
    await page.addInitScript(() => {
      const scope = globalThis as unknown as {
        document: { addEventListener(type: string, listener: (event: { violatedDirective: string; blockedURI: string }) => void): void };
        reportViolation(text: string): void;
      };
      scope.document.addEventListener('securitypolicyviolation', (event) => scope.reportViolation(`${event.violatedDirective} ${event.blockedURI}`));
    });
    await page.goto(url);
    await rendered(page);
    t.pass(`${url} shows ${what}`);
    t.same(violations, [], `${url}: no Content-Security-Policy violation`);
    await context.close();
  }
});

t.test('source maps of the web client are neither built nor served', async (t) => {
  const assets = await readdir(path.join(webDist, 'assets'));
  t.same(assets.filter((name) => name.endsWith('.map')), [], 'the build writes no .map file');
  for (const name of assets.filter((file) => /\.(js|css)$/.test(file))) {
    t.notMatch(await readFile(path.join(webDist, 'assets', name), 'utf8'), /sourceMappingURL/, `${name} points to no source map`);
    const map = await rawRequest(baseUrl, { method: 'GET', path: `/assets/${name}.map` });
    t.equal(map.status, 404, `/assets/${name}.map is 404`);
  }

  // An older build that still holds maps does not serve them either.
  const root = await mkdtemp(path.join(tmpdir(), 'parley-web-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'assets'));
  await writeFile(path.join(root, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>');
  await writeFile(path.join(root, 'assets/app.js'), 'console.log(1);\n//# sourceMappingURL=app.js.map\n');
  await writeFile(path.join(root, 'assets/app.js.map'), '{"version":3,"sources":["secret.tsx"]}');
  t.ok(existsSync(path.join(root, 'assets/app.js.map')));
  const app = Fastify();
  await app.register(webClient, { root });
  t.teardown(() => app.close());
  t.equal((await app.inject({ method: 'GET', url: '/assets/app.js' })).statusCode, 200, 'the script is served');
  t.equal((await app.inject({ method: 'GET', url: '/assets/app.js.map' })).statusCode, 404, 'its map is not');
});
