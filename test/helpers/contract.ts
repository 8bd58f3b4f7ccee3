// Checks real responses against the published spec: a body that drifts from the YAML
// fails the test that received it.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import type { Middleware } from 'openapi-fetch';

type Spec = {
  paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, { $ref?: string; content?: Record<string, unknown> }> }>>;
  components?: { responses?: Record<string, { content?: Record<string, unknown> }> };
};

const escapePointer = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');

export class ContractChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(
    readonly name: string,
    readonly spec: Spec,
  ) {
    addFormats.default(this.ajv);
    this.ajv.addFormat('binary', true);
    this.ajv.addSchema(spec as object, name);
  }

  /** The JSON schema pointer of a documented response body, or an error why there is none. */
  responsePointer(pathTemplate: string, method: string, status: number): string | undefined {
    const operation = this.spec.paths[pathTemplate]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${pathTemplate} is not in the ${this.name} spec`);
    const key = String(status) in (operation.responses ?? {}) ? String(status) : 'default';
    let response = operation.responses?.[key];
    if (!response) throw new Error(`${method} ${pathTemplate} answered ${status}, which the ${this.name} spec does not document`);
    let pointer = `#/paths/${escapePointer(pathTemplate)}/${method.toLowerCase()}/responses/${key}`;
    if (response.$ref) {
      pointer = response.$ref;
      response = this.spec.components!.responses![response.$ref.split('/').pop()!];
    }
    if (!response.content?.['application/json']) return undefined;
    return `${pointer}/content/application~1json/schema`;
  }

  /** Throws when the body does not match what the spec documents for this status. */
  check(pathTemplate: string, method: string, status: number, body: unknown): void {
    const pointer = this.responsePointer(pathTemplate, method, status);
    if (!pointer) return;
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${this.name}${pointer}` });
      this.compiled.set(pointer, validate);
    }
    if (!validate(body)) {
      throw new Error(
        `${method} ${pathTemplate} ${status}: body does not match the ${this.name} spec: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`,
      );
    }
  }

  /** An openapi-fetch middleware that checks every response a client receives. */
  middleware(): Middleware {
    return {
      onResponse: async ({ response, schemaPath, request }) => {
        const type = response.headers.get('content-type') ?? '';
        const body = type.includes('application/json') ? await response.clone().json() : undefined;
        this.check(schemaPath, request.method, response.status, body);
        return undefined;
      },
    };
  }
}
