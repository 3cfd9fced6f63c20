// Past one machine, end to end in-process: batch shards, per-shard outputs, merge, manifests, map.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { completion, sendJson, startServer, type Handler, type RecordedRequest, type TestServer } from '../helpers/server.ts';
import { relayEnv, run, runCli, tempDir } from '../helpers/cli.ts';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function server(handler?: Handler): Promise<TestServer> {
  const s = await startServer(handler ?? echo());
  servers.push(s);
  return s;
}

/** The prompt of a request; these tests use `-p 'describe {name}'`. */
const promptOf = (req: RecordedRequest): string => (req.json?.messages?.at(-1)?.content?.[0]?.text as string) ?? '';

/** Answers `caption of <name>`, after `delay(name)` ms; `fail(name)` answers 500 instead. */
function echo(opts: { delay?: (name: string) => number; fail?: (name: string) => boolean } = {}): Handler {
  return async (req, res) => {
    const name = promptOf(req).replace(/^describe /, '');
    const ms = opts.delay?.(name) ?? 0;
    if (ms) await new Promise((r) => setTimeout(r, ms));
    if (opts.fail?.(name)) return sendJson(res, 500, { error: { message: 'upstream broke', type: 'server_error' } });
    sendJson(res, 200, completion(`caption of ${name}`));
  };
}

async function png(seed: number): Promise<Buffer> {
  const c = (seed * 37) % 256;
  return sharp({ create: { width: 32, height: 24, channels: 3, background: { r: c, g: 255 - c, b: (seed * 11) % 256 } } })
    .png()
    .toBuffer();
}

