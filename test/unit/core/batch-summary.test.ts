import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptySummary, summarize, billedTokens, type BatchEvent, type BatchSummary } from '../../../src/core/batch-summary.ts';
import { CliError } from '../../../src/types.ts';

const fold = (...events: BatchEvent[]): BatchSummary => events.reduce(summarize, emptySummary(5, 4, 'f'));

test('billedTokens reads total_tokens, else 0', () => {
  assert.equal(billedTokens({ total_tokens: 12 }), 12);
  assert.equal(billedTokens({ total_tokens: '12' }), 0);
  assert.equal(billedTokens(null), 0);
  assert.equal(billedTokens(undefined), 0);
});

test('summarize: one event per tally', () => {
  assert.equal(fold({ kind: 'record', ok: true }).ok, 1);
  assert.equal(fold({ kind: 'record', ok: false }).failed, 1);
  assert.equal(
    fold({ kind: 'record', ok: true, usage: { total_tokens: 7 } }, { kind: 'record', ok: false, usage: { total_tokens: 3 } }).tokens,
    10,
  );
  assert.equal(fold({ kind: 'record', ok: false, verdict: 'refused' }).verdicts.refused, 1);
  assert.equal(fold({ kind: 'record', ok: true, verdict: 'chatter' }).verdicts.chatter, 1);
  assert.equal(fold({ kind: 'skip', reason: 'done' }, { kind: 'skip', reason: 'done' }).skipped.done, 2);
  assert.equal(fold({ kind: 'skip', reason: 'not-image' }).ok, 0);
  assert.equal(fold({ kind: 'fallback-sent', usage: { total_tokens: 4 } }).tokens, 4);
  assert.deepEqual(fold({ kind: 'fallback-sent' }, { kind: 'fallback-answered' }).fallbacks, { sent: 1, ok: 1 });
  assert.equal(fold({ kind: 'cut-off' }).cutOff, 1);
  assert.equal(fold({ kind: 'model-not-found' }).modelNotFound, true);
  assert.equal(fold().lowestConcurrency, 4);
  assert.equal(fold().total, 5);
});

test('summarize: the first auth error is kept', () => {
  const a = new CliError('a', 3);
  const b = new CliError('b', 3);
  assert.equal(fold({ kind: 'auth-stop', error: a }, { kind: 'auth-stop', error: b }).authError, a);
});

test('summarize: planned requests add up the estimate; one without a cap is uncapped', () => {
  const s = fold(
    { kind: 'planned', imageTokens: 100, promptTokens: 10, outputCap: 300, unsized: 0 },
    { kind: 'planned', imageTokens: 50, promptTokens: 5, outputCap: null, unsized: 1 },
  );
  assert.equal(s.ok, 2);
  assert.deepEqual(s.estimate, { imageTokens: 150, promptTokens: 15, outputCap: 300, uncapped: 1, unsized: 1, formula: 'f' });
});

test('summarize: finished sets the gate figures and interrupted', () => {
  const s = fold({
    kind: 'finished',
    interrupted: true,
    peakInFlight: 3,
    rateLimited: 2,
    lowestConcurrency: 1,
    learned: { rate: 4.5 },
    peakPrepared: 6,
  });
  assert.deepEqual(
    [s.interrupted, s.peakInFlight, s.rateLimited, s.lowestConcurrency, s.learned, s.peakPrepared],
    [true, 3, 2, 1, { rate: 4.5 }, 6],
  );
});

test('summarize: the first relay-down stop is kept', () => {
  const first = new CliError('down', 4);
  const s = fold({ kind: 'relay-down', error: first }, { kind: 'relay-down', error: new CliError('again', 4) });
  assert.equal(s.relayDown, first);
});

test('summarize returns a new summary and leaves the old one as it was', () => {
  const before = emptySummary(1, 1, 'f');
  const after = summarize(before, { kind: 'skip', reason: 'sidecar' });
  assert.equal(before.skipped.sidecar, 0);
  assert.equal(after.skipped.sidecar, 1);
});
