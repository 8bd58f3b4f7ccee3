import Fastify from 'fastify';
import { installSecurityHeaders } from '../src/http/security-headers.ts';
const v = process.env.VARIANT!;
const app = Fastify({ logger: { level: 'warn' } });
const found: Record<string, string> = {};
{ const f = Fastify(); installSecurityHeaders(f); f.get('/', async () => 'x'); await f.ready(); const r = await f.inject('/'); for (const [k, val] of Object.entries(r.headers)) if (!['content-type','content-length','date','connection'].includes(k)) found[k] = String(val); }
const pairs = Object.entries(found);
if (v === 'raw') app.addHook('onRequest', (_q, reply, done) => { for (const [k, val] of pairs) reply.raw.setHeader(k, val); done(); });
if (v === 'map') app.addHook('onRequest', (_q, reply, done) => { reply.headers(found); done(); });
if (v === 'bytes') { const big = pairs.map(([k, val]) => `${k}: ${val}`).join(' | '); app.addHook('onRequest', (_q, reply, done) => { reply.raw.setHeader('x-all', big); done(); }); }
app.get('/', async () => ({ status: 'ok' }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
