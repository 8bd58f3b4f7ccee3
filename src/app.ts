// buildApp(config): the kernel (database, limiters, files), shared routes, then one
// plugin per API surface. No global state: tests build as many apps as they like.
import path from 'node:path';
import fastifyCompress from '@fastify/compress';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { AuthCache } from './auth/auth-cache.ts';
import { createLimiters } from './auth/rate-limits.ts';
import type { Config } from './config.ts';
import { installChangeNotices } from './db/change-notices.ts';
import { openDatabase, type DatabaseHandle } from './db/client.ts';
import { PreviewQueue } from './files/previews.ts';
import { uploadServing } from './files/serve.ts';
import { FileStore } from './files/store.ts';
import { compression } from './http/compression.ts';
import { installMetrics } from './http/metrics.ts';
import { limitConnectionsPerAddress, limitRequestBodyTime, serverTimeouts } from './http/connection-limits.ts';
import { renderFrameworkError } from './http/framework-errors.ts';
import { OutboundPolicy, type OutboundOptions } from './http/outbound.ts';
import { Mailer } from './mail/mailer.ts';
import { Templates } from './mail/templates.ts';
import { deferredChildLogger } from './http/request-logger.ts';
import { docsCsp, installSecurityHeaders } from './http/security-headers.ts';
import { webClient } from './http/web-client.ts';
import surfaces from './generated/surfaces.json' with { type: 'json' };
import identitySpec from './generated/identity.spec.json' with { type: 'json' };
import messengerSpec from './generated/messenger.spec.json' with { type: 'json' };
import rocketChatSpec from './generated/rocketchat.spec.json' with { type: 'json' };
import type { Kernel } from './kernel.ts';
import { identityPlugin, IDENTITY_PREFIX } from './identity/plugin.ts';
import { HistoryCache } from './messenger/history-cache.ts';
import { MembershipCache } from './messenger/membership-cache.ts';
import { messengerPlugin } from './messenger/plugin.ts';
import { rocketChatPlugin } from './rocketchat/plugin.ts';
import { createBus } from './realtime/bus.ts';
import { RealtimeHub } from './realtime/hub.ts';
import { realtimeRoutes } from './realtime/routes.ts';

declare module 'fastify' {
  interface FastifyInstance {
    kernel: Kernel;
  }
}

export interface BuildOptions {
  /** An already open database (tests share one per file); otherwise opened from config. */
  database?: DatabaseHandle;
  logger?: FastifyServerOptions['logger'];
  /** TLS trust and name resolution of outbound requests (tests: their stand-in push service, injected names). */
  outbound?: OutboundOptions;
  /** Where the production logger writes (stdout by default); tests read it back. */
  logStream?: { write(line: string): void };
}

