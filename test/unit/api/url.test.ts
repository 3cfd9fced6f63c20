import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isInsecureRemote, resolveEndpoints } from '../../../src/api/url.ts';
import { CliError } from '../../../src/types.ts';

// [input, expected chat URL, expected base]
const cases: [string, string, string][] = [
  ['https://h', 'https://h/v1/chat/completions', 'https://h/v1'],
  ['https://h/', 'https://h/v1/chat/completions', 'https://h/v1'],
  ['https://h/v1', 'https://h/v1/chat/completions', 'https://h/v1'],
  ['https://h/v1/', 'https://h/v1/chat/completions', 'https://h/v1'],
  ['https://h/v1/chat/completions', 'https://h/v1/chat/completions', 'https://h/v1'],
  ['https://h/v1/chat/completions/', 'https://h/v1/chat/completions', 'https://h/v1'],
  ['https://h/v1/models', 'https://h/v1/chat/completions', 'https://h/v1'],
  ['https://h/openai/v1', 'https://h/openai/v1/chat/completions', 'https://h/openai/v1'],
  ['https://h/openai', 'https://h/openai/v1/chat/completions', 'https://h/openai/v1'],
  ['https://h/openai/', 'https://h/openai/v1/chat/completions', 'https://h/openai/v1'],
  ['  https://h/v1 \n', 'https://h/v1/chat/completions', 'https://h/v1'],
  ['https://H.example.COM:8443/v1', 'https://h.example.com:8443/v1/chat/completions', 'https://h.example.com:8443/v1'],
  ['http://127.0.0.1:3000', 'http://127.0.0.1:3000/v1/chat/completions', 'http://127.0.0.1:3000/v1'],
  ['http://[::1]:3000/v1', 'http://[::1]:3000/v1/chat/completions', 'http://[::1]:3000/v1'],
  ['https://h/api/paas/v4', 'https://h/api/paas/v4/chat/completions', 'https://h/api/paas/v4'],
  ['https://h/v1?x=1#frag', 'https://h/v1/chat/completions', 'https://h/v1'],
];

describe('resolveEndpoints', () => {
  for (const [input, chat, base] of cases) {
    it(`${JSON.stringify(input)} → ${chat}`, () => {
      const e = resolveEndpoints(input);
      assert.equal(e.chat, chat);
      assert.equal(e.base, base);
      assert.equal(e.models, `${base}/models`);
      assert.equal(e.origin, new URL(chat).origin);
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
      assert.throws(() => resolveEndpoints(input), (e: unknown) => e instanceof CliError && e.exitCode === 2 && re.test(e.message));
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
