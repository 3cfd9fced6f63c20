import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isInsecureRemote, resolveEndpoints } from '../../../src/api/url.ts';
import { CliError } from '../../../src/types.ts';

// [input, expected chat URL, expected models URL, stored form]
const cases: [string, string, string, string][] = [
  // anything else: /v1 appended
  ['https://h', 'https://h/v1/chat/completions', 'https://h/v1/models', 'https://h/v1'],
  ['https://h/', 'https://h/v1/chat/completions', 'https://h/v1/models', 'https://h/v1'],
  ['https://h/relay', 'https://h/relay/v1/chat/completions', 'https://h/relay/v1/models', 'https://h/relay/v1'],
  ['  https://h/v1 \n', 'https://h/v1/chat/completions', 'https://h/v1/models', 'https://h/v1'],
  [
    'https://H.example.COM:8443/v1',
    'https://h.example.com:8443/v1/chat/completions',
    'https://h.example.com:8443/v1/models',
    'https://h.example.com:8443/v1',
  ],
  ['http://127.0.0.1:3000', 'http://127.0.0.1:3000/v1/chat/completions', 'http://127.0.0.1:3000/v1/models', 'http://127.0.0.1:3000/v1'],
  // a version segment or /openai: the API root as given
  ['https://h/v1', 'https://h/v1/chat/completions', 'https://h/v1/models', 'https://h/v1'],
  ['https://h/v1/', 'https://h/v1/chat/completions', 'https://h/v1/models', 'https://h/v1'],
  ['http://[::1]:3000/v1', 'http://[::1]:3000/v1/chat/completions', 'http://[::1]:3000/v1/models', 'http://[::1]:3000/v1'],
  ['https://h/openai/v1', 'https://h/openai/v1/chat/completions', 'https://h/openai/v1/models', 'https://h/openai/v1'],
  ['https://h/openai', 'https://h/openai/chat/completions', 'https://h/openai/models', 'https://h/openai'],
  [
    'https://generativelanguage.googleapis.com/v1beta/openai/',
    'https://generativelanguage.googleapis.com/v1beta/openai/chat/completions',
    'https://generativelanguage.googleapis.com/v1beta/openai/models',
    'https://generativelanguage.googleapis.com/v1beta/openai',
  ],
  [
    'https://dashscope.aliyuncs.com/compatible-mode/v1',
    'https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions',
    'https://dashscope.aliyuncs.com/compatible-mode/v1/models',
    'https://dashscope.aliyuncs.com/compatible-mode/v1',
  ],
  [
    'https://ark.cn-beijing.volces.com/api/v3',
    'https://ark.cn-beijing.volces.com/api/v3/chat/completions',
    'https://ark.cn-beijing.volces.com/api/v3/models',
    'https://ark.cn-beijing.volces.com/api/v3',
  ],
  [
    'https://open.bigmodel.cn/api/paas/v4',
    'https://open.bigmodel.cn/api/paas/v4/chat/completions',
    'https://open.bigmodel.cn/api/paas/v4/models',
    'https://open.bigmodel.cn/api/paas/v4',
  ],
  [
    'https://openrouter.ai/api/v1',
    'https://openrouter.ai/api/v1/chat/completions',
    'https://openrouter.ai/api/v1/models',
    'https://openrouter.ai/api/v1',
  ],
  [
    'https://api.groq.com/openai/v1',
    'https://api.groq.com/openai/v1/chat/completions',
    'https://api.groq.com/openai/v1/models',
    'https://api.groq.com/openai/v1',
  ],
  ['https://h/v2alpha1', 'https://h/v2alpha1/chat/completions', 'https://h/v2alpha1/models', 'https://h/v2alpha1'],
  // a pasted model list URL: its folder is the root
  ['https://h/v1/models', 'https://h/v1/chat/completions', 'https://h/v1/models', 'https://h/v1'],
  // ending in /chat/completions: the endpoint itself, exactly; models is its sibling
  ['https://h/v1/chat/completions', 'https://h/v1/chat/completions', 'https://h/v1/models', 'https://h/v1/chat/completions'],
  ['https://h/v1/chat/completions/', 'https://h/v1/chat/completions', 'https://h/v1/models', 'https://h/v1/chat/completions'],
  [
    'https://odd.example/api/chat/completions',
    'https://odd.example/api/chat/completions',
    'https://odd.example/api/models',
    'https://odd.example/api/chat/completions',
  ],
  ['https://h/chat/completions', 'https://h/chat/completions', 'https://h/models', 'https://h/chat/completions'],
  // the query string is kept on every request; a fragment is dropped
  ['https://h/v1?x=1#frag', 'https://h/v1/chat/completions?x=1', 'https://h/v1/models?x=1', 'https://h/v1?x=1'],
  [
    'https://r.openai.azure.com/openai?api-version=2024-10-21',
    'https://r.openai.azure.com/openai/chat/completions?api-version=2024-10-21',
    'https://r.openai.azure.com/openai/models?api-version=2024-10-21',
    'https://r.openai.azure.com/openai?api-version=2024-10-21',
  ],
  [
    'https://h/x/chat/completions?api-version=1',
    'https://h/x/chat/completions?api-version=1',
    'https://h/x/models?api-version=1',
    'https://h/x/chat/completions?api-version=1',
  ],
];

describe('resolveEndpoints', () => {
  for (const [input, chat, models, stored] of cases) {
    it(`${JSON.stringify(input)} → ${chat}`, () => {
      const e = resolveEndpoints(input);
      assert.deepEqual([e.chat, e.models, e.stored], [chat, models, stored]);
      assert.equal(e.origin, new URL(chat).origin);
      // the stored form means the same endpoints
      const again = resolveEndpoints(e.stored);
      assert.deepEqual([again.chat, again.models, again.stored], [chat, models, stored]);
    });
  }

  const bad: [string, RegExp][] = [
    ['', /invalid base URL '': it is empty/],
    ['   ', /it is empty/],
    ['ftp://h/v1', /only http and https/],
    ['h.example.com/v1', /add https:\/\/ in front/],
    ['localhost:8080', /add https:\/\/ in front/],
    ['not a url', /invalid base URL 'not a url'/],
    ['https://', /invalid base URL/],
    ['file:///etc/passwd', /only http and https/],
  ];
  for (const [input, re] of bad) {
    it(`rejects ${JSON.stringify(input)} with exit 2`, () => {
      assert.throws(
        () => resolveEndpoints(input),
        (e: unknown) => e instanceof CliError && e.exitCode === 2 && re.test(e.message),
      );
    });
  }

  it('rejects credentials in the URL without echoing them', () => {
    assert.throws(
      () => resolveEndpoints('https://user:sk-secret@h/v1'),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && !e.message.includes('sk-secret'),
    );
  });
});

describe('isInsecureRemote', () => {
  const table: [string, boolean][] = [
    ['http://api.example.com', true],
    ['http://192.168.1.10:3000/v1', true],
    ['https://api.example.com', false],
    ['http://localhost:3000', false],
    ['http://LOCALHOST', false],
    ['http://relay.localhost', false],
    ['http://127.0.0.1:8080', false],
    ['http://127.5.6.7', false],
    ['http://[::1]:8080', false],
    ['http://0.0.0.0:8080', false],
    ['garbage', false],
  ];
  for (const [input, expected] of table) {
    it(`${input} → ${expected}`, () => assert.equal(isInsecureRemote(input), expected));
  }
});
