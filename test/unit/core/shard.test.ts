import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeShard, parseShard, resolveShard, shardFileName, shardKey, shardOf } from '../../../src/core/shard.ts';
import { UsageError } from '../../../src/types.ts';

const keys = (n: number, prefix = 'photos/') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(6, '0')}.jpg`);

test('shardOf: balanced within a few percent over 100,000 keys', () => {
  for (const n of [4, 16, 7]) {
    const counts = new Array<number>(n).fill(0);
    for (const k of keys(100_000)) counts[shardOf(k, n)]!++;
    const even = 100_000 / n;
    for (const c of counts) assert.ok(Math.abs(c - even) / even < 0.05, `${n} shards: ${counts.join(' ')}`);
  }
});

test('shardOf: stable when files are added (no key moves) and the same everywhere', () => {
  const before = new Map(keys(20_000).map((k) => [k, shardOf(k, 16)]));
  const after = [...keys(20_000), ...keys(5_000, 'photos/new/')];
  for (const k of after) if (before.has(k)) assert.equal(shardOf(k, 16), before.get(k));
  assert.equal(shardOf('a.jpg', 1), 0);
  // Pinned values: a change of hash would silently re-deal the images of arrays already running.
  assert.deepEqual(
    ['a.jpg', 'b.jpg', 'c.jpg', 'sub/d.png'].map((k) => shardOf(k, 4)),
    [3, 0, 0, 3],
  );
});

test('shardKey: / separators, no leading ./', () => {
  assert.equal(shardKey('./a/b.jpg'), 'a/b.jpg');
  assert.equal(shardKey('a\\b.jpg'), 'a/b.jpg');
  assert.equal(shardKey('a//b.jpg'), 'a/b.jpg');
  assert.equal(shardKey('b.jpg'), 'b.jpg');
});

test('parseShard: i/N from 0; out of range and malformed are usage errors', () => {
  assert.deepEqual(parseShard('0/4'), { index: 0, count: 4 });
  assert.deepEqual(parseShard('3/4'), { index: 3, count: 4 });
  assert.deepEqual(parseShard(' 2 / 16 '), { index: 2, count: 16 });
  assert.throws(() => parseShard('4/4'), /--shard 4\/4: shard index 4 is out of range for 4 shard\(s\) \(0 to 3\)/);
  assert.throws(() => parseShard('1/0'), /not a shard count/);
  assert.throws(() => parseShard('-1/4'), /expected i\/N/);
  assert.throws(() => parseShard('2'), /expected i\/N/);
  assert.throws(() => parseShard('a/b'), UsageError);
});

const shard = (env: Record<string, string>, flags: { shard?: string; shardCount?: string } = {}) => {
  const s = resolveShard({ ...flags, env });
  return s && `${s.index}/${s.count} ${s.source}`;
};

test('resolveShard: one line per engine', () => {
  assert.equal(shard({}), undefined);
  assert.equal(shard({}, { shard: '1/4' }), '1/4 flag');
  assert.equal(shard({ SLURM_ARRAY_TASK_ID: '1' }, { shard: '3/4' }), '3/4 flag');
  assert.equal(shard({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '16', SLURM_ARRAY_TASK_MIN: '0' }), '3/16 slurm');
  assert.equal(shard({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '16', SLURM_ARRAY_TASK_MIN: '1' }), '4/16 slurm');
  assert.equal(
    shard({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '8', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '2' }),
    '2/8 slurm',
  );
  assert.equal(
    shard({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_TASK_MIN: '2', IMGDESC_SHARD_COUNT: '4' }),
    '2/4 slurm',
  );
  assert.equal(
    shard({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_TASK_MIN: '2' }, { shardCount: '4' }),
    '2/4 slurm',
  );
  assert.equal(shard({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_TASK_MIN: '0' }), '0/1 slurm');
  assert.equal(shard({ JOB_COMPLETION_INDEX: '7', IMGDESC_SHARD_COUNT: '8' }), '7/8 kubernetes');
  assert.equal(shard({ JOB_COMPLETION_INDEX: '7' }, { shardCount: '10' }), '7/10 kubernetes');
  assert.equal(shard({ RANK: '1', WORLD_SIZE: '2' }), '1/2 rank');
  assert.equal(shard({ RANK: '1' }, { shardCount: '3' }), '1/3 rank');
  assert.equal(
    shard({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2', JOB_COMPLETION_INDEX: '0', RANK: '0', WORLD_SIZE: '1' }),
    '1/2 slurm',
  );
  assert.equal(shard({ SLURM_ARRAY_TASK_ID: '', IMGDESC_SHARD_COUNT: '4' }), undefined);
});

test('resolveShard: an index without a count, and other bad numbers, are usage errors', () => {
  const bad = (env: Record<string, string>, re: RegExp, flags: { shard?: string; shardCount?: string } = {}) =>
    assert.throws(
      () => resolveShard({ ...flags, env }),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
    );
  bad({ JOB_COMPLETION_INDEX: '3' }, /JOB_COMPLETION_INDEX=3 but no shard count/);
  bad({ RANK: '0' }, /RANK=0 but no WORLD_SIZE/);
  bad({ SLURM_ARRAY_TASK_ID: '3' }, /no SLURM_ARRAY_TASK_COUNT/);
  bad(
    { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_TASK_MIN: '2' },
    /array of one task: the shard count is unknown/,
  );
  bad({ SLURM_ARRAY_TASK_ID: '9', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1' }, /out of range/);
  bad({ SLURM_ARRAY_TASK_ID: '4', IMGDESC_SHARD_COUNT: '4' }, /SLURM_ARRAY_TASK_ID=4: shard index 4 is out of range/);
  bad({ JOB_COMPLETION_INDEX: '8', IMGDESC_SHARD_COUNT: '8' }, /out of range/);
  bad({ RANK: 'x', WORLD_SIZE: '2' }, /RANK=x: not a shard index/);
  bad({ JOB_COMPLETION_INDEX: '1', IMGDESC_SHARD_COUNT: '0' }, /IMGDESC_SHARD_COUNT=0: not a shard count/);
  bad({}, /--shard-count 4 without a shard index/, { shardCount: '4' });
  bad({}, /--shard 1\/4 and --shard-count 8 disagree/, { shard: '1/4', shardCount: '8' });
});

test('shardFileName: {shard} zero-padded to the widest index', () => {
  assert.equal(shardFileName('captions-{shard}.jsonl', { index: 7, count: 16 }), 'captions-07.jsonl');
  assert.equal(shardFileName('captions-{shard}.jsonl', { index: 2, count: 4 }), 'captions-2.jsonl');
  assert.equal(shardFileName('out/{shard}/c-{shard}.jsonl', { index: 3, count: 1000 }), 'out/003/c-003.jsonl');
  assert.equal(shardFileName('plain.jsonl', { index: 3, count: 4 }), 'plain.jsonl');
});

test('describeShard names the engine', () => {
  const s = resolveShard({ env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0' } });
  assert.equal(
    describeShard(s!),
    'shard 3/4 from SLURM job array (SLURM_ARRAY_TASK_ID=3 − SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_COUNT=4)',
  );
  assert.match(
    describeShard(resolveShard({ env: { JOB_COMPLETION_INDEX: '1', IMGDESC_SHARD_COUNT: '2' } })!),
    /^shard 1\/2 from Kubernetes Indexed Job \(JOB_COMPLETION_INDEX=1, IMGDESC_SHARD_COUNT=2\)$/,
  );
});
