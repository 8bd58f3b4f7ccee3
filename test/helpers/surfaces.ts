// Every published surface's operations, read from src/generated/*.spec.json, with a small
// seeded sampler of valid and malformed values. The reliability tests walk these, so a
// surface or operation that lands later is covered without touching the tests.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const generated = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/generated');

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Schema = Record<string, any>;
export type Spec = Record<string, any>;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  surface: string;
  /** `/api`, `/api/v1`, `/_matrix/identity`: the spec's first server URL. */
  prefix: string;
  method: string;
  /** The spec's path template (`/users/{id}`). */
  path: string;
  operationId: string;
  /** Alternatives; `{}` means anonymous access is allowed. */
  security: Array<Record<string, string[]>>;
  parameters: Parameter[];
  body?: { required: boolean; content: Record<string, Schema | undefined> };
  responses: Record<string, Schema>;
}

export interface Surface {
  name: string;
  spec: Spec;
  prefix: string;
  operations: Operation[];
}

export function loadSurfaces(): Surface[] {
  const names = JSON.parse(readFileSync(path.join(generated, 'surfaces.json'), 'utf8')) as string[];
  return names.map((name) => {
    const spec = JSON.parse(readFileSync(path.join(generated, `${name}.spec.json`), 'utf8')) as Spec;
    const prefix = String(spec.servers?.[0]?.url ?? '').replace(/\/+$/, '');
    return { name, spec, prefix, operations: operationsOf(name, spec, prefix) };
  });
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Follows local `$ref`s (`#/components/...`) until a concrete node. */
export function deref(spec: Spec, node: any, seen = 0): any {
  if (!node || typeof node !== 'object' || !node.$ref || seen > 20) return node;
  const parts = String(node.$ref).replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let target: any = spec;
  for (const part of parts) target = target?.[part];
  return deref(spec, target, seen + 1);
}

function operationsOf(surface: string, spec: Spec, prefix: string): Operation[] {
  const operations: Operation[] = [];
  for (const [template, item] of Object.entries<any>(spec.paths ?? {})) {
    const shared = (item.parameters ?? []).map((p: any) => deref(spec, p));
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const own = (op.parameters ?? []).map((p: any) => deref(spec, p));
      const byKey = new Map<string, any>();
      for (const p of [...shared, ...own]) byKey.set(`${p.in}:${p.name}`, p);
      const body = deref(spec, op.requestBody);
      const content: Record<string, Schema | undefined> = {};
      for (const [type, media] of Object.entries<any>(body?.content ?? {})) content[type] = media?.schema;
      const responses: Record<string, Schema> = {};
      for (const [status, response] of Object.entries<any>(op.responses ?? {})) responses[status] = deref(spec, response);
      operations.push({
        surface,
        prefix,
        method: method.toUpperCase(),
        path: template,
        operationId: op.operationId ?? `${method} ${template}`,
        security: op.security ?? spec.security ?? [],
        parameters: [...byKey.values()].map((p) => ({ name: p.name, in: p.in, required: Boolean(p.required || p.in === 'path'), schema: p.schema ?? {} })),
        body: body ? { required: Boolean(body.required), content } : undefined,
        responses,
      });
    }
  }
  return operations;
}

/** The security scheme names an operation accepts, and whether it also accepts anonymous calls. */
export function securityOf(op: Operation): { schemes: string[]; anonymous: boolean } {
  const schemes = new Set<string>();
  let anonymous = op.security.length === 0;
  for (const alternative of op.security) {
    const names = Object.keys(alternative);
    if (names.length === 0) anonymous = true;
    names.forEach((n) => schemes.add(n));
  }
  return { schemes: [...schemes], anonymous };
}

/** Is this body the surface's own error envelope? */
export function isErrorEnvelope(surface: string, body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const b = body as Record<string, unknown>;
  switch (surface) {
    case 'messenger':
      return b.error === true && typeof b.reason === 'string';
    case 'rocketchat':
      return b.success === false || (b.status === 'error' && typeof b.message === 'string');
    case 'identity':
      return typeof b.errcode === 'string' && typeof b.error === 'string';
    default:
      // A surface this list does not know yet: at least a JSON object.
      return true;
  }
}

