// Walks every operation of every published spec: the server has a route for it, every
// documented response compiles as a schema, and the spec served at /openapi/<surface>.json
// is the committed one. Together with the per-response checks in test/helpers/contract.ts
// this makes a drift between YAML and handlers fail CI.
import t from 'tap';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import surfaces from '../src/generated/surfaces.json' with { type: 'json' };
import { startApp } from './helpers/app.ts';

type Operation = { operationId?: string; 'x-same-route-as'?: string; responses?: Record<string, { $ref?: string; content?: Record<string, { schema?: unknown }> }> };
type Spec = {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const { app, baseUrl } = await startApp(t);

for (const surface of surfaces) {
  const { default: spec } = (await import(`../src/generated/${surface}.spec.json`, { with: { type: 'json' } })) as { default: Spec };

  t.test(`${surface}: the served spec is the generated one`, async (t) => {
    const response = await fetch(`${baseUrl}/openapi/${surface}.json`);
    t.equal(response.status, 200);
    t.same(await response.json(), spec);
  });

  t.test(`${surface}: every operation is routed and documents valid response schemas`, async (t) => {
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    ajv.addFormat('binary', true);
    ajv.addSchema(spec as object, surface);
    const prefix = spec.servers?.[0]?.url ?? '';
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const label = `${method.toUpperCase()} ${prefix}${path}`;
        t.ok(operation.operationId, `${label} has an operationId`);
        t.notOk(operationIds.has(operation.operationId!), `${label}: operationId is unique`);
        operationIds.add(operation.operationId!);
        // A spelling marked x-same-route-as (`/users/`) is served by that operation's route:
        // the router ignores a trailing slash.
        const routed = operation['x-same-route-as'] ? path.replace(/\/$/, '') : path;
        if (operation['x-same-route-as']) t.equal(spec.paths[routed]?.[method]?.operationId, operation['x-same-route-as'], `${label} names its route`);
        const url = `${prefix}${routed}`.replace(/\{([^}]+)\}/g, ':$1');
        t.ok(app.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${label} is routed`);
        const responses = Object.entries(operation.responses ?? {});
        t.ok(responses.some(([status]) => status.startsWith('2') || status.startsWith('3')), `${label} documents a success`);
        for (const [status, response] of responses) {
          const resolved = response.$ref ? spec.components!.responses![response.$ref.split('/').pop()!] : response;
          for (const [type, media] of Object.entries(resolved.content ?? {})) {
            if (!media.schema) continue;
            const pointer = response.$ref
              ? `${response.$ref}/content/${type.replace('/', '~1')}/schema`
              : `#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/${method}/responses/${status}/content/${type.replace('/', '~1')}/schema`;
            t.doesNotThrow(() => ajv.compile({ $ref: `${surface}${pointer}` }), `${label} ${status} ${type} schema compiles`);
          }
        }
      }
    }
  });
}

t.test('the explorer lists every surface', async (t) => {
  const page = await fetch(`${baseUrl}/docs/static/swagger-initializer.js`);
  t.equal(page.status, 200);
  const script = await page.text();
  for (const surface of surfaces) t.match(script, `/openapi/${surface}.json`, `${surface} is in the explorer`);
});
