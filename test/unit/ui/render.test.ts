import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRetry } from '../../../src/ui/render.ts';

test('formatRetry counts attempts as the client makes them', () => {
  // --retries 1: two attempts in all; the retry is the second
  assert.equal(
    formatRetry({ attempt: 2, maxAttempts: 2, retry: 1, delayMs: 500, reason: 'HTTP 503' }),
    'HTTP 503; retrying in 500 ms (attempt 2 of 2)',
  );
  assert.equal(
    formatRetry({ attempt: 3, maxAttempts: 3, retry: 2, delayMs: 1500, reason: 'ECONNRESET' }),
    'ECONNRESET; retrying in 1.5 s (attempt 3 of 3)',
  );
  // a batch's wait on a 429 uses no retry
  assert.equal(
    formatRetry({ attempt: 4, maxAttempts: 3, retry: 0, delayMs: 2000, reason: 'HTTP 429' }),
    'HTTP 429; waiting 2.0 s for the rate limit (attempt 4, no retry used)',
  );
});

test('progressLine: a rate-limit wait replaces rate and ETA', async () => {
  const { progressLine } = await import('../../../src/ui/progress.ts');
  const c = { total: 200, ok: 30, failed: 2, skipped: 5, tokens: 0 };
  assert.equal(progressLine(c, 10_000), '37/200 · 2 failed · 5 skipped · 3.2 img/s · ETA 50.9 s');
  assert.equal(progressLine(c, 10_000, 2_400), '37/200 · 2 failed · 5 skipped · waiting 3 s (rate limited)');
  assert.equal(progressLine(c, 10_000, -5), '37/200 · 2 failed · 5 skipped · 3.2 img/s · ETA 50.9 s');
});
