import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { runPipeline } from '../../../src/core/pipeline.ts';
import { abortable } from '../../../src/types.ts';
import { InterruptedError } from '../../../src/types.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('pipeline: every item is prepared once and worked once; never more than maxPrepared waiting', async () => {
  const done: number[] = [];
  let waiting = 0;
  let peak = 0;
  const stats = await runPipeline({
    items: range(50),
    prepare: async (i) => {
      await delay(0);
      peak = Math.max(peak, ++waiting);
      return i % 5 === 0 ? undefined : i; // some items give no work
    },
    work: async (i) => {
      waiting--;
      await delay(1);
      done.push(i);
    },
    preparers: 3,
    workers: 2,
    maxPrepared: 4,
    signal: new AbortController().signal,
  });
  assert.deepEqual(
    done.sort((a, b) => a - b),
    range(50).filter((i) => i % 5 !== 0),
  );
  assert.ok(stats.peakPrepared <= 4 && stats.peakPrepared >= 1, String(stats.peakPrepared));
});

test('pipeline: without work, prepare alone runs every item', async () => {
  const seen: number[] = [];
  await runPipeline({
    items: range(7),
    prepare: async (i) => void seen.push(i),
    preparers: 2,
    workers: 2,
    maxPrepared: 2,
    signal: new AbortController().signal,
  });
  assert.deepEqual(seen.sort(), range(7));
});

test('pipeline: a failing worker stops it: nothing more is worked, and the error comes out', async () => {
  const worked: number[] = [];
  const boom = new Error('disk full');
  await assert.rejects(
    runPipeline({
      items: range(100),
      prepare: async (i) => i,
      work: async (i) => {
        worked.push(i);
        await delay(1);
        if (i === 3) throw boom;
      },
      preparers: 2,
      workers: 2,
      maxPrepared: 4,
      signal: new AbortController().signal,
    }),
    (e) => e === boom,
  );
  assert.ok(worked.length <= 6, `${worked.length} worked after the failure`);
});

test('pipeline: a failing preparer stops it with its error', async () => {
  await assert.rejects(
    runPipeline({
      items: range(10),
      prepare: async (i) => {
        if (i === 2) throw new Error('bad schema');
        return i;
      },
      work: async () => {},
      preparers: 1,
      workers: 1,
      maxPrepared: 2,
      signal: new AbortController().signal,
    }),
    /bad schema/,
  );
});

test('pipeline: an abort stops it quietly; waiting work is drained without running', async () => {
  const ac = new AbortController();
  const worked: number[] = [];
  await runPipeline({
    items: range(100),
    prepare: async (i, signal) => {
      if (i === 5) ac.abort();
      if (signal.aborted) throw new InterruptedError();
      return i;
    },
    work: async (i) => {
      worked.push(i);
      await delay(5);
    },
    preparers: 1,
    workers: 1,
    maxPrepared: 3,
    signal: ac.signal,
  });
  assert.ok(worked.length < 6, `${worked.length} worked`);
});

test('abortable: settles, fails with the given error, or rejects InterruptedError on abort', async () => {
  const ac = new AbortController();
  assert.equal(await abortable<number>((settle) => settle(1), ac.signal), 1);
  await assert.rejects(
    abortable((_s, fail) => fail(new Error('boom')), ac.signal),
    /boom/,
  );
  assert.equal(await abortable<number>((settle) => settle(2), undefined), 2);
  const pending = abortable<void>(() => {}, ac.signal);
  ac.abort();
  await assert.rejects(pending, (e: unknown) => e instanceof InterruptedError);
  await assert.rejects(
    abortable<void>((settle) => settle(), ac.signal),
    (e: unknown) => e instanceof InterruptedError,
  );
});

test('pipeline: a stream that never yields stops on abort; a stream that throws stops it with its error', async () => {
  const ac = new AbortController();
  const stuck: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<number>>(() => {}) }) };
  const run = runPipeline({
    items: stuck,
    prepare: async (i) => i,
    work: async () => {},
    preparers: 1,
    workers: 1,
    maxPrepared: 1,
    signal: ac.signal,
  });
  ac.abort();
  await run;
  const broken: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('read failed')) }) };
  await assert.rejects(
    runPipeline({
      items: broken,
      prepare: async (i) => i,
      work: async () => {},
      preparers: 1,
      workers: 1,
      maxPrepared: 1,
      signal: new AbortController().signal,
    }),
    /read failed/,
  );
});