/** Seeded PRNG (mulberry32): the same seed gives the same requests. */
export class Random {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const UUID = () => '3f0b7c9e-8d1a-4b2c-9e5f-0a1b2c3d4e5f';

/** Merges allOf and picks the first of oneOf/anyOf: good enough to sample. */
function concrete(spec: Spec, schema: Schema | undefined): Schema {
  let s = deref(spec, schema) ?? {};
  if (s.allOf) {
    const merged: Schema = { type: 'object', properties: {}, required: [] };
    for (const part of s.allOf.map((p: Schema) => concrete(spec, p))) {
      Object.assign(merged.properties, part.properties ?? {});
      merged.required.push(...(part.required ?? []));
      if (part.type && part.type !== 'object') merged.type = part.type;
    }
    s = merged;
  }
  if (s.oneOf || s.anyOf) s = { ...concrete(spec, (s.oneOf ?? s.anyOf)[0]), ...(s.properties ? { properties: s.properties } : {}) };
  return s;
}

function typeOf(s: Schema): string {
  if (Array.isArray(s.type)) return s.type.find((t: string) => t !== 'null') ?? 'null';
  if (s.type) return s.type;
  if (s.properties) return 'object';
  if (s.items) return 'array';
  if (s.enum) return typeof s.enum[0];
  return 'string';
}

/**
 * A value that matches the schema as well as a simple sampler can: enums, consts, formats,
 * lengths and bounds; `marker` is used for free-text strings so a caller can find it later.
 */
export function sampleValid(spec: Spec, schema: Schema | undefined, marker = 'sample', depth = 0): unknown {
  const s = concrete(spec, schema);
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.example !== undefined) return s.example;
  if (s.examples?.length) return s.examples[0];
  if (s.default !== undefined && depth > 0) return s.default;
  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set<string>(s.required ?? []);
      for (const [key, prop] of Object.entries<Schema>(s.properties ?? {})) {
        if (required.has(key) || depth < 2) out[key] = sampleValid(spec, prop, marker, depth + 1);
      }
      return out;
    }
    case 'array': {
      const n = Math.max(s.minItems ?? 1, 1);
      return Array.from({ length: Math.min(n, 3) }, () => sampleValid(spec, s.items, marker, depth + 1));
    }
    case 'integer':
    case 'number': {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : min + 10);
      return Math.min(Math.max(min, 1), max);
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    default: {
      if (s.format === 'uuid') return UUID();
      if (s.format === 'email') return `${marker}@example.org`;
      if (s.format === 'uri' || s.format === 'url') return `https://example.org/${marker}`;
      if (s.format === 'date-time') return '2024-01-01T00:00:00Z';
      if (s.format === 'date') return '2024-01-01';
      const min = s.minLength ?? 0;
      const max = s.maxLength ?? 64;
      if (s.pattern) {
        const pattern = new RegExp(s.pattern, 'u');
        const fits = (c: string) => pattern.test(c) && c.length >= min && c.length <= max;
        const found = [marker, `${marker}x`.padEnd(min, 'x'), 'en', 'abcdefgh', 'a1b2c3d4', 'correct horse', UUID(), 'png', 'A', '1', ''].find(fits);
        if (found !== undefined) return found;
      }
      let text = /^[a-z]/i.test(marker) ? marker : `s${marker}`;
      while (text.length < min) text += 'x';
      return text.slice(0, Math.max(max, 1));
    }
  }
}