/** A folder of n distinct PNGs, two levels deep. */
async function photos(dir: string, n: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${i % 3 === 0 ? 'sub/' : ''}img${String(i).padStart(3, '0')}.png`;
    mkdirSync(join(dir, 'photos', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'photos', name), await png(i));
    names.push(`photos/${name}`);
  }
  return names;
}

const records = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

const ARGS = ['--retries', '0', '-p', 'describe {name}'];

test('batch --shard: four shards take every image exactly once; -o {shard} per shard; merge joins them', async () => {
  const srv = await server();
  const dir = tempDir();
  const all = await photos(dir, 40);
  // Not an image: batch skips it without a record, so merge must not call it missing.
  writeFileSync(join(dir, 'photos', 'notes.txt'), 'shot list');
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await run(['batch', 'photos', '-r', '--shard', `${i}/4`, '-o', 'c-{shard}.jsonl', '-v', ...ARGS], {
      cwd: dir,
      env: relayEnv(srv.url),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`shard ${i}/4 from --shard \\(--shard ${i}/4\\): \\d+ of 41 image\\(s\\)`));
    const recs = records(readFileSync(join(dir, `c-${i}.jsonl`), 'utf8'));
    assert.ok(recs.length > 3 && recs.length < 18, `shard ${i}: ${recs.length}`);
    for (const rec of recs) {
      assert.equal(rec.shard, i);
      assert.deepEqual(Object.keys(rec).slice(0, 3), ['image', 'shard', 'ok']);
      seen.push(rec.image);
    }
  }
  assert.deepEqual([...seen].sort(), [...all].sort());
  assert.equal(srv.requests.length, 40);

  const m = await run(
    ['merge', 'c-0.jsonl', 'c-1.jsonl', 'c-2.jsonl', 'c-3.jsonl', '-o', 'all.jsonl', '--input', 'photos', '-r', '--shard-count', '4'],
    { cwd: dir },
  );
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stderr, /40 image\(s\) from 40 record\(s\) in 4 part\(s\): 40 ok, 0 failed → all\.jsonl/);
  assert.match(m.stderr, /no image is missing \(41 listed\)/);
  assert.equal(records(readFileSync(join(dir, 'all.jsonl'), 'utf8')).length, 40);

  // A lost part: merge names what is missing, by shard, and exits 5.
  rmSync(join(dir, 'c-2.jsonl'));
  const lost = await run(['merge', 'c-0.jsonl', 'c-1.jsonl', 'c-3.jsonl', '--input', 'photos', '-r', '--shard-count', '4'], { cwd: dir });
  assert.equal(lost.code, 5);
  assert.match(
    lost.stderr,
    /error: \d+ of 41 listed image\(s\) are missing from every part; by shard: 2 \(\d+\)\nhint: run those array tasks again: --shard i\/4\n/,
  );
  assert.equal(records(lost.stdout).length, records(readFileSync(join(dir, 'all.jsonl'), 'utf8')).filter((r) => r.shard !== 2).length);
  const silent = await run(['merge', 'c-0.jsonl', 'c-1.jsonl', 'c-3.jsonl', '--shard-count', '4', '-q'], { cwd: dir });
  assert.equal(silent.code, 5);
  assert.match(silent.stderr, /no records from shard\(s\) 2 of 4/);
});

test('batch shards from the engine environment; -v says which; bad shard settings are exit 2 and send nothing', async () => {
  const srv = await server();
  const dir = tempDir();
  await photos(dir, 8);
  const slurm = { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_MIN: '4' };
  const s = await run(['batch', 'photos', '-r', '-v', '-o', 'p-{shard}.jsonl', ...ARGS], { cwd: dir, env: relayEnv(srv.url, slurm) });
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, /shard 1\/2 from SLURM job array \(SLURM_ARRAY_TASK_ID=5 − SLURM_ARRAY_TASK_MIN=4, SLURM_ARRAY_TASK_COUNT=2\)/);
  assert.ok(readdirSync(dir).includes('p-1.jsonl'));
  const k = await run(['batch', 'photos', '-r', '-v', '--dry-run', ...ARGS], {
    cwd: dir,
    env: relayEnv(srv.url, { JOB_COMPLETION_INDEX: '2', IMGDESC_SHARD_COUNT: '3' }),
  });
  assert.equal(k.code, 0, k.stderr);
  assert.match(k.stderr, /shard 2\/3 from Kubernetes Indexed Job/);
  const rank = await run(['batch', 'photos', '-r', '-v', '--dry-run', ...ARGS], {
    cwd: dir,
    env: relayEnv(srv.url, { RANK: '0', WORLD_SIZE: '4' }),
  });
  assert.match(rank.stderr, /shard 0\/4 from RANK\/WORLD_SIZE/);
  const before = srv.requests.length;
  for (const [args, env, re] of [
    [['--shard', '4/4'], {}, /--shard 4\/4: shard index 4 is out of range for 4 shard\(s\) \(0 to 3\)/],
    [[], { JOB_COMPLETION_INDEX: '1' }, /JOB_COMPLETION_INDEX=1 but no shard count/],
    [
      [],
      { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_TASK_MIN: '2' },
      /array of one task: the shard count is unknown/,
    ],
    [['-o', 'x-{shard}.jsonl'], {}, /-o x-\{shard\}\.jsonl: \{shard\} needs a shard/],
    [['--shard-count', '3'], {}, /--shard-count 3 without a shard index/],
  ] as const) {
    const r = await run(['batch', 'photos', '-r', ...args, ...ARGS], { cwd: dir, env: relayEnv(srv.url, env) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
  }
  assert.equal(srv.requests.length, before);
});

test('a rerun of a failed shard redoes only its missing images; merge keeps the ok over the failure', async () => {
  let broken = true;
  const srv = await server(echo({ fail: (name) => broken && name.endsWith('1.png') }));
  const dir = tempDir();
  await photos(dir, 30);
  const first = await run(['batch', 'photos', '-r', '--shard', '1/3', '-o', 'c-{shard}.jsonl', ...ARGS], {
    cwd: dir,
    env: relayEnv(srv.url),
  });
  const recs = records(readFileSync(join(dir, 'c-1.jsonl'), 'utf8'));
  const failed = recs.filter((r) => !r.ok).map((r) => r.image);
  assert.ok(failed.length > 0, 'some image of shard 1 ends in 1.png');
  assert.equal(first.code, 5);
  broken = false;
  const sent = srv.requests.length;
  const again = await run(['batch', 'photos', '-r', '--shard', '1/3', '-o', 'c-{shard}.jsonl', ...ARGS], {
    cwd: dir,
    env: relayEnv(srv.url),
  });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    srv.requests
      .slice(sent)
      .map((r) => `photos/${promptOf(r).replace('describe ', '')}`)
      .sort(),
    [...failed].map((f) => f.replace('photos/sub/', 'photos/')).sort(),
  );
  const m = await run(['merge', 'c-1.jsonl'], { cwd: dir });
  assert.equal(m.code, 0, m.stderr);
  const merged = records(m.stdout);
  assert.equal(merged.length, recs.length);
  assert.ok(merged.every((r) => r.ok === true));
});

test('batch --manifest: CSV rows with paths, URLs and data: URLs; id and row in records; resume by id', async () => {
  const srv = await server((_req, res) => sendJson(res, 200, completion('a caption')));
  const dir = tempDir();
  mkdirSync(join(dir, 'set', 'imgs'), { recursive: true });
  writeFileSync(join(dir, 'set', 'imgs', 'a.png'), await png(1));
  const data = `data:image/png;base64,${(await png(2)).toString('base64')}`;
  writeFileSync(
    join(dir, 'set', 'rows.csv'),
    `key,image,caption,width\nk1,imgs/a.png,"first, with a comma",32\nk2,"${data}",second,32\nk3,https://images.example/c.jpg,third,640\n`,
  );
  // --pass-url: the URL row reaches the relay as given (by default it would be fetched here, and tests stay on loopback)
  const args = [
    'batch',
    '--manifest',
    'set/rows.csv',
    '--id-col',
    'key',
    '--keep-cols',
    'caption',
    '-o',
    'out.jsonl',
    '--pass-url',
    ...ARGS,
  ];
  const r = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  const recs = records(readFileSync(join(dir, 'out.jsonl'), 'utf8'));
  const byId = Object.fromEntries(recs.map((x) => [x.id, x]));
  assert.equal(byId.k1.image, 'set/imgs/a.png');
  assert.deepEqual(byId.k1.row, { caption: 'first, with a comma' });
  assert.equal(byId.k2.image, 'k2');
  assert.equal(byId.k3.image, 'https://images.example/c.jpg');
  assert.deepEqual(Object.keys(byId.k1).at(-1), 'row');
  const urls = srv.requests.map((q) => q.json.messages.at(-1).content[1].image_url.url as string);
  assert.ok(urls.some((u) => u === 'https://images.example/c.jpg'));
  assert.equal(urls.filter((u) => u.startsWith('data:image/png')).length, 2);
  const sent = srv.requests.length;
  const again = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(srv.requests.length, sent, 'every row was done already');
  for (const [extra, re] of [
    [['--manifest', 'set/rows.csv', '--image-col', 'pic'], /set\/rows\.csv: no column "pic" \(columns: key, image, caption, width\)/],
    [['--manifest', 'nope.csv'], /--manifest nope\.csv: cannot read \(ENOENT\)/],
    [['photos', '--manifest', 'set/rows.csv'], /--manifest takes the place of inputs/],
    [['set', '--id-col', 'key'], /--id-col goes with --manifest/],
  ] as const) {
    const bad = await run(['batch', ...extra, ...ARGS], { cwd: dir, env: relayEnv(srv.url) });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, re);
  }
});

