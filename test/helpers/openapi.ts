// Validates request bodies against the official OpenAI OpenAPI description in ../shared/spec.
// Returns null when that folder is absent, so callers can skip with a message.
//
// Compiling the spec's CreateChatCompletionRequest with ajv costs about half a second of CPU in
// every test process that validates a body. The validator ajv generates is kept as a module
// (ajv's standalone code: the same checks, the same errors) in node_modules/.cache/imgdesc/openapi/,
// named by a hash of the spec and ajv's version, so a later process loads it in ~20 ms.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv2020 from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { keep, keptFile, SPEC_PATH } from './shared.ts';

export { SPEC_PATH };

const SPEC_ID = 'https://imgdesc.test/openai-openapi.json';
const require = createRequire(import.meta.url);

const validators = new Map<string, ValidateFunction | null>();

/** The validator of components.schemas.<name>, or null without the spec. */
function validator(name: string): ValidateFunction | null {
  const known = validators.get(name);
  if (known !== undefined) return known;
  const made = existsSync(SPEC_PATH) ? load(name) : null;
  validators.set(name, made);
  return made;
}

function load(name: string): ValidateFunction {
  const text = readFileSync(SPEC_PATH);
  const ajvVersion = (require('ajv/package.json') as { version: string }).version;
  const key = createHash('sha256').update(text).update(`\0ajv ${ajvVersion}\0allErrors\0${name}`).digest('hex').slice(0, 20);
  const file = keptFile('openapi', `${name}-${key}.cjs`);
  if (existsSync(file)) return require(file) as ValidateFunction;

  const spec = JSON.parse(text.toString('utf8')) as Record<string, unknown>;
  // Both packages are CommonJS; under NodeNext the default import is module.exports, whose
  // `.default` is the class / plugin itself.
  const ajv = new Ajv2020.default({ strict: false, allErrors: true, code: { source: true } });
  addFormats.default(ajv);
  ajv.addSchema({ ...spec, $id: SPEC_ID });
  const compiled = ajv.getSchema(`${SPEC_ID}#/components/schemas/${name}`);
  if (!compiled) throw new Error(`${name} not found in the spec`);
  // no cache (a read-only node_modules): the validator compiled here
  return keep(file, standaloneCode.default(ajv, compiled)) ? (require(file) as ValidateFunction) : compiled;
}

/** The spec's complaints about `body` as components.schemas.<name> ([] = valid), or null without the spec. */
export function validateSpecSchema(name: string, body: unknown): string[] | null {
  const validate = validator(name);
  if (!validate) return null;
  if (validate(body)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}

/** The spec's complaints about a chat-completions request body ([] = valid), or null without the spec. */
export function validateChatRequest(body: unknown): string[] | null {
  return validateSpecSchema('CreateChatCompletionRequest', body);
}
