// Shards: which images one task of a job array takes. Every task lists the same inputs and keeps
// the images whose stable key hashes to its index, so adding files never moves others between
// shards and every image belongs to exactly one. The index and count come from `--shard i/N` or
// from the engine that started the task (SLURM job arrays, Kubernetes Indexed Jobs, RANK/WORLD_SIZE).
import { hash } from 'node:crypto';
import { UsageError } from '../types.ts';

export type ShardSource = 'flag' | 'slurm' | 'kubernetes' | 'rank';

export interface Shard {
  /** 0 … count−1. */
  index: number;
  count: number;
  source: ShardSource;
  /** Where the numbers came from, for -v: `SLURM_ARRAY_TASK_ID=7 − SLURM_ARRAY_TASK_MIN=0`. */
  detail: string;
}

/**
 * The shard of a key: the first 48 bits of its sha256, modulo the count. A hash of the key alone,
 * so the answer never depends on which other keys exist.
 */
export function shardOf(key: string, count: number): number {
  if (count <= 1) return 0;
  // The one-shot hash in hex is several times faster than createHash for short keys.
  return parseInt(hash('sha256', key).slice(0, 12), 16) % count;
}

/**
 * The stable key of a path below an input root: `/` separators, no leading `./`, so the same file
 * gets the same key on Windows and POSIX and whether the root is given as `photos` or `./photos/`.
 */
export function shardKey(relativePath: string): string {
  let key = relativePath.replaceAll('\\', '/').replace(/\/{2,}/g, '/');
  while (key.startsWith('./')) key = key.slice(2);
  return key;
}

const INT = /^\d+$/;