test('map: records out in the order of the lines in, whatever order they finish; bad lines answered in place', async () => {
  // Earlier lines answer later: without the reordering the output would come out backwards.
  const srv = await server(echo({ delay: (name) => 200 - Number(/\d+/.exec(name)?.[0] ?? 0) * 20 }));
  const dir = tempDir();
  const names = await photos(dir, 8);
  const lines = names.map((n, i) => (i === 3 ? '{"oops"' : i === 5 ? JSON.stringify(n) : JSON.stringify({ image: n, n: i })));
  lines.splice(6, 0, JSON.stringify({ other: 'x' }));
  const r = await run(['map', '-c', '8', ...ARGS], { cwd: dir, env: relayEnv(srv.url), input: lines.join('\n') + '\n' });
  assert.equal(r.code, 5, r.stderr);
  const out = records(r.stdout);
  assert.equal(out.length, lines.length);
  assert.deepEqual(
    out.map((x) => (x.ok ? x.image : `${x.image} ${x.error.code}`)),
    [names[0], names[1], names[2], 'stdin:4 bad_row', names[4], names[5], 'stdin:7 bad_row', names[6], names[7]],
  );
  assert.deepEqual(out[0]?.row, { n: 0 });
  assert.equal(out[1]?.content, `caption of ${names[1]?.split('/').at(-1)}`);
  assert.match(r.stderr, /stdin:4: not JSON/);
  assert.match(r.stderr, /stdin:7: no image in column "image"/);
  assert.ok(srv.maxInFlight > 1, 'requests overlapped');
  const tty = await run(['map', '--dry-run'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(tty.code, 2);
});

test('map as a real process in a pipe: reads to the end of stdin, answers every line, exits', async () => {
  const srv = await server();
  const dir = tempDir();
  const names = await photos(dir, 5);
  const r = await runCli(['map', '-c', '3', '--id-col', 'k', ...ARGS], {
    cwd: dir,
    env: relayEnv(srv.url),
    input: names.map((n, i) => JSON.stringify({ image: n, k: `id${i}` })).join('\n'),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    records(r.stdout).map((x) => [x.id, x.image, x.ok]),
    names.map((n, i) => [`id${i}`, n, true]),
  );
});
