import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { retryAfterMs, retryDelayMs, shouldRetry } from '../../../src/api/retry.ts';

describe('shouldRetry', () => {
  const statuses: [number, boolean][] = [
    [400, false], [401, false], [402, false], [403, false], [404, false], [405, false],
    [408, true], [409, true], [413, false], [422, false], [429, true],
    [500, true], [502, true], [503, true], [504, true], [520, true], [529, true], [599, true],
    [200, false], [301, false],
  ];
  for (const [status, expected] of statuses) {
    it(`HTTP ${status} → ${expected}`, () => assert.equal(shouldRetry({ status }), expected));
  }
  it('connection errors → true', () => assert.equal(shouldRetry({ connectionError: true }), true));
  it('timeouts → true', () => assert.equal(shouldRetry({ timeout: true }), true));
  it('nothing known → false', () => assert.equal(shouldRetry({}), false));
  it('x-should-retry: true overrides a 400', () => assert.equal(shouldRetry({ status: 400, headers: { 'x-should-retry': 'true' } }), true));
  it('x-should-retry: false overrides a 503', () => assert.equal(shouldRetry({ status: 503, headers: { 'x-should-retry': 'false' } }), false));
  it('x-should-retry: other values are ignored', () => assert.equal(shouldRetry({ status: 503, headers: { 'x-should-retry': 'maybe' } }), true));
});

describe('retryDelayMs', () => {
  const noJitter = () => 0;
  const fullJitter = () => 1;
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('backs off 0.5 s · 2^n, capped at 8 s', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map((n) => retryDelayMs(n, undefined, noJitter)), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });
  it('jitter takes off at most 25 %', () => {
    assert.equal(retryDelayMs(0, {}, fullJitter), 375);
    assert.equal(retryDelayMs(4, {}, fullJitter), 6000);
    assert.equal(retryDelayMs(1, {}, () => 0.5), 875);
    for (let i = 0; i < 200; i++) {
      const d = retryDelayMs(2, undefined);
      assert.ok(d >= 1500 && d <= 2000, String(d));
    }
  });
  it('a random() outside [0,1] is clamped', () => {
    assert.equal(retryDelayMs(0, {}, () => 7), 375);
    assert.equal(retryDelayMs(0, {}, () => -1), 500);
  });

  const headerCases: [string, Record<string, string>, number][] = [
    ['retry-after-ms', { 'retry-after-ms': '1234' }, 1234],
    ['retry-after-ms wins over retry-after', { 'retry-after-ms': '200', 'retry-after': '30' }, 200],
    ['retry-after seconds', { 'retry-after': '3' }, 3000],
    ['retry-after fractional seconds', { 'retry-after': '1.5' }, 1500],
    ['retry-after 0', { 'retry-after': '0' }, 0],
    ['retry-after HTTP date', { 'retry-after': 'Wed, 01 Jan 2025 00:00:07 GMT' }, 7000],
    ['retry-after capped at 60 s', { 'retry-after': '3600' }, 60_000],
    ['retry-after-ms capped at 60 s', { 'retry-after-ms': '600000' }, 60_000],
    ['date capped at 60 s', { 'retry-after': 'Wed, 01 Jan 2025 01:00:00 GMT' }, 60_000],
  ];
  for (const [name, headers, expected] of headerCases) {
    it(`${name} → ${expected} ms (no jitter)`, () => assert.equal(retryDelayMs(3, headers, fullJitter, now), expected));
  }

  const ignored: [string, Record<string, string>][] = [
    ['garbage retry-after', { 'retry-after': 'soon' }],
    ['negative retry-after-ms', { 'retry-after-ms': '-5' }],
    ['empty retry-after-ms', { 'retry-after-ms': '' }],
    ['a date in the past', { 'retry-after': 'Tue, 31 Dec 2024 23:59:00 GMT' }],
  ];
  for (const [name, headers] of ignored) {
    it(`${name} → own backoff`, () => {
      assert.equal(retryAfterMs(headers, now), undefined);
      assert.equal(retryDelayMs(1, headers, noJitter, now), 1000);
    });
  }
});
