// One generic bounded pipeline: preparers turn items into work, workers carry the work out.
// A preparer takes a slot before it starts an item and a worker gives it back when it takes the
// work, so at most `maxPrepared` items are prepared but not yet taken, however long the list.
// The first error (of either stage) stops both: preparers start nothing more, workers drain the
// queue without running it, and `runPipeline` rejects with that error once everything has settled.
import { abortable } from '../types.ts';

export interface PipelineOptions<I, W> {
  /** A list, or a stream of items read as the preparers ask for them (`imgdesc map`). */
  items: readonly I[] | AsyncIterable<I>;
  /** Returns the work for an item, or undefined when there is none (skipped, failed, planned). */
  prepare(item: I, signal: AbortSignal): Promise<W | undefined>;
  /** Absent: prepare alone does everything (a dry run). */
  work?: ((w: W, signal: AbortSignal) => Promise<void>) | undefined;
  preparers: number;
  workers: number;
  maxPrepared: number;
  signal: AbortSignal;
}

export interface PipelineStats {
  /** Most items prepared and waiting for a worker at once. */
  peakPrepared: number;
}

export async function runPipeline<I, W>(opts: PipelineOptions<I, W>): Promise<PipelineStats> {
  const stop = new AbortController();
  const signal = AbortSignal.any([opts.signal, stop.signal]);
  const stats: PipelineStats = { peakPrepared: 0 };
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
    stop.abort();
  };

  let free = Math.max(1, opts.maxPrepared);
  const slotWaiters: Array<() => void> = [];
  const takeSlot = async () => {
    while (free <= 0) await abortable<void>((settle) => slotWaiters.push(() => settle()), signal);
    free--;
  };
  const giveSlot = () => {
    free++;
    slotWaiters.shift()?.();
  };

  const queue: W[] = [];
  const takers: Array<(w: W | undefined) => void> = [];
  let closed = false;
  let waiting = 0;
  const put = (w: W) => {
    stats.peakPrepared = Math.max(stats.peakPrepared, ++waiting);
    const t = takers.shift();
    if (t) t(w);
    else queue.push(w);
  };
  const take = (): Promise<W | undefined> => {
    if (queue.length) return Promise.resolve(queue.shift());
    if (closed) return Promise.resolve(undefined);
    return new Promise((r) => takers.push(r));
  };

  let next = 0;
  const items = opts.items;
  const stream = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : undefined;
  const nextItem = async (): Promise<I | undefined> => {
    if (!stream) return (items as readonly I[])[next++];
    // A stream may wait on its source (stdin) for ever: stopping must not wait with it.
    const r = await abortable<IteratorResult<I>>((settle, fail) => void stream.next().then(settle, fail), signal);
    return r.done ? undefined : r.value;
  };
  const preparer = async () => {
    while (!signal.aborted) {
      await takeSlot();
      const item = await nextItem();
      if (item === undefined) {
        giveSlot();
        return;
      }
      let w: W | undefined;
      try {
        w = await opts.prepare(item, signal);
      } catch (error) {
        giveSlot();
        throw error;
      }
      if (w === undefined || !opts.work) giveSlot();
      else put(w);
    }
  };
  const worker = async (work: (w: W, signal: AbortSignal) => Promise<void>) => {
    for (;;) {
      const w = await take();
      if (w === undefined) return;
      waiting--;
      giveSlot();
      if (signal.aborted) continue; // drain without running
      await work(w, signal).catch(fail);
    }
  };

  const work = opts.work;
  const workers = work ? Array.from({ length: Math.max(1, opts.workers) }, () => worker(work)) : [];
  await Promise.all(
    Array.from({ length: Math.max(1, opts.preparers) }, () =>
      preparer().catch((error: unknown) => {
        // Once stopping, what a preparer was doing ends in errors of the stop's making.
        if (!signal.aborted) fail(error);
      }),
    ),
  );
  closed = true;
  for (const t of takers.splice(0)) t(undefined);
  await Promise.all(workers);
  if (failure) throw failure.error;
  return stats;
}