const HUGE_STRING = 'A'.repeat(100_000);
const UNICODE = ['ünïcødé', '名前', '😀👍🏽‍', '\u202Eevil', '\u0000nul', 'a\u0301\u0301\u0301', '\uFEFF', '\uD800', 'Ω≈ç√∫', '\r\n\t'];
const BAD_UUIDS = ['not-a-uuid', '00000000-0000-0000-0000-00000000000', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', '{3f0b7c9e-8d1a-4b2c-9e5f-0a1b2c3d4e5f}', ''];
const BAD_NUMBERS = [-1, 0, -2147483649, 2147483648, 9007199254740993, 1e308, -1e308, 1.5, -0.0001];
const BAD_STRINGS = ['', ' ', '../../etc/passwd', '/etc/passwd', 'C:\\Windows', '%00', '%2e%2e%2f', '<script>alert(1)</script>', "' OR 1=1 --", '${jndi:x}', 'null', 'NaN', '-1', '1e999', 'true'];

/** A value of any JSON type chosen to be wrong for most schemas. */
export function wrongValue(rng: Random): unknown {
  switch (rng.int(12)) {
    case 0:
      return rng.pick(BAD_NUMBERS);
    case 1:
      return rng.pick(BAD_STRINGS);
    case 2:
      return rng.pick(UNICODE);
    case 3:
      return HUGE_STRING.slice(0, rng.pick([256, 1025, 10_000, 100_000]));
    case 4:
      return null;
    case 5:
      return rng.chance(0.5);
    case 6:
      return [];
    case 7:
      return [rng.pick(BAD_STRINGS), 1, null];
    case 8:
      return {};
    case 9:
      return { nested: { deeper: [1, { x: 'y' }] }, __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } };
    case 10:
      return rng.pick(BAD_UUIDS);
    default:
      return rng.pick([...BAD_NUMBERS, ...BAD_STRINGS, ...UNICODE]);
  }
}

/** A boundary or malformed value aimed at this particular schema. */
export function boundaryValue(spec: Spec, schema: Schema | undefined, rng: Random): unknown {
  const s = concrete(spec, schema);
  const type = typeOf(s);
  if (rng.chance(0.3)) return wrongValue(rng);
  switch (type) {
    case 'integer':
    case 'number':
      return rng.pick([
        (s.minimum ?? 0) - 1,
        (s.maximum ?? 2147483647) + 1,
        s.minimum ?? 0,
        s.maximum ?? 2147483647,
        ...BAD_NUMBERS,
        String(rng.pick(BAD_NUMBERS)),
        'twelve',
      ]);
    case 'string':
      if (s.format === 'uuid') return rng.pick(BAD_UUIDS);
      return rng.pick([
        'x'.repeat((s.maxLength ?? 1000) + 1),
        'x'.repeat(Math.max((s.minLength ?? 1) - 1, 0)),
        rng.pick(UNICODE),
        rng.pick(BAD_STRINGS),
        HUGE_STRING,
        42,
      ]);
    case 'array':
      return rng.pick([[], 'not an array', Array.from({ length: (s.maxItems ?? 1000) + 1 }, () => 1), [wrongValue(rng)], [null]]);
    case 'boolean':
      return rng.pick(['yes', 0, 1, 'true', null]);
    case 'object':
      return mutateObject(spec, s, sampleValid(spec, s) as Record<string, unknown>, rng);
    default:
      return wrongValue(rng);
  }
}

/** Drops a required field, adds an extra one, or breaks one field (recursively). */
export function mutateObject(spec: Spec, schema: Schema, value: Record<string, unknown>, rng: Random): unknown {
  const s = concrete(spec, schema);
  if (!value || typeof value !== 'object' || Array.isArray(value)) return wrongValue(rng);
  const out: Record<string, unknown> = { ...value };
  const keys = Object.keys(s.properties ?? {});
  switch (rng.int(5)) {
    case 0: {
      const required: string[] = s.required ?? keys;
      if (required.length) delete out[rng.pick(required)];
      else out.unexpected = wrongValue(rng);
      return out;
    }
    case 1:
      out[rng.pick(['extra', 'isAdmin', 'id', 'userId', '__proto__', 'constructor', 'ü'])] = wrongValue(rng);
      return out;
    default: {
      if (!keys.length) return wrongValue(rng);
      const key = rng.pick(keys);
      out[key] = boundaryValue(spec, s.properties[key], rng);
      return out;
    }
  }
}

/** Fills a path template (`/chats/{id}`) from a value per parameter, URL-encoded. */
export function fillPath(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    let encoded: string;
    try {
      encoded = encodeURIComponent(String(values[name] ?? ''));
    } catch {
      encoded = '%ED%A0%80'; // a lone surrogate: percent-encoded bytes that are not UTF-8
    }
    return encoded === '' ? '%20' : encoded === '.' || encoded === '..' ? encoded.replace(/\./g, '%2E') : encoded;
  });
}
