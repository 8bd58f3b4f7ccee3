// The shared OpenAPI meta-schema (src/http/openapi-meta-schema.ts): compiled once for all
// mounts, and still checking every spec it is given.
import t from 'tap';
import Fastify from 'fastify';
import { sharesMetaSchema } from '../../src/http/openapi-meta-schema.ts';
import { mountSpecification } from '../../src/http/openapi.ts';

const handlers = { ping: async () => ({ ok: true }) };
const spec = (responses: unknown) => ({
  openapi: '3.1.0',
  info: { title: 'probe', version: '1' },
  paths: { '/ping': { get: { operationId: 'ping', responses } } },
});

t.ok(sharesMetaSchema, 'the validator still has the method the shared compilation wraps');

t.test('every mount checks its own spec against the meta-schema', async (t) => {
  const mount = async (responses: unknown) => {
    const app = Fastify();
    t.teardown(() => app.close());
    await app.register(async (instance) => mountSpecification(instance, { specification: spec(responses), handlers } as never));
    await app.ready();
    return app;
  };
  const first = await mount({ 200: { description: 'pong' } });
  t.equal((await first.inject('/ping')).statusCode, 200, 'a valid spec mounts and routes');
  const second = await mount({ 200: { description: 'pong again' } });
  t.equal((await second.inject('/ping')).statusCode, 200, 'a second valid spec mounts with the shared compilation');
  // responses must be an object of Response objects: a string is caught by the meta-schema.
  await t.rejects(mount({ 200: 'not a response' }), /valid specification/, 'an invalid spec is still refused');
});
