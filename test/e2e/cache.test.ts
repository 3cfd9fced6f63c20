// The answer cache and the history end to end: describe, batch and map against a recording relay,
// then `imgdesc log` and `imgdesc cache` over what they wrote.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { completion, sendJson, type Handler, type RecordedRequest, type TestServer, serverPool } from '../helpers/server.ts';
import { BIN, TOKEN, cliEnv, fixture, noFixtures, relayEnv, run, tempDir } from '../helpers/cli.ts';

const server = serverPool();

const chats = (s: TestServer) => s.requests.filter((r) => r.url.endsWith('/chat/completions'));
const promptOf = (req: RecordedRequest): string =>
  String(req.json?.messages?.at(-1)?.content?.find?.((p: { type: string }) => p.type === 'text')?.text ?? '');
/** Answers name the prompt they were asked, so a test can tell answers apart. */
const echo: Handler = (req, res) => sendJson(res, 200, completion(`answer to ${promptOf(req)}`));

/** The answer cache's files under a config home (cliEnv puts XDG_CACHE_HOME there). */
function cacheFiles(home: string): string[] {
  const dir = join(home, '.cache', 'imgdesc', 'answers');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => join(dir, f));
}
/** Every answer stored (each line whole; `lenient`: lines that do not parse yet are left out). */
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON, checked field by field
function entries(home: string, lenient = false): any[] {
  return cacheFiles(home).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{"key":'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch (err) {
          if (lenient) return [];
          throw err;
        }
      }),
  );
}
const historyFile = (home: string) => join(home, '.local', 'state', 'imgdesc', 'history.jsonl');
const historyLines = (home: string) =>
  existsSync(historyFile(home))
    ? readFileSync(historyFile(home), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];

