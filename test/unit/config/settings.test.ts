import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseProfile, maskToken, resolveSettings } from '../../../src/config/settings.ts';
import { parseBytes, parseSetting } from '../../../src/config/keys.ts';
import { ExitCode } from '../../../src/types.ts';

const resolve = (flags = {}, env: Record<string, string> = {}, profile?: Record<string, unknown>) =>
  resolveSettings({ flags, env, profileName: 'default', profile: profile as never });

test('defaults are the seed request', () => {
  const s = resolve();
  assert.equal(s.model, undefined, 'no model is built in: one is picked from the relay');
  assert.equal(s.schemaMode, 'auto');
  assert.equal(s.prompt, 'What is in this picture? Please describe it in detail.');
  assert.equal(s.system, undefined);
  assert.equal(s.timeoutMs, 300_000);
  assert.equal(s.retries, 2);
  assert.equal(s.maxEdge, 1568);
  assert.equal(s.maxBytes, 5 * 1024 * 1024);
  assert.equal(s.maxInputBytes, 50 * 1024 * 1024);
  assert.equal(s.resize, true);
  assert.equal(s.concurrency, 4);
  assert.equal(s.validate, true);
});

test('precedence, one line per layer', () => {
  const openai = { OPENAI_BASE_URL: 'https://o', OPENAI_API_KEY: 'sk-o' };
  assert.equal(resolve({}, openai).baseUrl, 'https://o');
  assert.equal(resolve({}, openai, { 'base-url': 'https://p' }).baseUrl, 'https://p');
  assert.equal(resolve({}, { ...openai, IMGDESC_BASE_URL: 'https://e' }, { 'base-url': 'https://p' }).baseUrl, 'https://e');
  assert.equal(
    resolve({ 'base-url': 'https://f' }, { ...openai, IMGDESC_BASE_URL: 'https://e' }, { 'base-url': 'https://p' }).baseUrl,
    'https://f',
  );
  assert.equal(resolve({}, { IMGDESC_TOKEN: 'sk-e' }, { token: 'sk-p' }).token, 'sk-e');
  assert.equal(resolve({}, { IMGDESC_MODEL: 'm-e' }, { model: 'm-p' }).model, 'm-e');
  assert.equal(resolve({}, { IMGDESC_TOKEN: '  ' }, { token: 'sk-p' }).token, 'sk-p', 'blank env is unset');
});

test('profile defaults for any option, and where each value came from', () => {
  const s = resolve({ model: 'flag' }, {}, { 'max-edge': 1024, resize: false, timeout: 30, 'keep-metadata': true });
  assert.equal(s.maxEdge, 1024);
  assert.equal(s.resize, false);
  assert.equal(s.timeoutMs, 30_000);
  assert.equal(s.keepMetadata, true);
  assert.equal(s.sources.model, 'flag');
  assert.equal(s.sources['max-edge'], 'profile');
  assert.equal(s.sources.retries, 'default');
});

test('chooseProfile: flag > IMGDESC_PROFILE > active', () => {
  assert.deepEqual(chooseProfile('a', { IMGDESC_PROFILE: 'b' }, 'c'), { name: 'a', explicit: true });
  assert.deepEqual(chooseProfile(undefined, { IMGDESC_PROFILE: 'b' }, 'c'), { name: 'b', explicit: true });
  assert.deepEqual(chooseProfile(undefined, {}, 'c'), { name: 'c', explicit: false });
});

test('maskToken', () => {
  assert.equal(maskToken('sk-test-SECRET-0123456789abcdef'), 'sk-…cdef');
  assert.equal(maskToken('abcdefghijklmnop'), '…mnop');
  assert.equal(maskToken('short'), '…rt');
});

test('parseSetting, one line per case', () => {
  assert.equal(parseSetting('max-tokens', '300'), 300);
  assert.equal(parseSetting('temperature', '0.5'), 0.5);
  assert.equal(parseSetting('resize', 'false'), false);
  assert.equal(parseSetting('inline', 'yes'), true);
  assert.equal(parseSetting('max-bytes', '5M'), 5 * 1024 * 1024);
  assert.equal(parseSetting('detail', 'low'), 'low');
  for (const [key, text] of [
    ['max-tokens', '1.5'],
    ['max-tokens', '0'],
    ['max-tokens', 'x'],
    ['temperature', '2.5'],
    ['detail', 'ultra'],
    ['resize', 'maybe'],
    ['max-bytes', '5 parsecs'],
    ['timeout', ''],
  ] as const) {
    assert.throws(
      () => parseSetting(key, text),
      (e: { exitCode: number; message: string }) => e.exitCode === ExitCode.usage && e.message.includes(text),
      `${key}=${text}`,
    );
  }
});

test('parseBytes', () => {
  assert.equal(parseBytes('1024'), 1024);
  assert.equal(parseBytes('512k'), 512 * 1024);
  assert.equal(parseBytes('1.5MiB'), 1.5 * 1024 * 1024);
  assert.equal(parseBytes('2G'), 2 * 1024 ** 3);
  assert.equal(parseBytes('-1'), null);
  assert.equal(parseBytes('lots'), null);
});
