// Every number has limits, said in the message; stored values are checked by the same rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanToken, parseSetting, parseStoredValue } from '../../../src/config/keys.ts';
import { checkProfile, resolveSettings } from '../../../src/config/settings.ts';
import { ExitCode } from '../../../src/types.ts';

const refused = (key: Parameters<typeof parseSetting>[0], text: string, message: RegExp) =>
  assert.throws(
    () => parseSetting(key, text),
    (e: { exitCode: number; message: string }) => e.exitCode === ExitCode.usage && message.test(e.message),
    `${key} ${text}`,
  );

test('numbers out of range or in odd notation are refused with their limits', () => {
  refused('timeout', '3000000', /--timeout: must be 0 \(no timeout\) or between 0\.1 and 86400 \(got '3000000'\)/);
  refused('timeout', '1e9', /expected a number 0 \(no timeout\) or between 0\.1 and 86400/);
  refused('timeout', '-1', /expected a number/);
  refused('concurrency', '99999999999999999999', /--concurrency: must be between 1 and 64/);
  refused('concurrency', '1e6', /expected a whole number between 1 and 64/);
  refused('concurrency', '0', /must be between 1 and 64/);
  refused('n', '99999999', /--n: must be between 1 and 128/);
  refused('max-tokens', '1e30', /expected a whole number between 1 and 1000000/);
  refused('retries', '-1', /expected a whole number between 0 and 20/);
  refused('max-edge', '8', /between 16 and 16384/);
  refused('max-bytes', '10', /between 1K and 1G/);
  refused('temperature', 'NaN', /expected a number between 0 and 2/);
  refused('model', '', /--model: may not be empty/);
  refused('model', '  ', /may not be empty/);
});

test('numbers within limits are taken; --timeout 0 means none', () => {
  assert.equal(parseSetting('timeout', '0'), 0);
  assert.equal(parseSetting('timeout', '2.5'), 2.5);
  assert.equal(parseSetting('concurrency', '64'), 64);
  assert.equal(parseSetting('n', '128'), 128);
  assert.equal(parseSetting('retries', '0'), 0);
  assert.equal(parseSetting('system', ''), '');
  assert.equal(resolveSettings({ flags: { timeout: 0 }, env: {}, profileName: 'default', profile: undefined }).timeoutMs, 0);
});

test('stored values: parsed like typed text, numbers checked, wrong types named', () => {
  assert.deepEqual(parseStoredValue('max-edge', 1024), { value: 1024 });
  assert.deepEqual(parseStoredValue('max-edge', '1024'), { value: 1024 });
  assert.deepEqual(parseStoredValue('max-bytes', '5M'), { value: 5 * 1024 * 1024 });
  assert.deepEqual(parseStoredValue('max-edge', -3), { problem: 'must be between 16 and 16384 (got -3)' });
  assert.deepEqual(parseStoredValue('timeout', 1e9), { problem: 'must be 0 (no timeout) or between 0.1 and 86400 (got 1000000000)' });
  assert.deepEqual(parseStoredValue('resize', 'nope'), { problem: "expected true or false (got 'nope')" });
  assert.deepEqual(parseStoredValue('model', ''), { problem: "may not be empty (got '')" });
  assert.deepEqual(parseStoredValue('model', 3), { problem: 'expected text (got 3)' });
  assert.deepEqual(parseStoredValue('resize', null), { problem: 'expected true or false (got null)' });
});

test('a hand-edited profile value names the config key and profile (exit 3)', () => {
  assert.throws(
    () => checkProfile('work', { 'max-edge': -3 }, '/x/config.json'),
    (e: { exitCode: number; message: string; hint: string }) =>
      e.exitCode === ExitCode.config &&
      e.message === "config key 'max-edge' in profile 'work': must be between 16 and 16384 (got -3)" &&
      /config set max-edge <value> --profile work/.test(e.hint),
  );
  assert.deepEqual(checkProfile('default', { 'max-edge': '800', 'future-key': 1 }, '/x'), { 'max-edge': 800 });
  assert.equal(checkProfile('default', undefined, '/x'), undefined);
});

test('cleanToken, one line per case', () => {
  assert.equal(cleanToken('sk-abc123'), 'sk-abc123');
  assert.equal(cleanToken('  sk-abc123\n'), 'sk-abc123');
  assert.equal(cleanToken('Bearer sk-abc123'), 'sk-abc123');
  assert.equal(cleanToken('bearer   sk-abc123'), 'sk-abc123');
  assert.deepEqual(cleanToken('Bearer '), { problem: 'empty token' });
  assert.deepEqual(cleanToken('sk-a\nsk-b'), { problem: 'the token spans several lines; paste the token alone' });
  assert.deepEqual(cleanToken('sk-a sk-b'), { problem: 'the token contains a space; paste the token alone' });
  assert.deepEqual(cleanToken('sk-a\x07'), { problem: 'the token contains a control or non-ASCII character' });
  assert.deepEqual(cleanToken('sk-ä'), { problem: 'the token contains a control or non-ASCII character' });
});

test('base-url: spaces, quotes or brackets after a pasted URL are refused; the query string is kept', () => {
  refused(
    'base-url',
    'https://h.example/v1 junk',
    /--base-url: a URL cannot contain spaces, quotes or brackets \(got 'https:\/\/h\.example\/v1 junk'\)/,
  );
  refused('base-url', 'https://h.example/v1"', /cannot contain/);
  refused('base-url', '<https://h.example/v1>', /cannot contain/);
  assert.equal(parseSetting('base-url', ' https://h.example/v1?api-version=2024-10-21 '), 'https://h.example/v1?api-version=2024-10-21');
  assert.throws(
    () => resolveSettings({ flags: {}, env: { IMGDESC_BASE_URL: 'https://h.example junk' }, profileName: 'default', profile: undefined }),
    /IMGDESC_BASE_URL: a URL cannot contain spaces/,
  );
});
