// The browser client (web/, built into web/dist) at `/`. One route per built file
// (wildcard off), so /api, /ws, /uploads … keep their own routes and not-found handlers.
import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { projectRoot } from '../paths.ts';

export const webDist = path.join(projectRoot, 'web/dist');

export async function webClient(app: FastifyInstance, { root = webDist }: { root?: string } = {}) {
  if (!existsSync(path.join(root, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The web client is not built: run `npx tsx scripts/build-web.ts` (npm start does it).'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    // A list: with preCompressed, @fastify/static looks a string index up as none, and `/` is 404 to browsers.
    index: ['index.html'],
    decorateReply: false,
    // The .br/.gz files written by scripts/build-web.ts go out in place of the file when the
    // client accepts them (Content-Encoding, Vary: Accept-Encoding, the file's own type);
    // they get no URL of their own.
    preCompressed: true,
    globIgnore: ['**/*.br', '**/*.gz'],
    // Source maps (an older build may hold some) are never served.
    allowedPath: (pathName) => !pathName.endsWith('.map'),
    // Hashed asset names never change; index.html must be revalidated to pick up a new build.
    setHeaders: (reply, filePath) => {
      reply.header('cache-control', filePath.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
