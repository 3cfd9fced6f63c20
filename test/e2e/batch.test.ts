// `imgdesc batch` end to end: the built CLI against a local recording relay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import type { ChildProcess } from 'node:child_process';
import { completion, sendJson, type Handler, type RecordedRequest, type TestServer, serverPool } from '../helpers/server.ts';
import { TOKEN, fixture, noFixtures, relayEnv, run, runCli, tempDir } from '../helpers/cli.ts';

const server = serverPool();

/** Distinct small PNGs (different colours, so different bytes and hashes). */
async function makeImages(dir: string, names: string[]): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  let i = 0;
  for (const name of names) {
    const c = (i++ * 37) % 256;
    const buf = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: c, g: 255 - c, b: (c * 7) % 256 } } })
      .png()
      .toBuffer();
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), buf);
  }
  return names.map((n) => join(dir, n));
}

const names = (n: number, prefix = 'img') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}.png`);

/** The prompt text of a recorded request; batch tests use a prompt with {name} in it. */
function promptOf(req: RecordedRequest): string {
  const user = req.json?.messages?.at(-1);
  const part = user?.content?.find?.((p: { type: string }) => p.type === 'text');
  return String(part?.text ?? '');
}
/** `describe {name}` → the image's file name. */
const nameOf = (req: RecordedRequest) => promptOf(req).replace(/^describe /, '');

const answerWithName: Handler = (req, res) => sendJson(res, 200, completion(`seen ${nameOf(req)}`));

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function slow(ms: number, inner: Handler = answerWithName): Handler {
  return async (req, res, n) => {
    await delay(ms);
    await inner(req, res, n);
  };
}

function lines(text: string): any[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

function assertNoSecret(...texts: string[]) {
  for (const t of texts) assert.ok(!t.includes(TOKEN), 'the token leaked into output');
}

function tempFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.tmp')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

test('batch: concurrency reaches -c and never exceeds it; one JSON line per image', async () => {
  const srv = await gatheringServer(4);
  const dir = tempDir();
  await makeImages(join(dir, 'photos'), names(12));
  const r = await run(['batch', 'photos', '-c', '4', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(srv.maxInFlight, 4);
  assert.ok(!r.stderr.includes('most requests in flight'), 'the pipeline figures are for -v');
  assert.equal(srv.requests.length, 12);
  const recs = lines(r.stdout);
  assert.equal(recs.length, 12);
  for (const rec of recs) {
    assert.equal(rec.ok, true);
    assert.equal(rec.content, `seen ${rec.image.replace('photos/', '')}`);
    assert.equal(rec.model, 'claude-3-5-sonnet-20240620');
    assert.equal(rec.finish_reason, 'stop');
    assert.deepEqual(rec.usage, { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });
    assert.equal(typeof rec.elapsed_ms, 'number');
    assert.match(rec.sha256, /^[0-9a-f]{64}$/);
  }
  assert.deepEqual(
    recs.map((x) => x.image).sort(),
    names(12).map((n) => `photos/${n}`),
  );
  // off a TTY: no animation, only the summary, with the tokens used
  assert.match(r.stderr, /12 ok, 0 failed, 0 skipped in .*, 252 tokens/);
  assert.ok(!r.stderr.includes('\r'));
  assertNoSecret(r.stdout, r.stderr);
});

test('batch: a large folder never has more than c + 2 images prepared and waiting', async () => {
  const srv = await server(slow(40));
  const dir = tempDir();
  await makeImages(join(dir, 'p'), names(40));
  const r = await run(['batch', 'p', '-c', '2', '-v', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  const m = /most requests in flight: (\d+);.*most images prepared and waiting: (\d+)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.equal(Number(m[1]), 2);
  assert.ok(Number(m[2]) <= 4, `${m[2]} prepared and waiting`);
  assert.ok(Number(m[2]) >= 1);
});

/**
 * A relay that holds each answer until `want` requests are in flight (or 5 s after the first), so a test sees
 * the most the CLI sends at once even when a loaded machine prepares images slowly.
 */
/**
 * Holds the first requests until `want` are in flight at once (or 5 s have passed), so a batch that
 * can reach its concurrency shows it; once it has, every request is answered at once (the last few
 * of a folder would otherwise wait out the 5 s for company that never comes).
 */
async function gatheringServer(want: number): Promise<TestServer> {
  let first = 0;
  const s: TestServer = await server(async (req, res, n) => {
    first ||= Date.now();
    while (s.maxInFlight < want && Date.now() - first < 5000) await delay(10);
    await answerWithName(req, res, n);
  });
  return s;
}

test('batch: -c 1 sends one at a time; the profile setting is the default', async () => {
  const srv = await gatheringServer(4);
  const dir = tempDir();
  await makeImages(join(dir, 'p'), names(4));
  const r = await run(['batch', 'p', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(srv.maxInFlight, 4, 'default concurrency 4');
  const srv2 = await server(slow(50));
  const r2 = await run(['batch', 'p', '-c', '1', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv2.url) });
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(srv2.maxInFlight, 1);
  const configHome = tempDir('imgdesc-cfg-');
  const set = await run(['config', 'set', 'concurrency', '2'], { configHome });
  assert.equal(set.code, 0, set.stderr);
  const srv3 = await gatheringServer(2);
  const r3 = await run(['batch', 'p', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv3.url), configHome });
  assert.equal(r3.code, 0, r3.stderr);
  assert.equal(srv3.maxInFlight, 2, 'concurrency from the profile');
});

test('batch: a 429 storm (every request refused for a while) holds every worker, teaches nothing, and all end ok', async () => {
  let storm = 8;
  const srv = await server(async (req, res) => {
    if (storm > 0) {
      storm--;
      sendJson(res, 429, { error: { message: 'slow down', type: 'rate_limit' } }, { 'retry-after-ms': '150' });
      return;
    }
    await delay(20);
    answerWithName(req, res, 0);
  });
  const dir = tempDir();
  await makeImages(join(dir, 'p'), names(16));
  const r = await run(['batch', 'p', '-c', '4', '--retries', '6', '-v', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  const recs = lines(r.stdout);
  assert.equal(recs.length, 16);
  assert.ok(recs.every((x) => x.ok));
  assert.equal(srv.requests.length, 16 + 8, 'every 429 was retried once more');
  const m = /most requests in flight: (\d+); 429s: (\d+); lowest concurrency: (\d+)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.equal(Number(m[2]), 8);
  assert.equal(Number(m[3]), 4, 'a window of 429s is waited out, not taken for a lower limit');
  assert.ok(srv.maxInFlight <= 4);
});

test('batch: images the server fails are recorded as failed, the rest written, exit 5', async () => {
  const srv = await server((req, res) => {
    const name = nameOf(req);
    if (name.startsWith('bad')) sendJson(res, 500, { error: { message: `cannot do ${name}`, code: 'boom' } });
    else answerWithName(req, res, 0);
  });
  const dir = tempDir();
  await makeImages(join(dir, 'p'), [...names(5), 'bad1.png', 'bad2.png']);
  const out = join(dir, 'results.jsonl');
  const r = await run(['batch', 'p', '-o', out, '--retries', '1', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 5, r.stderr);
  assert.equal(r.stdout, '', 'with -o nothing goes to stdout');
  const recs = lines(readFileSync(out, 'utf8'));
  assert.equal(recs.length, 7);
  const failed = recs.filter((x) => !x.ok);
  assert.deepEqual(failed.map((x) => x.image).sort(), ['p/bad1.png', 'p/bad2.png']);
  for (const f of failed) {
    assert.equal(f.error.status, 500);
    assert.equal(f.error.code, 'boom');
    assert.match(f.error.message, /cannot do bad\d\.png/);
  }
  assert.equal(srv.requests.filter((q) => nameOf(q).startsWith('bad')).length, 4, 'each bad image tried twice (--retries 1)');
  assert.match(r.stderr, /5 ok, 2 failed/);

  // A rerun retries only the failed ones (now fixed on the server side).
  srv.handler = answerWithName;
  const before = srv.requests.length;
  const r2 = await run(['batch', 'p', '-o', out, '--retries', '1', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(srv.requests.slice(before).map(nameOf).sort(), ['bad1.png', 'bad2.png']);
  assert.match(r2.stderr, /2 ok, 0 failed, 5 skipped \(5 already done\)/);
});

test('batch: a finished batch reruns with no request; an edited image is redone; a torn last line is removed', async () => {
  const srv = await server(answerWithName);
  const dir = tempDir();
  const files = await makeImages(join(dir, 'p'), names(6));
  const out = join(dir, 'r.jsonl');
  const args = ['batch', 'p', '-o', out, '-p', 'describe {name}'];
  const r1 = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(srv.requests.length, 6);

  const r2 = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(srv.requests.length, 6, 'no request on a finished batch');
  assert.match(r2.stderr, /0 ok, 0 failed, 6 skipped \(6 already done\)/);

  // edit one image (same path, new bytes) and tear the file's last line as a crash would
  const edited = await sharp({ create: { width: 30, height: 30, channels: 3, background: '#123456' } })
    .png()
    .toBuffer();
  writeFileSync(files[2] as string, edited);
  writeFileSync(out, readFileSync(out, 'utf8') + '{"image":"p/img005.png","ok":tr');
  const r3 = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r3.code, 0, r3.stderr);
  assert.equal(srv.requests.length, 7);
  assert.equal(nameOf(srv.requests[6] as RecordedRequest), 'img002.png');
  assert.match(r3.stderr, /r\.jsonl: removed an incomplete last line \(31 bytes\) left by an earlier run/);
  const all = lines(readFileSync(out, 'utf8')); // every line parses again (jq would read it)
  assert.equal(all.length, 7, '6 + the redone image; the torn line is gone');
  assert.equal(all[6].image, 'p/img002.png');
});

test('batch: Ctrl-C mid-run exits 130, leaves whole lines and sidecars; a rerun finishes each image exactly once', async () => {
  const answered = new Map<string, number>();
  let child: ChildProcess | undefined;
  let holding = false;
  let interrupts = 0;
  const srv = await server(async (req, res, n) => {
    if (holding) return; // never answered: the client aborts it
    if (n === 7 && interrupts === 0) {
      interrupts++;
      holding = true;
      // answers already sent reach the client and are recorded before the interrupt; the first
      // Ctrl-C waits for the answers in flight (never sent here), the second quits
      await delay(300);
      child?.kill('SIGINT');
      await delay(300);
      child?.kill('SIGINT');
      return;
    }
    await delay(60);
    if (holding || res.destroyed) return;
    const name = nameOf(req);
    answered.set(name, (answered.get(name) ?? 0) + 1);
    sendJson(res, 200, completion(`seen ${name} — a long answer `.repeat(50)));
  });
  const dir = tempDir();
  await makeImages(join(dir, 'p'), names(16));
  const out = join(dir, 'r.jsonl');
  const args = ['batch', 'p', '-c', '3', '-o', out, '--sidecar', '-p', 'describe {name}'];
  const r1 = await runCli(args, { cwd: dir, env: relayEnv(srv.url), onSpawn: (c) => (child = c) });
  assert.equal(r1.code, 130, r1.stderr);
  assert.match(r1.stderr, /interrupted after \d+ of 16; run the same command again to resume/);
  const firstRun = lines(readFileSync(out, 'utf8')); // every line parses: none torn
  assert.ok(firstRun.length > 0 && firstRun.length < 16, `${firstRun.length} recorded`);
  assert.deepEqual(tempFiles(dir), []);
  for (const rec of firstRun) {
    const side = join(dir, rec.image.replace(/\.png$/, '.txt'));
    assert.equal(readFileSync(side, 'utf8'), rec.content.trim() + '\n', 'sidecar whole');
  }
  const sidecars = readdirSync(join(dir, 'p')).filter((f) => f.endsWith('.txt'));
  assert.equal(sidecars.length, firstRun.length);

  holding = false;
  const r2 = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r2.code, 0, r2.stderr);
  for (const n of names(16)) assert.equal(answered.get(n), 1, `${n} answered once across both runs`);
  const all = lines(readFileSync(out, 'utf8'));
  assert.equal(all.length, 16);
  assert.deepEqual(
    all.map((x) => x.image).sort(),
    names(16).map((n) => `p/${n}`),
  );
  assert.equal(readdirSync(join(dir, 'p')).filter((f) => f.endsWith('.txt')).length, 16);
  assert.deepEqual(tempFiles(dir), []);
});

test('batch: --sidecar writes beside each image, skips existing ones unless --overwrite', async () => {
  const srv = await server(answerWithName);
  const dir = tempDir();
  await makeImages(join(dir, 'p'), names(3));
  writeFileSync(join(dir, 'p', 'img001.txt'), 'mine\n');
  const r = await run(['batch', 'p', '--sidecar', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(srv.requests.length, 2);
  assert.equal(readFileSync(join(dir, 'p', 'img000.txt'), 'utf8'), 'seen img000.png\n');
  assert.equal(readFileSync(join(dir, 'p', 'img001.txt'), 'utf8'), 'mine\n');
  assert.equal(lines(r.stdout).length, 2, 'JSON lines still go to stdout');
  // img001.txt, a sidecar itself, is not an input: the totals count images only
  assert.match(r.stderr, /2 ok, 0 failed, 1 skipped \(1 with a sidecar\)/);

  const r2 = await run(['batch', 'p', '--sidecar', 'md', '--overwrite', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(readFileSync(join(dir, 'p', 'img001.md'), 'utf8'), 'seen img001.png\n');
  const r3 = await run(['batch', 'p', '--sidecar', '--overwrite', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r3.code, 0, r3.stderr);
  assert.equal(readFileSync(join(dir, 'p', 'img001.txt'), 'utf8'), 'seen img001.png\n');
});

test('batch: --files-from - -0 reads NUL-separated paths from stdin', async () => {
  const srv = await server(answerWithName);
  const dir = tempDir();
  const files = await makeImages(join(dir, 'p'), ['a b.png', 'odd\nname.png', 'c.png']);
  const list = files.map((f) => relative(dir, f)).join('\0') + '\0';
  const r = await run(['batch', '--files-from', '-', '-0', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url), input: list });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    lines(r.stdout)
      .map((x) => x.image)
      .sort(),
    ['p/a b.png', 'p/c.png', 'p/odd\nname.png'],
  );
  assert.deepEqual(srv.requests.map(nameOf).sort(), ['a b.png', 'c.png', 'odd\nname.png']);

  // a list file, one path per line
  writeFileSync(join(dir, 'list.txt'), 'p/c.png\np/a b.png\n');
  const r2 = await run(['batch', '--files-from', 'list.txt', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(lines(r2.stdout).length, 2);
});

test('batch: quoted globs; {dir} and {path} in the prompt', async () => {
  const srv = await server((req, res) => sendJson(res, 200, completion(promptOf(req))));
  const dir = tempDir();
  await makeImages(join(dir, 'photos'), ['a.png', 'x/b.png', 'x/y/c.png', 'skip.gif.png']);
  writeFileSync(join(dir, 'photos', 'x', 'notes.png.txt'), 'hello');
  const r = await run(['batch', 'photos/x/**/*.png', '-p', '{dir}|{path}|{stem}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    lines(r.stdout)
      .map((x) => x.content)
      .sort(),
    ['photos/x/y|photos/x/y/c.png|c', 'photos/x|photos/x/b.png|b'],
  );
});

test('batch: non-images in a folder are skipped and counted; named ones fail', async () => {
  const srv = await server(answerWithName);
  const dir = tempDir();
  await makeImages(join(dir, 'p'), names(2));
  writeFileSync(join(dir, 'p', 'README.txt'), 'not an image\n');
  writeFileSync(join(dir, 'p', 'data.bin'), Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n'));
  const r = await run(['batch', 'p', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lines(r.stdout).length, 2);
  assert.match(r.stderr, /2 ok, 0 failed, 2 skipped \(2 not images\)/);

  const r2 = await run(['batch', 'p/README.txt', 'p/img000.png', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r2.code, 5, r2.stderr);
  const recs = lines(r2.stdout);
  const bad = recs.find((x) => !x.ok);
  assert.equal(bad.image, 'p/README.txt');
  assert.equal(bad.error.code, 'not-image');
});

test("batch: skip counts are the same on a first run and a rerun; the batch's own files are never inputs", async () => {
  const srv = await server(answerWithName);
  const dir = tempDir();
  await makeImages(dir, names(3));
  writeFileSync(join(dir, 'README.txt'), 'not an image\n');
  const args = ['batch', '.', '--sidecar', '--hf-metadata', '-o', 'c.jsonl', '-p', 'describe {name}'];
  const first = await run(args, { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /3 ok, 0 failed, 1 skipped \(1 not images\)/);
  // The rerun finds c.jsonl, metadata.jsonl and three sidecars beside the images: none is an input.
  const again = await run([...args, '--existing', 'overwrite'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 ok, 0 failed, 4 skipped \(3 already done, 1 not images\)/);
  // Another shard's part in the same folder is no input either.
  writeFileSync(join(dir, 'part-1.jsonl'), '');
  const sharded = await run(['batch', '.', '-o', 'part-{shard}.jsonl', '--shard', '0/2', '-p', 'describe {name}'], {
    cwd: dir,
    env: relayEnv(srv.url),
  });
  assert.doesNotMatch(sharded.stderr, /part-1\.jsonl/);
  assert.doesNotMatch(
    lines(sharded.stdout)
      .map((x) => x.image)
      .join(' '),
    /jsonl/,
  );
});

test('batch: 401 stops at once with exit 3', async () => {
  const srv = await server(async (_req, res) => {
    await delay(30);
    sendJson(res, 401, { error: { message: '无效的令牌', type: 'new_api_error', code: 'invalid_token' } });
  });
  const dir = tempDir();
  await makeImages(join(dir, 'p'), names(40));
  const r = await run(['batch', 'p', '-c', '2', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 3, r.stderr);
  assert.ok(srv.requests.length <= 4, `${srv.requests.length} requests after a 401`);
  assert.match(r.stderr, /HTTP 401.*无效的令牌/);
  assert.match(r.stderr, /imgdesc config set token/);
  const recs = lines(r.stdout);
  assert.equal(recs.length, 1);
  assert.equal(recs[0].error.status, 401);
  assertNoSecret(r.stdout, r.stderr);
});

test('batch: bad arguments exit 2 and send nothing', async () => {
  const srv = await server(answerWithName);
  const dir = tempDir();
  await makeImages(join(dir, 'p'), names(1));
  const env = relayEnv(srv.url);
  for (const args of [
    ['batch'],
    ['batch', 'p/missing.png'],
    ['batch', 'nofolder/'],
    ['batch', 'p', '-c', '0'],
    ['batch', 'p', '-0'],
    ['batch', 'p', '--overwrite'],
    ['batch', 'p', '--schema', 'a b c d'],
    ['batch', '--files-from', 'nolist.txt'],
    ['batch', 'p', '--sidecar', '../x'],
    ['batch', 'p', '-o', 'p'],
  ]) {
    const r = await run(args, { cwd: dir, env });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /error/);
  }
  assert.equal(srv.requests.length, 0);
});

test('batch: --dry-run lists each image with its prepared size and sends nothing', async () => {
  const srv = await server(answerWithName);
  const dir = tempDir();
  await makeImages(join(dir, 'p'), names(3));
  const out = join(dir, 'r.jsonl');
  const r = await run(['batch', 'p', '--dry-run', '-o', out], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(srv.requests.length, 0);
  assert.equal(existsSync(out), false, 'dry run writes no results file');
  const rows = r.stdout.trim().split('\n').sort();
  assert.equal(rows.length, 3);
  assert.match(rows[0] as string, /^p\/img000\.png: png 64x48 \d+ bytes/);
  assert.match(r.stderr, /dry run: 3 image\(s\) would be sent/);
});

test('batch: --schema adds data, -n gives content arrays, --json keeps the response', async () => {
  const srv = await server((req, res) => {
    const n = req.json?.n ?? 1;
    const body = completion('{"caption":"a square"}');
    body.choices = Array.from({ length: n }, (_, i) => ({ ...(body.choices[0] as object), index: i })) as typeof body.choices;
    sendJson(res, 200, body);
  });
  const dir = tempDir();
  await makeImages(join(dir, 'p'), names(2));
  const r = await run(['batch', 'p', '--schema', 'caption', '--json'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r.code, 0, r.stderr);
  const recs = lines(r.stdout);
  assert.deepEqual(recs[0].data, { caption: 'a square' });
  assert.equal(recs[0].response.id, 'chatcmpl-123');
  const r2 = await run(['batch', 'p', '-n', '2'], { cwd: dir, env: relayEnv(srv.url) });
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(lines(r2.stdout)[0].content, ['{"caption":"a square"}', '{"caption":"a square"}']);
});

test('batch: real fixture images, one of them corrupt', { skip: noFixtures }, async () => {
  const srv = await server(answerWithName);
  const dir = tempDir();
  mkdirSync(join(dir, 'f'));
  // sent as they are, converted (a small TIFF: an 1800x1200 photo cost ~0.3 s of CPU more), and corrupt
  for (const f of ['jpeg-baseline.jpg', 'tiff-big-endian.tif', 'gif-static.gif', 'corrupt-png.png']) {
    if (existsSync(fixture(f))) copyFileSync(fixture(f), join(dir, 'f', f));
  }
  const r = await run(['batch', 'f', '-p', 'describe {name}'], { cwd: dir, env: relayEnv(srv.url) });
  const recs = lines(r.stdout);
  const failed = recs.filter((x) => !x.ok).map((x) => x.image);
  assert.deepEqual(failed, existsSync(join(dir, 'f', 'corrupt-png.png')) ? ['f/corrupt-png.png'] : []);
  assert.equal(r.code, failed.length ? 5 : 0, r.stderr);
  assert.equal(srv.requests.length, recs.length - failed.length);
});