async function loggerOptions(config: Config, stream?: BuildOptions['logStream']): Promise<FastifyServerOptions['logger']> {
  // LOG_FORMAT=pretty (default on a terminal): readable lines, formatted in this thread so
  // nothing is lost at exit; loaded only then, so a JSON start stays as quick.
  if (config.logFormat === 'pretty') {
    const { default: pretty } = await import('pino-pretty');
    stream = pretty({
      destination: (stream as never) ?? 1,
      sync: true,
      colorize: !stream && process.stdout.isTTY,
      translateTime: 'SYS:HH:MM:ss',
      singleLine: true,
      // A request is two short lines ("[req-1] incoming request GET /api/users/me", "[req-1] request completed → 200 (3.1 ms)").
      ignore: 'pid,hostname,reqId,req,res,responseTime',
      messageFormat: (log, messageKey) => {
        const { req, res, responseTime } = log as { req?: { method: string; url: string }; res?: { statusCode: number }; responseTime?: number };
        const request = req ? ` ${req.method} ${req.url}` : '';
        const outcome = res ? ` → ${res.statusCode}${responseTime === undefined ? '' : ` (${responseTime.toFixed(1)} ms)`}` : '';
        return `${log.reqId ? `[${String(log.reqId)}] ` : ''}${String(log[messageKey] ?? '')}${request}${outcome}`;
      },
    });
  }
  return {
    level: config.logLevel,
    ...(stream ? { stream } : {}),
    redact: ['req.headers.authorization', 'req.headers["x-auth-token"]', 'req.headers["x-2fa-code"]'],
    serializers: {
      // Browsers pass WebSocket tokens in the query string: never log query strings.
      req: (request: { method: string; url: string; ip?: string }) => ({
        method: request.method,
        url: request.url.split('?')[0],
        remoteAddress: request.ip,
      }),
    },
  };
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? (await loggerOptions(config, options.logStream)),
    childLoggerFactory: deferredChildLogger,
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: renderFrameworkError,
    ajv: {
      customOptions: { strict: false, coerceTypes: 'array', useDefaults: true, removeAdditional: true },
      // OpenAPI's `format: binary` marks raw upload bodies; nothing to validate there.
      plugins: [(ajv: Ajv) => ajv.addFormat('binary', true)],
    },
    ...serverTimeouts(config.http),
  });
  // Operational plumbing first, so every route below (and every 404) gets it.
  limitConnectionsPerAddress(app.server, config.http.maxConnectionsPerIp);
  limitRequestBodyTime(app, config.http);
  installSecurityHeaders(app);
  // Before every route: it hooks each route as it is added (src/http/compression.ts).
  await app.register(fastifyCompress, compression);

  const database = options.database ?? (await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir }));
  const files = new FileStore(config.dataDir);
  await files.init();
  const previews = new PreviewQueue(files, app.log);
  await installChangeNotices(database.db);
  const bus = createBus(database);
  const authCache = new AuthCache(database.db);
  const history = new HistoryCache({ maxBytes: config.historyCacheBytes });
  const membership = new MembershipCache({ max: 100_000 });
  const outbound = new OutboundPolicy(config.outboundIpAllowlist, options.outbound);
  const mail = { mailer: new Mailer(config, app.log), templates: new Templates(config.mail.templatesDir, config.mail.brand) };
  let realtime: RealtimeHub;
  try {
    await authCache.listen(bus);
    await history.listen(bus);
    await membership.listen(bus);
    realtime = await RealtimeHub.start({ database, bus, config, log: app.log, pushAgent: outbound.agent });
    realtime.observeRemote((delivery) => history.observe(delivery));
  } catch (error) {
    await bus.close();
    throw error;
  }
  // Sockets, pushes and previews finish before the database closes.
  app.addHook('onClose', async () => {
    await realtime.close();
    await bus.close();
    await previews.close();
    outbound.close();
    mail.mailer.close();
    if (!options.database) await database.close();
  });
  const kernel: Kernel = {
    config,
    database,
    db: database.db,
    authCache,
    history,
    membership,
    limiters: createLimiters(database.db, config),
    files,
    previews,
    log: app.log,
    realtime,
    bus,
    outbound,
    mail,
  };
  app.decorate('kernel', kernel);
  // Before every route, so each response is timed (hidden from the specs; METRICS_TOKEN).
  await installMetrics(app, { database, bus, hub: realtime, token: config.metricsToken });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await database.ping();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'database unreachable' });
    }
  });

  await registerDocs(app);

  // A request that changed state answers only after its user's cached authentications are
  // gone, so the client's next read sees the change (other processes hear it by NOTIFY).
  // A callback hook, not an async one: it runs for every response (no promise per request).
  app.addHook('onSend', (request, _reply, payload, done) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      if (request.auth) authCache.forgetUser(request.auth.user.id);
      if (request.passwordUser) authCache.forgetUser(request.passwordUser.id);
    }
    done(null, payload);
  });

  // Uploaded files at /uploads/* and /files/*, sandboxed (src/files/serve.ts).
  await app.register(uploadServing, { files });

  // The realtime socket /ws/:deviceSessionId (outside /api, as in the reference).
  await app.register(realtimeRoutes, { kernel, hub: realtime });
  await app.register(messengerPlugin, { prefix: '/api', kernel });
  // Its own encapsulation context: /api/v1/* never reaches the messenger's not-found handler.
  await app.register(rocketChatPlugin, { prefix: '/api/v1', kernel });
  await app.register(identityPlugin, { prefix: IDENTITY_PREFIX, kernel });
  // The browser client (web/dist) at `/`: one route per built file, after every surface.
  await app.register(webClient);
  return app;
}

/** `/openapi/<surface>.json` for client generators, and an explorer at `/docs` listing every surface. */
async function registerDocs(app: FastifyInstance) {
  const specs = new Map<string, unknown>([
    ['messenger', messengerSpec],
    ['rocketchat', rocketChatSpec],
    ['identity', identitySpec],
  ]);
  app.get<{ Params: { surface: string } }>('/openapi/:surface', { schema: { hide: true } }, async (request, reply) => {
    const spec = specs.get(path.basename(request.params.surface, '.json'));
    if (!spec || !request.params.surface.endsWith('.json')) return reply.code(404).send({ error: true, reason: 'No such specification' });
    return spec;
  });
  await app.register(fastifySwagger, { mode: 'static', specification: { document: messengerSpec as never } });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    staticCSP: docsCsp,
    uiConfig: {
      urls: surfaces.map((surface) => ({ url: `/openapi/${surface}.json`, name: surface })),
      'urls.primaryName': 'messenger',
      // No badge fetched from validator.swagger.io (the page's policy allows this origin only).
      validatorUrl: null,
    } as never,
  });
}