/** A shard count: a whole number, 1 or more; `what` names it in the error. */
export function parseShardCount(text: string, what: string): number {
  const n = Number(text.trim());
  if (!INT.test(text.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${what}: not a shard count (a whole number, 1 or more)`);
  return n;
}

function index(text: string, what: string): number {
  const n = Number(text.trim());
  if (!INT.test(text.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`${what}: not a shard index (a whole number, 0 or more)`);
  return n;
}

function inRange(i: number, n: number, what: string, hint?: string): void {
  if (i >= n)
    throw new UsageError(`${what}: shard index ${i} is out of range for ${n} shard(s) (0 to ${n - 1})`, hint ? { hint } : undefined);
}

/** `--shard i/N`, counted from 0 as SLURM and Kubernetes count: `--shard 3/4` is the last of four. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UsageError(`--shard ${text}: expected i/N, e.g. --shard 0/4 (the first of four)`);
  const n = parseShardCount(m[2] ?? '', `--shard ${text}`);
  const i = index(m[1] ?? '', `--shard ${text}`);
  inRange(i, n, `--shard ${text}`);
  return { index: i, count: n };
}

export interface ShardInputs {
  /** `--shard i/N`. */
  shard?: string | undefined;
  /** `--shard-count N`. */
  shardCount?: string | undefined;
  env: Record<string, string | undefined>;
}

/**
 * Which shard this run is, or undefined for the whole set. `--shard` wins; otherwise the engine's
 * environment: SLURM first, then a Kubernetes Indexed Job, then RANK/WORLD_SIZE. The count given
 * with `--shard-count` (or IMGDESC_SHARD_COUNT) overrides the engine's own.
 *
 * With a count given, a SLURM task id is the index as it is: resubmitting task 2 alone
 * (`sbatch --array=2`) must be shard 2 of N again, not shard 0 of an array of one. Without one,
 * the index is the task id less SLURM_ARRAY_TASK_MIN (over the step), and the count
 * SLURM_ARRAY_TASK_COUNT; a one-task array whose id is not 0 is refused, since that is what a
 * resubmission looks like and it would otherwise take every image.
 */
export function resolveShard({ shard, shardCount, env }: ShardInputs): Shard | undefined {
  const given = shardCount !== undefined ? parseShardCount(shardCount, `--shard-count ${shardCount}`) : undefined;
  if (shard !== undefined) {
    const s = parseShard(shard);
    if (given !== undefined && given !== s.count) throw new UsageError(`--shard ${shard} and --shard-count ${shardCount} disagree`);
    return { ...s, source: 'flag', detail: `--shard ${s.index}/${s.count}` };
  }
  const envCount = env.IMGDESC_SHARD_COUNT?.trim()
    ? parseShardCount(env.IMGDESC_SHARD_COUNT, `IMGDESC_SHARD_COUNT=${env.IMGDESC_SHARD_COUNT}`)
    : undefined;
  const explicit = given ?? envCount;
  const countFrom = given !== undefined ? `--shard-count ${given}` : `IMGDESC_SHARD_COUNT=${envCount}`;
  const set = (name: string) => env[name] !== undefined && env[name]?.trim() !== '';

  if (set('SLURM_ARRAY_TASK_ID')) {
    const id = index(env.SLURM_ARRAY_TASK_ID ?? '', `SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID}`);
    if (explicit !== undefined) {
      inRange(
        id,
        explicit,
        `SLURM_ARRAY_TASK_ID=${id}`,
        'with a shard count given, array task ids are the shard indexes: submit --array=0-N-1',
      );
      return { index: id, count: explicit, source: 'slurm', detail: `SLURM_ARRAY_TASK_ID=${id}, ${countFrom}` };
    }
    if (!set('SLURM_ARRAY_TASK_COUNT')) {
      throw new UsageError(`SLURM_ARRAY_TASK_ID=${id} but no SLURM_ARRAY_TASK_COUNT`, { hint: 'set --shard-count or IMGDESC_SHARD_COUNT' });
    }
    const n = parseShardCount(env.SLURM_ARRAY_TASK_COUNT ?? '', `SLURM_ARRAY_TASK_COUNT=${env.SLURM_ARRAY_TASK_COUNT}`);
    const min = set('SLURM_ARRAY_TASK_MIN') ? index(env.SLURM_ARRAY_TASK_MIN ?? '', `SLURM_ARRAY_TASK_MIN=${env.SLURM_ARRAY_TASK_MIN}`) : 0;
    const step = set('SLURM_ARRAY_TASK_STEP')
      ? parseShardCount(env.SLURM_ARRAY_TASK_STEP ?? '', `SLURM_ARRAY_TASK_STEP=${env.SLURM_ARRAY_TASK_STEP}`)
      : 1;
    if (n === 1 && id !== 0) {
      throw new UsageError(`SLURM_ARRAY_TASK_ID=${id} in an array of one task: the shard count is unknown`, {
        hint: 'a resubmitted task needs the count of the whole array: export IMGDESC_SHARD_COUNT=N (or --shard-count N) in the job script',
      });
    }
    const offset = id - min;
    if (offset < 0 || offset % step !== 0) {
      throw new UsageError(`SLURM_ARRAY_TASK_ID=${id} does not fit the array (min ${min}, step ${step})`, {
        hint: 'set --shard-count or IMGDESC_SHARD_COUNT',
      });
    }
    const i = offset / step;
    inRange(i, n, `SLURM_ARRAY_TASK_ID=${id}`, 'for an array with gaps, set --shard-count or IMGDESC_SHARD_COUNT');
    return {
      index: i,
      count: n,
      source: 'slurm',
      detail: `SLURM_ARRAY_TASK_ID=${id} − SLURM_ARRAY_TASK_MIN=${min}${step > 1 ? `, step ${step}` : ''}, SLURM_ARRAY_TASK_COUNT=${n}`,
    };
  }
  if (set('JOB_COMPLETION_INDEX')) {
    const i = index(env.JOB_COMPLETION_INDEX ?? '', `JOB_COMPLETION_INDEX=${env.JOB_COMPLETION_INDEX}`);
    if (explicit === undefined) {
      throw new UsageError(`JOB_COMPLETION_INDEX=${i} but no shard count`, {
        hint: "set --shard-count N or IMGDESC_SHARD_COUNT to the Job's completions",
      });
    }
    inRange(i, explicit, `JOB_COMPLETION_INDEX=${i}`);
    return { index: i, count: explicit, source: 'kubernetes', detail: `JOB_COMPLETION_INDEX=${i}, ${countFrom}` };
  }
  if (set('RANK')) {
    const i = index(env.RANK ?? '', `RANK=${env.RANK}`);
    const n = explicit ?? (set('WORLD_SIZE') ? parseShardCount(env.WORLD_SIZE ?? '', `WORLD_SIZE=${env.WORLD_SIZE}`) : undefined);
    if (n === undefined)
      throw new UsageError(`RANK=${i} but no WORLD_SIZE`, { hint: 'set WORLD_SIZE, --shard-count or IMGDESC_SHARD_COUNT' });
    inRange(i, n, `RANK=${i}`);
    return { index: i, count: n, source: 'rank', detail: `RANK=${i}, ${explicit !== undefined ? countFrom : `WORLD_SIZE=${n}`}` };
  }
  if (given !== undefined) {
    throw new UsageError(`--shard-count ${given} without a shard index`, {
      hint: 'give --shard i/N, or run inside a SLURM array, a Kubernetes Indexed Job or with RANK set',
    });
  }
  return undefined;
}

/** `captions-{shard}.jsonl` → `captions-07.jsonl` for shard 7 of 16 (zero-padded to the widest index). */
export function shardFileName(template: string, shard: Pick<Shard, 'index' | 'count'>): string {
  const width = String(shard.count - 1).length;
  return template.replaceAll('{shard}', String(shard.index).padStart(width, '0'));
}

/** `-o captions-{shard}.jsonl` → this shard's file; without a shard, `{shard}` is a usage error. */
export function shardOutput(template: string, shard: Shard | undefined): string {
  if (!template.includes('{shard}')) return template;
  if (!shard)
    throw new UsageError(`-o ${template}: {shard} needs a shard`, {
      hint: 'give --shard i/N, or run inside a SLURM array, a Kubernetes Indexed Job or with RANK set',
    });
  return shardFileName(template, shard);
}

/** One line for -v: which engine set the shard, and the numbers. */
export function describeShard(shard: Shard): string {
  const engine = { flag: '--shard', slurm: 'SLURM job array', kubernetes: 'Kubernetes Indexed Job', rank: 'RANK/WORLD_SIZE' }[shard.source];
  return `shard ${shard.index}/${shard.count} from ${engine} (${shard.detail})`;
}
