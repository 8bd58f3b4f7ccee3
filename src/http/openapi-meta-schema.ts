// fastify-openapi-glue makes a new Validator for every mount, and each compiles the whole
// OpenAPI meta-schema with ajv (~170 ms on this machine) before it checks the spec. Three
// surfaces paid that three times at every start (npm run bench, cold start). The compiled
// meta-schema depends only on the OpenAPI version, so one per version serves every mount.

import { Validator } from '@seriousme/openapi-schema-validator';

type MetaSchemaCheck = (specification: unknown) => boolean;
type ValidatorInternals = {
  ajvOptions: Record<string, unknown>;
  getAjvValidator?: (this: ValidatorInternals, version: string) => MetaSchemaCheck;
};

const internals = Validator.prototype as unknown as ValidatorInternals;
const compileMetaSchema = internals.getAjvValidator;
const compiled = new Map<string, MetaSchemaCheck>();

/** True when the shared compilation is in place (false if a new library version renamed the method). */
export const sharesMetaSchema = typeof compileMetaSchema === 'function';

if (compileMetaSchema) {
  internals.getAjvValidator = function sharedMetaSchema(this: ValidatorInternals, version: string) {
    let check = compiled.get(version);
    if (!check) {
      // The published meta-schema needs no check against its own meta-schema, and code that
      // runs three times no optimising: together half the compile time.
      this.ajvOptions = { ...this.ajvOptions, validateSchema: false, code: { optimize: false } };
      check = compileMetaSchema.call(this, version);
      compiled.set(version, check);
    }
    return check;
  };
}
