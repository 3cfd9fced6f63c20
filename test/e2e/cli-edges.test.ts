// End to end (in-process): the rough edges of issue #12, each found by using the CLI.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { main } from '../../src/cli/main.ts';
import { relayEnv, run, runCli, tempDir, TOKEN, waitingForInput } from '../helpers/cli.ts';
import { execFileSync } from 'node:child_process';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';
import { testIO } from '../helpers/io.ts';

let server: TestServer;
let dir: string;
let png: string;
before(async () => {
  server = await startServer();
  dir = tempDir();
  png = join(dir, 'p.png');
  writeFileSync(
    png,
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
      .png()
      .toBuffer(),
  );
});
after(() => server.close());

/** An in-process IO whose stdin is a terminal the test types into. */
function terminalIO(home: string) {
  const io = testIO({ env: { XDG_CONFIG_HOME: home } });
  const stdin = new PassThrough();
  io.stdin = stdin;
  io.stdinIsTTY = true;
  return { io, type: (text: string) => setImmediate(() => stdin.write(text)) };
}

const stored = (home: string) => JSON.parse(readFileSync(join(home, 'imgdesc', 'config.json'), 'utf8'));

describe('tokens', () => {
  test('a pasted token is trimmed and loses a Bearer prefix', async () => {
    const home = tempDir();
    const r = await run(['config', 'set', 'token'], { configHome: home, input: `  Bearer ${TOKEN}  \n` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(stored(home).profiles.default.token, TOKEN);
  });

  test('two lines, a space or a control character are refused without echoing the token', async () => {
    for (const input of [`${TOKEN}\nsecond-line\n`, `sk-abc ${TOKEN}`, `${TOKEN}\x1b[A`]) {
      const home = tempDir();
      const r = await run(['config', 'set', 'token'], { configHome: home, input });
      assert.equal(r.code, 2, JSON.stringify(input));
      assert.ok(!r.stderr.includes(TOKEN));
      assert.match(r.stderr, /^error: token: the token (spans several lines|contains a space|contains a control or non-ASCII character)/);
    }
  });

  test('IMGDESC_TOKEN with a Bearer prefix is sent cleaned', async () => {
    server.requests.length = 0;
    const r = await run([png], { env: relayEnv(server.url, { IMGDESC_TOKEN: `Bearer ${TOKEN}\n` }) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests[0]?.headers.authorization, `Bearer ${TOKEN}`);
  });

  test('Ctrl-D at the hidden prompt says cancelled and saves nothing', async () => {
    const home = tempDir();
    const { io, type } = terminalIO(home);
    const done = main(['config', 'set', 'token'], io);
    type('\x04');
    assert.equal(await done, 130);
    assert.equal(io.err(), 'API token: \ncancelled; nothing was saved\n');
  });

  test('typed at the hidden prompt: nothing echoed, the token saved', async () => {
    const home = tempDir();
    const { io, type } = terminalIO(home);
    const done = main(['config', 'set', 'token'], io);
    type(`${TOKEN}\r`);
    assert.equal(await done, 0, io.err());
    assert.ok(!io.err().includes(TOKEN));
    assert.equal(stored(home).profiles.default.token, TOKEN);
  });

  test('a token the model reads back is masked in the answer and in --json', async () => {
    const echo = await startServer((_req, res) =>
      sendJson(res, 200, completion(`The screenshot shows export OPENAI_API_KEY=${TOKEN} in a terminal.`)),
    );
    try {
      const r = await run([png], { env: relayEnv(echo.url) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'The screenshot shows export OPENAI_API_KEY=sk-…cdef in a terminal.\n');
      const j = await run(['--json', png], { env: relayEnv(echo.url) });
      assert.ok(!j.stdout.includes(TOKEN));
      assert.match(JSON.parse(j.stdout).choices[0].message.content, /sk-…cdef/);
      const b = await run(['batch', png], { env: relayEnv(echo.url) });
      assert.ok(!b.stdout.includes(TOKEN));
      assert.match(b.stdout, /sk-…cdef/);
    } finally {
      await echo.close();
    }
  });
});

describe('numbers', () => {
  test('--timeout 0 means no timeout: the request is sent and answered', async () => {
    const r = await run([png, '--timeout', '0'], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
  });

  test('--timeout 1e9, -c 99999999999999999999, -n 99999999: one line with the limits, exit 2, nothing sent', async () => {
    server.requests.length = 0;
    for (const [args, message] of [
      [[png, '--timeout', '1e9'], /--timeout: expected a number 0 \(no timeout\) or between 0\.1 and 86400/],
      [['batch', png, '-c', '99999999999999999999'], /--concurrency: must be between 1 and 64/],
      [[png, '-n', '99999999'], /-n: must be between 1 and 128/],
      [[png, '-m', ''], /--model: may not be empty/],
    ] as const) {
      const r = await run([...args], { env: relayEnv(server.url) });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    }
    assert.equal(server.requests.length, 0);
  });

  test('a hand-edited profile value names the config key (exit 3), not the image', async () => {
    const home = tempDir();
    mkdirSync(join(home, 'imgdesc'));
    writeFileSync(join(home, 'imgdesc', 'config.json'), JSON.stringify({ profiles: { default: { 'max-edge': -3 } } }));
    const r = await run([png], { configHome: home, env: relayEnv(server.url) });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^error: config key 'max-edge' in profile 'default': must be between 16 and 16384 \(got -3\)/);
  });
});

describe('config', () => {
  const cfg = (home: string) => join(home, 'imgdesc', 'config.json');
  const write = (home: string, text: string) => {
    mkdirSync(join(home, 'imgdesc'), { recursive: true });
    writeFileSync(cfg(home), text);
  };

  test('config set --help lists every key with its limits', async () => {
    const r = await run(['config', 'set', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Keys:\n {2}base-url/);
    assert.match(r.stdout, / {2}concurrency {7}requests in flight, at most \(int, between 1 and 64; default 4\)/);
    assert.match(r.stdout, / {2}max-rps {11}.*IMGDESC_MAX_RPS\)/);
    assert.match(r.stdout, / {2}token-command /);
  });

  test('config get: the value in effect and where it comes from', async () => {
    const home = tempDir();
    const notSet = await run(['config', 'get', 'model'], { configHome: home, env: { IMGDESC_MODEL: 'gpt-4o' } });
    assert.equal(notSet.code, 3);
    assert.match(notSet.stderr, /model is not set in profile 'default' \(in effect: gpt-4o from IMGDESC_MODEL\)/);
    const eff = await run(['config', 'get', 'model', '--effective'], { configHome: home, env: { IMGDESC_MODEL: 'gpt-4o' } });
    assert.equal(eff.code, 0);
    assert.equal(eff.stdout, 'gpt-4o\n');
    assert.equal(eff.stderr, 'from IMGDESC_MODEL\n');
    const def = await run(['config', 'get', 'timeout', '--effective'], { configHome: home });
    assert.equal(def.stdout, '300\n');
    assert.equal(def.stderr, 'from built-in default\n');
  });

  test('config remove --profile: asks on a terminal, needs --yes otherwise', async () => {
    const home = tempDir();
    await run(['config', 'set', 'model', 'm', '--profile', 'work'], { configHome: home });
    const refused = await run(['config', 'remove', '--profile', 'work'], { configHome: home });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /removing profile 'work' \(model\) needs --yes/);
    assert.ok(stored(home).profiles.work);

    const { io, type } = terminalIO(home);
    const asked = main(['config', 'remove', '--profile', 'work'], io);
    type('n\r');
    assert.equal(await asked, 0);
    assert.match(io.err(), /Remove profile 'work' \(model\)\? \[y\/N\] /);
    assert.ok(stored(home).profiles.work);

    const yes = await run(['config', 'remove', '--profile', 'work', '--yes'], { configHome: home });
    assert.equal(yes.code, 0, yes.stderr);
    assert.equal(stored(home).profiles.work, undefined);
  });

  test('an empty config file is no config; a BOM is dropped; both can be written to', async () => {
    for (const text of ['', '\n', '\uFEFF{"profiles":{"default":{"model":"m"}}}']) {
      const home = tempDir();
      write(home, text);
      const list = await run(['config', 'list'], { configHome: home });
      assert.equal(list.code, 0, list.stderr);
      const set = await run(['config', 'set', 'retries', '3'], { configHome: home });
      assert.equal(set.code, 0, set.stderr);
      assert.equal(stored(home).profiles.default.retries, 3);
      if (text.includes('model')) assert.equal(stored(home).profiles.default.model, 'm');
    }
  });

  test('config list --profile shows one profile', async () => {
    const home = tempDir();
    await run(['config', 'set', 'model', 'a'], { configHome: home });
    await run(['config', 'set', 'model', 'b', '--profile', 'work'], { configHome: home });
    const r = await run(['config', 'list', '--profile', 'work'], { configHome: home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '  work\n    model = b\n    token in effect: none\n');
    assert.equal(r.stderr, '');
    assert.equal((await run(['config', 'list', '--profile', 'nope'], { configHome: home })).code, 3);
  });

  test('config edit: saved when valid, refused (file untouched) when not', async () => {
    const home = tempDir();
    await run(['config', 'set', 'model', 'a'], { configHome: home });
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/\\"model\\": \\"[^\\"]*\\"/\\"model\\": \\"$NEW\\"/" "$1"\n', { mode: 0o755 });
    const ok = await run(['config', 'edit'], { configHome: home, env: { EDITOR: editor, NEW: 'gpt-4o' } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(stored(home).profiles.default.model, 'gpt-4o');
    const bad = await run(['config', 'edit'], { configHome: home, env: { VISUAL: editor, EDITOR: 'false', NEW: '' } });
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /config edit: config key 'model' in profile 'default': may not be empty \(got ''\); nothing was saved/);
    assert.equal(stored(home).profiles.default.model, 'gpt-4o');
    const none = await run(['config', 'edit'], { configHome: home });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /neither \$VISUAL nor \$EDITOR is set/);
  });

  test('token-command: run at each use, its first line is the token, never stored', async () => {
    const home = tempDir();
    const set = await run(['config', 'set', 'token-command', `printf '%s\\nsecond line\\n' "$SECRET"`], { configHome: home });
    assert.equal(set.code, 0, set.stderr);
    server.requests.length = 0;
    const r = await run([png], { configHome: home, env: { IMGDESC_BASE_URL: server.url, SECRET: `Bearer ${TOKEN}` } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests[0]?.headers.authorization, `Bearer ${TOKEN}`);
    assert.ok(!readFileSync(cfg(home), 'utf8').includes(TOKEN));
    const list = await run(['config', 'list'], { configHome: home });
    // a row of the list, under the profile it is about; nothing on stderr
    assert.match(list.stdout, /^ {4}token-command = .*\n {4}token in effect: from the token-command of profile 'default'$/m);
    assert.equal(list.stderr, '');
    const failing = await run(['config', 'set', 'token-command', 'echo locked >&2; exit 4'], { configHome: home });
    assert.equal(failing.code, 0);
    const f = await run([png], { configHome: home, env: { IMGDESC_BASE_URL: server.url } });
    assert.equal(f.code, 3);
    assert.match(f.stderr, /token-command failed: exit 4: locked/);
  });

  test("--token-command: a flag beats IMGDESC_TOKEN, which beats the profile's command", async () => {
    const home = tempDir();
    await run(['config', 'set', 'token-command', 'echo profile-token'], { configHome: home });
    server.requests.length = 0;
    const env = { IMGDESC_BASE_URL: server.url, IMGDESC_TOKEN: 'sk-from-env', SECRET: TOKEN };
    // the same question three times: each one is sent (--no-cache) to show the token it went with
    const flag = await run(['--token-command', 'printf %s "$SECRET"', png, '--no-cache'], { configHome: home, env });
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(server.requests.at(-1)?.headers.authorization, `Bearer ${TOKEN}`);
    const after = await run([png, '--token-command', 'printf %s "$SECRET"', '--no-cache'], { configHome: home, env });
    assert.equal(after.code, 0, after.stderr);
    assert.equal(server.requests.at(-1)?.headers.authorization, `Bearer ${TOKEN}`);
    const envWins = await run([png, '--no-cache'], { configHome: home, env });
    assert.equal(envWins.code, 0, envWins.stderr);
    assert.equal(server.requests.at(-1)?.headers.authorization, 'Bearer sk-from-env');
  });
});

describe('the first ten minutes', () => {
  test("a prompt typed without quotes: exit 2, commander's line and the quoted command; nothing sent", async () => {
    server.requests.length = 0;
    const r = await run([png, 'what', 'breed', 'is', 'this', 'dog'], { env: relayEnv(server.url) });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `error: too many arguments for 'describe'. Expected 2 arguments but got 6.\nhint: quote the prompt: imgdesc ${png} "what breed is this dog"\n`,
    );
    const opts = await run(['-m', 'gpt-4o', png, "what's", 'this'], { env: relayEnv(server.url) });
    assert.equal(opts.code, 2);
    assert.match(opts.stderr, /^hint: quote the prompt: imgdesc -m gpt-4o \S+ "what's this"$/m);
    assert.equal(server.requests.length, 0);
  });

  test('a folder given to describe: exit 2, pointed at batch (by name, and as a path the plain describe takes)', async () => {
    const folder = join(dir, 'holiday');
    mkdirSync(folder, { recursive: true });
    server.requests.length = 0;
    for (const [arg, shown] of [
      ['holiday', 'holiday'],
      ['holiday/', 'holiday/'],
      [folder, folder],
    ]) {
      const r = await run([arg as string], { cwd: dir, env: relayEnv(server.url) });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, `error: ${shown}: is a directory\nhint: to describe the images in it: imgdesc batch ${shown}\n`);
    }
    assert.equal(server.requests.length, 0);
  });

  test('-n 2: numbered on a terminal, a blank line between them in a pipe', async () => {
    const two = startServer((_req, res) =>
      sendJson(res, 200, {
        ...completion('A dog.'),
        choices: [
          { index: 0, message: { role: 'assistant', content: 'A dog.' }, finish_reason: 'stop' },
          { index: 1, message: { role: 'assistant', content: 'A brown dog\non a beach.' }, finish_reason: 'stop' },
        ],
      }),
    );
    const s = await two;
    try {
      const tty = await run([png, '-n', '2', '--no-cache'], { env: relayEnv(s.url), tty: true });
      assert.equal(tty.code, 0, tty.stderr);
      assert.equal(tty.stdout, '1. A dog.\n\n2. A brown dog\non a beach.\n');
      const piped = await run([png, '-n', '2', '--no-cache'], { env: relayEnv(s.url) });
      assert.equal(piped.stdout, 'A dog.\n\nA brown dog\non a beach.\n');
    } finally {
      await s.close();
    }
  });
});

describe('prompts from files, stdin and the profile', () => {
  const sentPrompt = () => server.requests.at(-1)?.json.messages.at(-1).content[0].text as string;

  test('-p @file and --prompt-file read the prompt; one trailing newline dropped', async () => {
    writeFileSync(join(dir, 'prompt.txt'), 'Alt text, one sentence.\n');
    let r = await run([png, '-p', '@prompt.txt'], { cwd: dir, env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sentPrompt(), 'Alt text, one sentence.');
    r = await run([png, '--prompt-file', 'prompt.txt'], { cwd: dir, env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sentPrompt(), 'Alt text, one sentence.');
    r = await run(['batch', png, '-p', '@prompt.txt'], { cwd: dir, env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sentPrompt(), 'Alt text, one sentence.');
  });

  test('-p - reads the prompt from stdin, unless stdin carries the image', async () => {
    const r = await run([png, '-p', '-'], { env: relayEnv(server.url), input: 'Count the birds.\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sentPrompt(), 'Count the birds.');
    const both = await run(['-', '-p', '-'], { env: relayEnv(server.url), input: 'x' });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /-p -: stdin already carries the image/);
  });

  test('bad prompt sources: one line, exit 2, nothing sent', async () => {
    writeFileSync(join(dir, 'empty.txt'), '\n');
    server.requests.length = 0;
    for (const [args, message] of [
      [[png, '-p', '@missing.txt'], /-p @missing\.txt: no such file/],
      [[png, '-p', '@empty.txt'], /-p @empty\.txt: the prompt is empty/],
      [[png, '-p', 'x', '--prompt-file', 'empty.txt'], /not both/],
      [[png, 'positional', '--prompt-file', 'empty.txt'], /not both/],
      [[png, '-p', ':alt'], /-p :alt: no prompt saved as prompt\.alt in profile 'default'/],
    ] as const) {
      const r = await run([...args], { cwd: dir, env: relayEnv(server.url) });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(server.requests.length, 0);
  });

  test('saved prompts: config set prompt.alt, then -p :alt (batch placeholders work)', async () => {
    const home = tempDir();
    const set = await run(['config', 'set', 'prompt.alt', 'Alt text for {name}.'], { configHome: home });
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await run(['config', 'get', 'prompt.alt'], { configHome: home })).stdout, 'Alt text for {name}.\n');
    const r = await run(['batch', png, '-p', ':alt'], { configHome: home, env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sentPrompt(), 'Alt text for p.png.');
    assert.equal((await run(['config', 'set', 'prompt.', 'x'], { configHome: home })).code, 2);
  });
});

describe('quiet by default', () => {
  test('describe: a phone-sized photo is resized without a warning; -v reports it', async () => {
    const big = join(dir, 'phone.jpg');
    writeFileSync(
      big,
      await sharp({ create: { width: 1800, height: 1200, channels: 3, background: '#369' } })
        .jpeg()
        .toBuffer(),
    );
    const r = await run([big], { env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const v = await run([big, '-v'], { env: relayEnv(server.url) });
    assert.match(v.stderr, /1800x1200 .*→ 1568x1045 .*resized/);
  });

  test('batch: the live line says it waits while the relay rate-limits', async () => {
    let n = 0;
    const limited = await startServer((_req, res) => {
      if (n++ === 0) sendJson(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '2' });
      else sendJson(res, 200, completion('A white square on a white ground.'));
    });
    try {
      const r = await run(['batch', png], { env: relayEnv(limited.url, { TERM: 'xterm' }), tty: true });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /0\/1 · waiting 2 s \(rate limited\)/);
    } finally {
      await limited.close();
    }
  });
});

describe('batch sidecars and inputs', () => {
  const pair = async () => {
    const d = tempDir();
    const img = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0f0' } });
    writeFileSync(join(d, 'IMG_1.JPG'), await img.clone().jpeg().toBuffer());
    writeFileSync(join(d, 'IMG_1.PNG'), await img.clone().png().toBuffer());
    return d;
  };

  test('two images with one stem: the clash says how to avoid it; --sidecar-name full writes both', async () => {
    const d = await pair();
    const r = await run(['batch', '.', '--sidecar'], { cwd: d, env: relayEnv(server.url) });
    assert.equal(r.code, 5);
    assert.match(
      r.stderr,
      /IMG_1\.(PNG|JPG): its sidecar IMG_1\.txt would overwrite the one of IMG_1\.(JPG|PNG); --sidecar-name full names them IMG_1\.\1\.txt/,
    );
    const d2 = await pair();
    const full = await run(['batch', '.', '--sidecar', '--sidecar-name', 'full'], { cwd: d2, env: relayEnv(server.url) });
    assert.equal(full.code, 0, full.stderr);
    assert.equal(readFileSync(join(d2, 'IMG_1.JPG.txt'), 'utf8'), 'A boardwalk through a green marsh.\n');
    assert.equal(readFileSync(join(d2, 'IMG_1.PNG.txt'), 'utf8'), 'A boardwalk through a green marsh.\n');
    // the profile default, and a rerun skips both
    const home = tempDir();
    await run(['config', 'set', 'sidecar-name', 'full'], { configHome: home });
    const again = await run(['batch', '.', '--sidecar'], { cwd: d2, configHome: home, env: relayEnv(server.url) });
    assert.equal(again.code, 0, again.stderr);
    // the sidecars of the first run are not inputs: only the two images count
    assert.match(again.stderr, /0 ok, 0 failed, 2 skipped \(2 with a sidecar\)/);
    assert.equal((await run(['batch', '.', '--sidecar-name', 'full'], { cwd: d2, env: relayEnv(server.url) })).code, 2);
  });
});

describe('batch inputs', () => {
  test('-o - is stdout', async () => {
    const r = await run(['batch', png, '-o', '-'], { cwd: dir, env: relayEnv(server.url) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).ok, true);
  });

  test('an empty folder, a glob matching nothing, --files-from /dev/null: exit 0, saying what was given', async () => {
    const d = tempDir();
    mkdirSync(join(d, 'empty'));
    for (const [args, message] of [
      [['empty'], "no files in 'empty'; nothing to describe (folders are read one level deep; -r descends into sub-folders)"],
      [['*.gif'], "no files in '*.gif'; nothing to describe"],
      [['--files-from', '/dev/null'], 'no files in the list /dev/null; nothing to describe'],
    ] as const) {
      const r = await run(['batch', ...args], { cwd: d, env: relayEnv(server.url) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, `warning: ${message}\n`);
    }
  });
});

describe('reads that wait', () => {
  test('imgdesc - with stdin a terminal is refused at once', async () => {
    const io = testIO({ env: { XDG_CONFIG_HOME: tempDir(), IMGDESC_BASE_URL: server.url, IMGDESC_TOKEN: TOKEN } });
    io.stdinIsTTY = true;
    assert.equal(await main(['-'], io), 2);
    assert.equal(
      io.err(),
      'error: stdin is a terminal: pipe an image into imgdesc -\nhint: imgdesc - < photo.jpg, or curl -s URL | imgdesc -\n',
    );
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`a FIFO nobody writes to: ${signal} ends the run at once`, { skip: process.platform === 'win32' && 'no FIFOs' }, async () => {
      const fifo = join(tempDir(), 'photo.jpg');
      execFileSync('mkfifo', [fifo]);
      const r = await runCli([fifo], {
        env: relayEnv(server.url),
        onSpawn: (child) => {
          void waitingForInput(child).then(() => child.kill(signal));
        },
        timeoutMs: 20_000,
      });
      assert.equal(r.signal, null, 'it exited by itself, not killed by the test timeout');
      assert.ok(r.code === 130 || r.code === 143, `${r.code}: ${r.stderr}`);
    });
  }

  test('batch: the first Ctrl-C says at once that it is stopping and waits for the answer out; the second quits', async () => {
    // Never answers: the first Ctrl-C once the request is out (a fixed delay lost the race on a
    // busy machine), the second a little after.
    let ctrlC = (): void => {};
    const slow = await startServer((req) => {
      if (req.method === 'POST') ctrlC();
    });
    try {
      const r = await run(['batch', png], {
        env: relayEnv(slow.url),
        onStart: (interrupt, quit) => {
          ctrlC = () => {
            interrupt.abort();
            setTimeout(() => quit.abort(), 300);
          };
        },
      });
      assert.equal(r.code, 130);
      assert.match(r.stderr, /^stopping: waiting for 1 answer, Ctrl-C again to quit now\n/m);
    } finally {
      await slow.close();
    }
  });
});
