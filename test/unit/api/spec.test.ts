// Request bodies against components.schemas.CreateChatCompletionRequest of the official spec.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildChatBody } from '../../../src/api/request.ts';
import { validateChatRequest, SPEC_PATH } from '../../helpers/openapi.ts';

const present = validateChatRequest({}) !== null;
const skip = present ? false : `OpenAPI spec not found at ${SPEC_PATH}`;
const img = 'data:image/jpeg;base64,/9j/4AAQSkZJRg==';

describe('request bodies match the OpenAI OpenAPI description', { skip }, () => {
  const valid: [string, Parameters<typeof buildChatBody>[0]][] = [
    [
      'seed example',
      {
        model: 'claude-3-5-sonnet-20240620',
        system: 'You are a helpful assistant.',
        prompt: 'What is in this picture?',
        images: [{ url: 'https://h/x.jpg' }],
      },
    ],
    ['no system, data URL', { model: 'gpt-4o', prompt: 'describe', images: [{ url: img }] }],
    [
      'every option',
      {
        model: 'gpt-4o',
        prompt: 'p',
        system: 's',
        images: [
          { url: img, detail: 'high' },
          { url: img, detail: 'low' },
          { url: img, detail: 'auto' },
        ],
        maxTokens: 1024,
        temperature: 1.5,
      },
    ],
    ['image only', { model: 'm', prompt: '', images: [{ url: img }] }],
    [
      'extra: n, reasoning_effort, json_schema',
      {
        model: 'o4-mini',
        prompt: 'p',
        images: [{ url: img }],
        extra: {
          n: 2,
          reasoning_effort: 'low',
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: 'answer',
              strict: true,
              schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false },
            },
          },
        },
      },
    ],
  ];
  for (const [name, input] of valid) {
    it(`valid: ${name}`, () => assert.deepEqual(validateChatRequest(buildChatBody(input)), []));
  }

  // The validator must be able to say no, or the checks above prove nothing.
  const invalid: [string, unknown][] = [
    ['no messages', { model: 'm', messages: [] }],
    ['bad detail', buildChatBody({ model: 'm', prompt: 'p', images: [{ url: img, detail: 'huge' as 'low' }] })],
    ['temperature out of range', buildChatBody({ model: 'm', prompt: 'p', images: [], temperature: 3 })],
    ['image_url without url', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }],
    ['no model', { messages: [{ role: 'user', content: 'x' }] }],
  ];
  for (const [name, body] of invalid) {
    it(`invalid: ${name}`, () => assert.ok((validateChatRequest(body) ?? []).length > 0));
  }
});