describe('answer cache', { skip: noFixtures }, () => {
  const gif = fixture('gif-filetype.gif');

  test('a repeated describe sends one request; stderr says it was cached, -q does not; --json marks it', async () => {
    const srv = await server(echo);
    const home = tempDir();
    const opts = { env: relayEnv(srv.url), configHome: home };
    const first = await run([gif, 'what is it?'], opts);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'answer to what is it?\n');
    assert.doesNotMatch(first.stderr, /cache/);
    const again = await run([gif, 'what is it?'], opts);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, first.stdout);
    assert.match(again.stderr, /answered from the cache/);
    assert.equal(chats(srv).length, 1);
    const quiet = await run([gif, 'what is it?', '-q'], opts);
    assert.equal(quiet.stderr, '');
    const json = await run([gif, 'what is it?', '--json'], opts);
    const body = JSON.parse(json.stdout);
    assert.equal(body.cached, true);
    assert.deepEqual(body.usage, { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });
    assert.equal(body.created, 1677652288);
    assert.equal(chats(srv).length, 1);
    // 0700 folders, 0600 files
    const [file] = cacheFiles(home);
    assert.ok(file);
    assert.equal(entries(home).length, 1);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, '.cache', 'imgdesc', 'answers')).mode & 0o777, 0o700);
    assert.equal(statSync(historyFile(home)).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, '.local', 'state', 'imgdesc')).mode & 0o777, 0o700);
    // the token is in no stored file
    for (const f of [...cacheFiles(home), historyFile(home)]) assert.ok(!readFileSync(f, 'utf8').includes(TOKEN), f);
  });

  test('the same bytes under another path and as a data: URL hit; prompt, model, max-tokens, system changes miss', async () => {
    const srv = await server(echo);
    const home = tempDir();
    const opts = { env: relayEnv(srv.url), configHome: home };
    const copy = join(tempDir(), 'renamed.gif');
    copyFileSync(gif, copy);
    const dataUrl = `data:image/gif;base64,${readFileSync(gif).toString('base64')}`;
    assert.equal((await run([gif, 'q'], opts)).code, 0);
    for (const image of [copy, dataUrl]) {
      const r = await run([image, 'q'], opts);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /answered from the cache/, image.slice(0, 30));
    }
    assert.equal(chats(srv).length, 1);
    const misses = [
      [gif, 'another prompt'],
      [gif, 'q', '-m', 'gpt-4o'],
      [gif, 'q', '--max-tokens', '50'],
      [gif, 'q', '-s', 'be brief'],
      [gif, 'q', '--temperature', '0.5'],
    ];
    for (const args of misses) {
      const r = await run(args, opts);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /from the cache/, args.join(' '));
    }
    assert.equal(chats(srv).length, 1 + misses.length);
    // -n 2 to a family that takes no `n` is two requests of the n=1 body: not the n=1 answer again,
    // and both answers come back from the cache the second time.
    for (const again of [false, true]) {
      const r = await run([gif, 'q', '-n', '2'], opts);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'answer to q\n\nanswer to q\n');
      assert.equal(/from the cache/.test(r.stderr), again);
    }
    assert.equal(chats(srv).length, 3 + misses.length);
  });

  test('a batch keys a file sent as it is by the sha256 it made of it: describe of a copy hits, and a batch hits describe', async () => {
    const srv = await server(echo);
    const home = tempDir();
    const opts = { env: relayEnv(srv.url), configHome: home };
    // both sent unchanged (MANIFEST.tsv): the batch does not hash them a second time for the key
    const dir = tempDir();
    copyFileSync(fixture('jpeg-baseline.jpg'), join(dir, 'a.jpg'));
    const b = await run(['batch', dir, '-p', 'q'], opts);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(JSON.parse(b.stdout).sha256, 'e5ee4bd7adbd252263a88d3ef8f72348e25134abe7be8d05892c2dc60223370c');
    const copy = join(tempDir(), 'b.jpg');
    copyFileSync(fixture('jpeg-baseline.jpg'), copy);
    const d = await run([copy, 'q'], opts);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, /answered from the cache/);
    assert.equal(chats(srv).length, 1);
    // the other way round: described first, then a batch over a copy
    const other = tempDir();
    assert.equal((await run([fixture('jpeg-filetype.jpg'), 'q'], opts)).code, 0);
    copyFileSync(fixture('jpeg-filetype.jpg'), join(other, 'c.jpg'));
    const again = await run(['batch', other, '-p', 'q'], opts);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).cached, true);
    assert.equal(chats(srv).length, 2);
    // and the history holds the bytes' sha256 for each, however it was keyed
    for (const rec of historyLines(home).filter((r) => r.command === 'describe'))
      assert.match(rec.sha256, /^(e5ee4bd7adbd2522|fe7c7546c00a1aa1)/);
  });

  test('the key is the prepared bytes: another resize misses, the same resize of a copy hits', async () => {
    const srv = await server(echo);
    const home = tempDir();
    const opts = { env: relayEnv(srv.url), configHome: home };
    const photo = fixture('jpeg-baseline.jpg'); // 123x456
    const copy = join(tempDir(), 'copy.jpg');
    copyFileSync(photo, copy);
    assert.equal((await run([photo, 'q'], opts)).code, 0);
    const smaller = await run([photo, 'q', '--max-edge', '200'], opts);
    assert.equal(smaller.code, 0, smaller.stderr);
    assert.doesNotMatch(smaller.stderr, /from the cache/, 'resized: other bytes');
    assert.equal(chats(srv).length, 2);
    for (const args of [
      [copy, 'q', '--max-edge', '200'],
      [copy, 'q'],
    ]) {
      const r = await run(args, opts);
      assert.match(r.stderr, /answered from the cache/, args.join(' '));
    }
    assert.equal(chats(srv).length, 2);
  });

  test('--refresh asks again and replaces the answer; --no-cache neither reads nor writes', async () => {
    let n = 0;
    const srv = await server((_req, res) => sendJson(res, 200, completion(`answer ${++n}`)));
    const home = tempDir();
    const opts = { env: relayEnv(srv.url), configHome: home };
    assert.equal((await run([gif], opts)).stdout, 'answer 1\n');
    assert.equal((await run([gif, '--no-cache'], opts)).stdout, 'answer 2\n');
    assert.equal((await run([gif], opts)).stdout, 'answer 1\n', '--no-cache stored nothing');
    assert.equal((await run([gif, '--refresh'], opts)).stdout, 'answer 3\n');
    assert.equal((await run([gif], opts)).stdout, 'answer 3\n', '--refresh replaced the stored answer');
    assert.equal(chats(srv).length, 3);
    const both = await run([gif, '--refresh', '--no-cache'], opts);
    assert.equal(both.code, 2);
    // --no-cache on an empty cache writes no entry
    const fresh = tempDir();
    assert.equal((await run([gif, '--no-cache'], { ...opts, configHome: fresh })).code, 0);
    assert.equal(entries(fresh).length, 0);
    // and the profile key turns it off
    assert.equal((await run(['config', 'set', 'cache', 'false'], { configHome: fresh })).code, 0);
    assert.equal((await run([gif], { ...opts, configHome: fresh })).code, 0);
    assert.equal((await run([gif], { ...opts, configHome: fresh })).code, 0);
    assert.equal(entries(fresh).length, 0);
    assert.equal(chats(srv).length, 6);
  });

  test('refusals, cut-off and empty answers are not cached; an accepted one is', async () => {
    const answers = [
      completion("I'm sorry, I can't help with that."),
      completion('A cat on a', { finish_reason: 'length' }),
      completion(''),
      completion('A cat on a mat.'),
    ];
    let n = 0;
    const srv = await server((_req, res) => sendJson(res, 200, answers[Math.min(n++, answers.length - 1)]));
    const home = tempDir();
    const opts = { env: relayEnv(srv.url), configHome: home };
    for (let i = 0; i < 5; i++) await run([gif], opts);
    // refusal, cut off, empty (exit 4), then the accepted answer, then a hit
    assert.equal(chats(srv).length, 4);
    assert.equal(entries(home).length, 1);
    assert.equal(entries(home)[0].response.body.choices[0].message.content, 'A cat on a mat.');
    // every one of them is in the history, the failure with its error
    const h = historyLines(home);
    assert.equal(h.length, 5);
    assert.deepEqual(
      h.map((r) => [r.ok, r.cached === true]),
      [
        [true, false],
        [true, false],
        [false, false],
        [true, false],
        [true, true],
      ],
    );
    assert.ok(h[2].error.message);
  });

  test('batch: only answers its guards accepted are cached, and with --no-guards only those they would accept', async () => {
    // the answer depends on the image asked about (the prompt names it): one of each kind
    const kinds: Record<string, object> = {
      'gif-filetype.gif': completion("I'm sorry, I can't help with that."),
      'jpeg-baseline.jpg': completion('A cat on a', { finish_reason: 'length' }),
      'png-rgb.png': completion(''),
      'png-filetype.png': completion('A cat on a mat.'),
    };
    const srv = await server((req, res) => sendJson(res, 200, kinds[promptOf(req).replace('describe ', '')] ?? completion('?')));
    const home = tempDir();
    const dir = tempDir();
    for (const f of Object.keys(kinds)) copyFileSync(fixture(f), join(dir, f));
    const opts = { env: relayEnv(srv.url), configHome: home, cwd: dir };
    const batch = (...extra: string[]) => run(['batch', '.', '-p', 'describe {name}', ...extra], opts);
    const first = await batch();
    assert.equal(first.code, 5, first.stderr);
    assert.equal(chats(srv).length, 4);
    assert.deepEqual(
      entries(home).map((e) => e.response.body.choices[0].message.content),
      ['A cat on a mat.'],
    );
    // without the guards the refusal and the others are recorded as they are, and still not cached
    const loose = await batch('--no-guards');
    assert.equal(chats(srv).length, 7, 'the accepted answer is a hit, the other three are asked again');
    const recs = loose.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.ok(
      recs.some((r) => r.ok && /sorry/.test(r.content)),
      loose.stdout,
    );
    assert.equal(entries(home).length, 1);
    await batch('--no-guards');
    assert.equal(chats(srv).length, 10);
  });

  test('a torn or foreign entry is a miss, and is replaced', async () => {
    const srv = await server(echo);
    const home = tempDir();
    const opts = { env: relayEnv(srv.url), configHome: home };
    await run([gif, 'x'], opts);
    const [file] = cacheFiles(home);
    const whole = readFileSync(file as string, 'utf8');
    writeFileSync(file as string, whole.slice(0, whole.length / 2));
    const r = await run([gif, 'x'], opts);
    assert.equal(r.code, 0);
    assert.doesNotMatch(r.stderr, /from the cache/);
    // the new entry is appended (glued to the torn line) and read from there
    const text = readFileSync(file as string, 'utf8');
    assert.equal(JSON.parse(text.slice(text.lastIndexOf('{"key":'))).response.body.choices[0].message.content, 'answer to x');
    assert.match((await run([gif, 'x'], opts)).stderr, /from the cache/);
    assert.equal(chats(srv).length, 2);
  });

  test('batch: hits are marked cached with the original usage; two concurrent batches end consistent', async () => {
    const srv = await server(async (req, res) => {
      await new Promise((r) => setTimeout(r, 20));
      echo(req, res, 0);
    });
    const home = tempDir();
    const dir = tempDir();
    const names = readdirSync(fixture('.'))
      .filter((f) => /^(gif-filetype|gif-static|png-.*|jpeg-.*)\.(gif|png|jpg)$/.test(f))
      .slice(0, 6);
    assert.ok(names.length >= 3);
    for (const f of names) copyFileSync(fixture(f), join(dir, f));
    const opts = { env: relayEnv(srv.url), configHome: home, cwd: dir };
    const [a, b] = await Promise.all([
      run(['batch', '.', '-p', 'describe {name}'], opts),
      run(['batch', '.', '-p', 'describe {name}'], opts),
    ]);
    assert.ok([0, 5].includes(a.code ?? -1) && [0, 5].includes(b.code ?? -1), a.stderr + b.stderr);
    const ok = (t: string) =>
      t
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((r) => r.ok);
    const okNames = new Set(ok(a.stdout).map((r) => r.image));
    // every entry whole, one per image that was answered, and each one the answer to its own image
    // (both runs may have asked, and stored, the same image: the latest entry of a key is the one read)
    const stored = entries(home);
    assert.equal(new Set(stored.map((e) => e.key)).size, okNames.size);
    for (const e of stored) assert.match(e.response.body.choices[0].message.content, /^answer to describe /);
    const before = chats(srv).length;
    const third = await run(['batch', '.', '-p', 'describe {name}'], opts);
    assert.equal(chats(srv).length, before, 'the third run is answered from the cache');
    const recs = ok(third.stdout);
    assert.equal(recs.length, okNames.size);
    for (const r of recs) {
      assert.equal(r.cached, true);
      assert.equal(r.content, `answer to describe ${r.image.replace(/^\.\//, '')}`);
      assert.deepEqual(r.usage, { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });
      assert.equal(typeof r.elapsed_ms, 'number');
    }
    assert.match(third.stderr, new RegExp(`${okNames.size} answered from the cache`));
  });

  test('batch asked again: answered by a stat per image; a file touched or changed since is read again', async () => {
    const srv = await server(echo);
    const home = tempDir();
    const dir = tempDir();
    for (const f of ['gif-filetype.gif', 'jpeg-baseline.jpg', 'png-rgb.png']) copyFileSync(fixture(f), join(dir, f));
    // files changed moments ago are not remembered (they may change again within one tick of the clock)
    await new Promise((r) => setTimeout(r, 2100));
    const opts = { env: relayEnv(srv.url), configHome: home, cwd: dir };
    const records = (stdout: string) =>
      Object.fromEntries(
        stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
          .map((r) => [r.image.replace(/^\.\//, ''), r]),
      );
    const first = records((await run(['batch', '.', '-p', 'describe {name}'], opts)).stdout);
    assert.equal(chats(srv).length, 3);
    const memo = join(home, '.cache', 'imgdesc', 'prepared');
    assert.equal(
      readdirSync(memo)
        .filter((f) => f.endsWith('.jsonl'))
        .reduce((n, f) => n + readFileSync(join(memo, f), 'utf8').split('\n').filter(Boolean).length, 0),
      3,
      'what each file was prepared into is remembered',
    );
    // the jpeg touched (the same bytes, new times): read and prepared again, answered from the cache
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'jpeg-baseline.jpg'), later, later);
    // the png replaced by other bytes: read, prepared and asked
    copyFileSync(fixture('png-filetype.png'), join(dir, 'png-rgb.png'));
    const again = await run(['batch', '.', '-p', 'describe {name}'], opts);
    assert.equal(again.code, 0, again.stderr);
    const second = records(again.stdout);
    assert.equal(chats(srv).length, 4, 'only the changed png was sent');
    assert.equal(second['gif-filetype.gif'].cached, true);
    assert.equal(second['gif-filetype.gif'].sha256, first['gif-filetype.gif'].sha256);
    assert.equal(second['jpeg-baseline.jpg'].cached, true);
    assert.equal(second['png-rgb.png'].cached, undefined);
    assert.notEqual(second['png-rgb.png'].sha256, first['png-rgb.png'].sha256);
    // --refresh reads and asks everything again
    const fresh = await run(['batch', '.', '-p', 'describe {name}', '--refresh'], opts);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal(chats(srv).length, 7);
  });

  test('kill -9 during a batch leaves a readable cache and history (spawned)', async () => {
    const srv = await server(echo);
    const home = tempDir();
    const dir = tempDir();
    // many distinct images so that the kill lands while answers are being stored
    const sharp = (await import('sharp')).default;
    for (let i = 0; i < 60; i++) {
      const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: i * 4, g: 0, b: 0 } } })
        .png()
        .toBuffer();
      writeFileSync(join(dir, `i${String(i).padStart(3, '0')}.png`), png);
    }
    const env = cliEnv(relayEnv(srv.url), home);
    const child = spawn(process.execPath, [BIN, 'batch', '.', '-c', '8', '-q'], { cwd: dir, env, stdio: 'ignore' });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (entries(home, true).length >= 10 || child.exitCode !== null) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
    });
    await new Promise((r) => child.once('close', r));
    // every entry that is there is whole (entries() throws on a line that is not)
    const stored = new Set(entries(home).map((e) => e.key)).size;
    for (const r of historyLines(home)) assert.equal(typeof r.id, 'string');
    const before = chats(srv).length;
    // the rerun needs no process of its own: what the killed one left is read as any run reads it
    const again = await run(['batch', '.', '-q'], { cwd: dir, env: relayEnv(srv.url), configHome: home });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(chats(srv).length - before, 60 - stored);
    const info = await run(['cache', 'info', '--json'], { configHome: home });
    assert.equal(JSON.parse(info.stdout).entries, 60);
  });
});

