import { Ajv, type Options } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS with a default export; under NodeNext it arrives wrapped.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsImport as unknown as { default?: AddFormats }).default ??
  addFormatsImport) as unknown as AddFormats;

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false };

// Bodies are JSON and must already have the right types: "42" is not a number there, and
// unknown fields are refused, not stripped. URL parts are strings by nature and are coerced.
const bodyAjv = new Ajv({ ...common, coerceTypes: false });
const urlAjv = new Ajv({ ...common, coerceTypes: 'array' });
for (const ajv of [bodyAjv, urlAjv]) addFormats(ajv);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : urlAjv;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};
