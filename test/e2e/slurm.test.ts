// A real SLURM job array (single-node cluster: ../shared/tools/slurm-local start) runs the script
// docs/scale.md shows, over 200 images against a local relay: one task is cancelled mid-way and
// submitted again, the parts are merged, and every image is described exactly once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { shardOf } from '../../src/core/shard.ts';
import { completion, imageUrls, sendJson, startServer, type TestServer } from '../helpers/server.ts';
import { BIN, ROOT, TOKEN, run, tempDir } from '../helpers/cli.ts';

const SCRIPT = join(ROOT, 'docs', 'examples', 'caption-array.sh');

/**
 * Why the test is skipped, or false. Asked without blocking: with slurm-wlm installed but no
 * controller running, sinfo waits for it up to its timeout, and the test files sharing this process
 * go on meanwhile.
 */
async function slurmMissing(): Promise<string | false> {
  const ask = (cmd: string, args: string[]) =>
    new Promise<{ ok: boolean; stdout: string; stderr: string }>((resolve) =>
      execFile(cmd, args, { encoding: 'utf8', timeout: 15_000 }, (err, stdout, stderr) => resolve({ ok: !err, stdout, stderr })),
    );
  if (!(await ask('sh', ['-c', 'command -v sbatch'])).ok) {
    return 'skipped: sbatch is absent (install slurm-wlm and run ../shared/tools/slurm-local start; .ci/run does)';
  }
  const info = await ask('sinfo', ['-h', '-o', '%T']);
  if (!info.ok || !/idle|mixed|allocated/.test(info.stdout)) {
    return `skipped: no SLURM controller answers (sinfo: ${(info.stderr || info.stdout).trim().split('\n')[0] ?? ''}); run ../shared/tools/slurm-local start`;
  }
  return false;
}

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/**
 * Submits with sbatch and resolves once the whole array has left the queue (not even COMPLETING),
 * with what `sbatch --wait` would have exited with: the highest exit code of its tasks, 1 for a task
 * ended by a signal. (`sbatch --wait` itself polls after 2 s, then 8 s more, then 32 s: most of this
 * test's time was spent there.)
 */
async function sbatch(
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; onJob?: (id: string) => void },
): Promise<{ code: number | null; out: string }> {
  const submitted = spawnSync('sbatch', ['--parsable', ...args], { cwd: opts.cwd, env: opts.env, encoding: 'utf8' });
  const out = `${submitted.stdout}${submitted.stderr}`;
  const id = /^(\d+)/m.exec(submitted.stdout)?.[1];
  if (submitted.status !== 0 || !id) return { code: submitted.status, out };
  opts.onJob?.(id);
  await leftQueue(id);
  // The controller keeps an ended job's record for MinJobAge (300 s by default).
  const shown = spawnSync('scontrol', ['show', 'job', id], { encoding: 'utf8' });
  const ends = [...shown.stdout.matchAll(/\bExitCode=(\d+):(\d+)/g)].map((m) => (Number(m[2]) ? 1 : Number(m[1])));
  assert.ok(ends.length > 0, `scontrol show job ${id}: ${shown.stdout}${shown.stderr}`);
  return { code: Math.max(...ends), out };
}

/** Resolves once no task of job `id` is in the queue any more (not even COMPLETING). */
async function leftQueue(id: string): Promise<void> {
  // Asked without blocking: the relay the tasks talk to runs in this process.
  for (let i = 0; i < 2400; i++) {
    const q = await new Promise<{ ok: boolean; stdout: string }>((resolve) =>
      execFile('squeue', ['-h', '-j', id, '-o', '%i %T'], { encoding: 'utf8' }, (err, stdout) => resolve({ ok: !err, stdout })),
    );
    if (q.ok && q.stdout.trim() === '') return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`job ${id} still in the queue after 10 minutes`);
}

const records = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { image: string; ok: boolean; shard?: number });

