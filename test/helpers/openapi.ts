// Validates request bodies against the official OpenAI OpenAPI description in ../shared/spec.
// Returns null when that folder is absent, so callers can skip with a message.
import { existsSync, readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { SPEC_PATH } from './shared.ts';

export { SPEC_PATH };

const SPEC_ID = 'https://imgdesc.test/openai-openapi.json';

let cached: ValidateFunction | null | undefined;

function validator(): ValidateFunction | null {
  if (cached !== undefined) return cached;
  if (!existsSync(SPEC_PATH)) return (cached = null);
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Record<string, unknown>;
  // Both packages are CommonJS; under NodeNext the default import is module.exports, whose
  // `.default` is the class / plugin itself.
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ ...spec, $id: SPEC_ID });
  cached = ajv.getSchema(`${SPEC_ID}#/components/schemas/CreateChatCompletionRequest`) ?? null;
  if (!cached) throw new Error('CreateChatCompletionRequest not found in the spec');
  return cached;
}

/** The spec's complaints about a chat-completions request body ([] = valid), or null without the spec. */
export function validateChatRequest(body: unknown): string[] | null {
  const validate = validator();
  if (!validate) return null;
  if (validate(body)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}