describe('history: imgdesc log', { skip: noFixtures }, () => {
  test('records of describe, batch and map, filtered and as --json; show; clear', async () => {
    const srv = await server((req, res) =>
      promptOf(req).includes('fail')
        ? sendJson(res, 400, { error: { message: 'bad request here', type: 'invalid_request_error' } })
        : echo(req, res, 0),
    );
    const home = tempDir();
    const dir = tempDir();
    copyFileSync(fixture('gif-filetype.gif'), join(dir, 'cat.gif'));
    copyFileSync(fixture('gif-static.gif'), join(dir, 'dog.gif'));
    const opts = { env: relayEnv(srv.url), configHome: home, cwd: dir };
    assert.equal((await run(['cat.gif', 'Describe the TERRIER'], opts)).code, 0);
    assert.equal((await run(['dog.gif', 'please fail'], opts)).code, 4);
    assert.equal((await run(['batch', 'cat.gif', 'dog.gif', '-p', 'batch {name}'], opts)).code, 0);
    assert.equal((await run(['map', '-p', 'mapped'], { ...opts, input: '"dog.gif"\n' })).code, 0);
    assert.equal((await run(['cat.gif', 'no log here', '--no-log'], opts)).code, 0);

    const log = async (...args: string[]) => {
      const r = await run(['log', ...args], opts);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const json = async (...args: string[]) =>
      (await log(...args, '--json'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    const all = await json();
    const rows = all.map((r) => [r.command, r.image, r.ok]);
    // The batch's two answers are recorded as they come back, in either order.
    rows.splice(2, 2, ...rows.slice(2, 4).sort((a, b) => String(a[1]).localeCompare(String(b[1]))));
    assert.deepEqual(rows, [
      ['describe', 'cat.gif', true],
      ['describe', 'dog.gif', false],
      ['batch', 'cat.gif', true],
      ['batch', 'dog.gif', true],
      ['map', 'dog.gif', true],
    ]);
    assert.equal(all[0].answer, 'answer to Describe the TERRIER');
    assert.equal(all[0].prompt, 'Describe the TERRIER');
    assert.equal(all[0].path, join(dir, 'cat.gif'));
    assert.match(all[0].sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(all[0].tokens, { prompt: 9, completion: 12, total: 21 });
    assert.match(all[1].error.message, /bad request here/);
    assert.equal(all[1].error.status, 400);
    // the plain list: one line each, id first, the answer's first line
    const text = (await log()).trimEnd().split('\n');
    assert.equal(text.length, 5);
    assert.match(
      text[0] as string,
      /^[0-9a-z]{13} {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}cat\.gif {2}claude-3-5-sonnet-20240620 {2}21 tok {2}answer to Describe the TERRIER$/,
    );
    assert.match(text[1] as string, /error: .*bad request here/);
    // filters
    assert.equal((await json('-n', '2')).map((r) => r.command).join(), 'batch,map');
    assert.deepEqual(await json('-n', '0'), all, '-n 0: every one, oldest first (read forward)');
    assert.deepEqual(
      await json('-n', '0', '--since', '1h', '--image', 'dog.gif'),
      all.filter((r) => r.image === 'dog.gif'),
    );
    assert.equal((await log('-n', '0')).trimEnd(), text.join('\n'));
    assert.deepEqual(
      (await json('--search', 'terrier')).map((r) => r.command),
      ['describe'],
    );
    assert.deepEqual(
      (await json('--search', 'Terrier')).map((r) => r.command),
      ['describe'],
    );
    assert.deepEqual(
      (await json('--search', 'BATCH dog')).map((r) => r.image),
      ['dog.gif'],
    );
    assert.deepEqual(
      (await json('--image', 'dog.gif')).map((r) => r.command),
      ['describe', 'batch', 'map'],
    );
    assert.deepEqual(
      (await json('--image', all[0].sha256.slice(0, 12))).map((r) => r.command),
      ['describe', 'batch'],
    );
    assert.deepEqual((await json('--model', 'gpt-4o')).length, 0);
    assert.equal((await json('--model', 'SONNET')).length, 5);
    assert.equal((await json('--failed')).length, 1);
    assert.equal((await json('--since', '1h')).length, 5);
    assert.equal((await json('--since', '2999-01-01')).length, 0);
    const failing = async (args: string[]) => {
      const r = await run(args, opts);
      return { code: r.code, stderr: r.stderr };
    };
    assert.deepEqual(await failing(['log', '--since', 'yesterday']), {
      code: 2,
      stderr:
        'error: --since yesterday: not a time\nhint: a duration back from now (30m, 2h, 3d, 1w) or a date (2026-12-01, 2026-12-01T09:30)\n',
    });
    assert.deepEqual(await failing(['log', '-n', 'x']), { code: 2, stderr: 'error: -n x: not a count (0 lists every record)\n' });
    assert.deepEqual(await failing(['log', '--search', '']), { code: 2, stderr: 'error: --search: empty\n' });
    // show
    const show = await run(['log', 'show', all[0].id], opts);
    assert.equal(show.code, 0);
    assert.match(show.stdout, /\nprompt: +Describe the TERRIER\n/);
    assert.match(show.stdout, /\n\nanswer to Describe the TERRIER\n$/);
    assert.deepEqual(JSON.parse((await run(['log', 'show', all[0].id, '--json'], opts)).stdout), all[0]);
    assert.deepEqual(await failing(['log', 'show', 'zzzzzzzz']), {
      code: 2,
      stderr: 'error: zzzzzzzz: no such record in the history\nhint: imgdesc log lists them\n',
    });
    assert.deepEqual(await failing(['log', 'show', 'x/1']), {
      code: 2,
      stderr: 'error: x/1: not a history id\nhint: imgdesc log lists them in the first column\n',
    });
    // ids begin with the time in base 36: the first 4 characters change every ~17 hours
    const prefix = all[0].id.slice(0, 4);
    const sharing = all.filter((r: { id: string }) => r.id.startsWith(prefix)).length;
    assert.ok(sharing > 1, `${sharing} record(s) start with ${prefix}`);
    assert.deepEqual(await failing(['log', 'show', prefix]), {
      code: 2,
      stderr: `error: ${prefix}: ${sharing} records start with it; give more of the id\n`,
    });
    // clear: needs --yes without a terminal
    assert.deepEqual(await failing(['log', 'clear']), { code: 2, stderr: 'error: log clear: emptying the history needs --yes\n' });
    assert.equal((await run(['log', 'clear', '--yes'], opts)).code, 0);
    assert.equal((await json()).length, 0);
  });

  test('the profile key log false keeps runs out of the history', async () => {
    const srv = await server(echo);
    const home = tempDir();
    assert.equal((await run(['config', 'set', 'log', 'false'], { configHome: home })).code, 0);
    assert.equal((await run([fixture('gif-filetype.gif')], { env: relayEnv(srv.url), configHome: home })).code, 0);
    assert.equal(existsSync(historyFile(home)), false);
  });
});

test('imgdesc cache info, prune and clear', { skip: noFixtures }, async () => {
  const srv = await server(echo);
  const home = tempDir();
  const opts = { env: relayEnv(srv.url), configHome: home };
  for (const p of ['a', 'b', 'c']) assert.equal((await run([fixture('gif-filetype.gif'), p], opts)).code, 0);
  const info = JSON.parse((await run(['cache', 'info', '--json'], opts)).stdout);
  assert.equal(info.entries, 3);
  assert.equal(info.max_bytes, 500 * 1024 * 1024);
  assert.ok(info.bytes > 0);
  assert.match((await run(['cache', 'info'], opts)).stdout, /3 answer\(s\), .* of at most 500 MiB; the cache is on/);
  const pruned = JSON.parse((await run(['cache', 'prune', '--max-size', '1M', '--json'], opts)).stdout);
  assert.deepEqual([pruned.removed, pruned.entries], [0, 3]);
  assert.equal((await run(['cache', 'prune', '--max-size', '10'], opts)).code, 2, 'below 1 MiB, as the setting');
  const cleared = JSON.parse((await run(['cache', 'clear', '--json'], opts)).stdout);
  assert.equal(cleared.removed, 3);
  assert.equal(JSON.parse((await run(['cache', 'info', '--json'], opts)).stdout).entries, 0);
});