test('SLURM: a 4-task array over 200 images, one task cancelled mid-way and resubmitted, merged: each image once', {
  skip: await slurmMissing(),
  timeout: 300_000,
}, async () => {
  const dir = tempDir('imgdesc-slurm-');
  mkdirSync(join(dir, 'photos', 'b'), { recursive: true });
  // The relay knows an image by its bytes (small PNGs are sent as they are).
  const nameOf = new Map<string, string>();
  const shardOfName = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const rel = `${i % 2 ? 'b/' : ''}p${String(i).padStart(3, '0')}.png`;
    const png = await sharp({ create: { width: 24, height: 16, channels: 3, background: { r: i, g: 255 - i, b: (i * 7) % 256 } } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, 'photos', rel), png);
    nameOf.set(createHash('sha256').update(png.toString('base64')).digest('hex'), `photos/${rel}`);
    shardOfName.set(`photos/${rel}`, shardOf(rel, 4));
  }

  // Task 2 is cancelled once it has had 8 answers: its later requests are held until then, so
  // some are in flight when it dies.
  let cancel: (() => void) | undefined;
  let killed = false;
  let answered2 = 0;
  const seen: string[] = [];
  const srv = await startServer(async (req, res) => {
    if (req.method === 'GET') return sendJson(res, 200, { object: 'list', data: [{ id: 'claude-sonnet-4-5', object: 'model' }] });
    const [url = ''] = imageUrls(req);
    const name =
      nameOf.get(
        createHash('sha256')
          .update(url.slice(url.indexOf(',') + 1))
          .digest('hex'),
      ) ?? 'unknown';
    seen.push(name);
    if (!killed && shardOfName.get(name) === 2) {
      if (answered2 >= 8) {
        cancel?.();
        return; // held: the task is cancelled with this request in flight
      }
      answered2++;
    }
    await new Promise((r) => setTimeout(r, 15));
    sendJson(res, 200, completion(`caption of ${name}`));
  });
  servers.push(srv);

  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(BIN, join(bin, 'imgdesc'));
  const cache = join(dir, 'home');
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: cache,
    XDG_CONFIG_HOME: cache,
    XDG_CACHE_HOME: cache,
    IMGDESC_BASE_URL: srv.url,
    IMGDESC_TOKEN: TOKEN,
    IMGDESC_MODEL: 'claude-sonnet-4-5',
    IMGDESC_SHARD_COUNT: '4',
    IMGDESC_MAX_RPS: '100',
    PHOTOS: 'photos',
    OUT: 'c',
    CONCURRENCY: '2',
    IMGDESC_STOP_GRACE: '0.5',
  };
  const common = ['--cpus-per-task=1', '--output=log-%a.txt', `--chdir=${dir}`, SCRIPT];

  const first = await sbatch(['--array=0-3', ...common], {
    cwd: dir,
    env,
    onJob: (id) => {
      cancel = () => {
        if (killed) return;
        killed = true;
        spawnSync('scancel', [`${id}_2`]);
      };
    },
  });
  assert.ok(killed, `task 2 was cancelled (sbatch: ${first.out})`);
  // sbatch (above) returned once the job left the queue: task 2 had ended too, after waiting
  // (IMGDESC_STOP_GRACE) for the answers it had in flight. A rerun must not start before that.
  assert.match(readFileSync(join(dir, 'log-2.txt'), 'utf8'), /terminated \(SIGTERM\)/, 'task 2 says it was terminated');
  const part = (i: number) => {
    try {
      return records(readFileSync(join(dir, `c-${i}.jsonl`), 'utf8'));
    } catch {
      return [];
    }
  };
  for (const i of [0, 1, 3]) {
    assert.ok(
      part(i).length > 30 && part(i).every((r) => r.ok && r.shard === i),
      `part ${i}: ${readFileSync(join(dir, `log-${i}.txt`), 'utf8')}`,
    );
  }
  const doneBefore = new Set(
    part(2)
      .filter((r) => r.ok)
      .map((r) => r.image),
  );
  assert.ok(
    doneBefore.size >= 1 && doneBefore.size < [...shardOfName.values()].filter((s) => s === 2).length,
    `task 2 stopped mid-way (${doneBefore.size} done)`,
  );
  const inFlight = new Set(seen.filter((n) => shardOfName.get(n) === 2 && !doneBefore.has(n)));
  const sentBefore = seen.length;

  const again = await sbatch(['--array=2', ...common], { cwd: dir, env });
  assert.equal(again.code, 0, `${again.out}\n${readFileSync(join(dir, 'log-2.txt'), 'utf8')}`);
  const resent = seen.slice(sentBefore);
  assert.ok(
    resent.every((n) => shardOfName.get(n) === 2 && !doneBefore.has(n)),
    'the rerun sent only what task 2 had not done',
  );

  const m = await run(
    ['merge', 'c-0.jsonl', 'c-1.jsonl', 'c-2.jsonl', 'c-3.jsonl', '-o', 'all.jsonl', '--input', 'photos', '-r', '--shard-count', '4'],
    { cwd: dir },
  );
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stderr, /no image is missing \(200 listed\)/);
  const all = records(readFileSync(join(dir, 'all.jsonl'), 'utf8'));
  assert.equal(all.length, 200);
  assert.deepEqual(all.map((r) => r.image).sort(), [...shardOfName.keys()].sort());
  assert.ok(all.every((r) => r.ok && r.shard === shardOfName.get(r.image)));

  // The relay saw every image, and none twice except what task 2 had in flight when it died.
  const counts = new Map<string, number>();
  for (const n of seen) counts.set(n, (counts.get(n) ?? 0) + 1);
  assert.equal(counts.size, 200);
  const twice = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
  assert.ok(twice.length >= 1, 'the in-flight images of the cancelled task were sent again');
  for (const n of twice) {
    assert.ok(inFlight.has(n), `${n} was sent twice but was not in flight in the cancelled task`);
    assert.equal(counts.get(n), 2);
  }
});

test('docs/scale.md shows the tested array script as it is', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'scale.md'), 'utf8');
  assert.ok(
    doc.includes('```bash\n' + readFileSync(SCRIPT, 'utf8') + '```'),
    'the SLURM section quotes docs/examples/caption-array.sh verbatim',
  );
});
