// `imgdesc alt` end to end: real documentation pages (test/fixtures/alt, sources in SOURCES.md) and
// hand-made edge cases, against a recording relay on 127.0.0.1. Every case asserts the exact bytes
// of the documents afterwards: only alt text changes.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { ROOT, fixture, noFixtures, relayEnv, run, tempDir } from '../helpers/cli.ts';
import { completion, sendJson, startServer, type Handler, type RecordedRequest, type TestServer } from '../helpers/server.ts';

const DOCS = join(ROOT, 'test', 'fixtures', 'alt');
const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function relay(handler: Handler = bySection): Promise<TestServer> {
  const s = await startServer(handler);
  servers.push(s);
  return s;
}

function promptOf(req: RecordedRequest): string {
  const part = req.json?.messages?.at(-1)?.content?.find?.((p: { type: string }) => p.type === 'text');
  return String(part?.text ?? '');
}
const chats = (s: TestServer) => s.requests.filter((r) => r.url.endsWith('/chat/completions'));

/** Answers with the section the prompt names, so each image's alt text is known whatever the order. */
const bySection: Handler = (req, res) => {
  const section = /^Section: (.*)$/m.exec(promptOf(req))?.[1] ?? 'no section';
  sendJson(res, 200, completion(`Demo for ${section}.`));
};

async function png(path: string, shade = 0): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(
    path,
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: shade, g: 120, b: 200 - shade } } })
      .png()
      .toBuffer(),
  );
}

/** A folder with these documents (name → text) and these images (each a distinct PNG). */
async function site(docs: Record<string, string>, images: string[]): Promise<string> {
  const dir = tempDir('imgdesc-alt-');
  for (const [name, text] of Object.entries(docs)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  let shade = 0;
  for (const img of images) await png(join(dir, img), (shade += 40));
  return dir;
}
const read = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8');

describe('real documentation pages', { skip: noFixtures }, () => {
  test('lazygit README: the file-name alt texts are written; the URL image that cannot be fetched is reported and the rest go on', async () => {
    const s = await relay();
    const dir = tempDir('imgdesc-alt-lazygit-');
    mkdirSync(join(dir, 'repo'));
    const original = readFileSync(join(DOCS, 'lazygit-README.md'), 'utf8');
    writeFileSync(join(dir, 'repo', 'README.md'), original);
    for (const [i, name] of ['commit_and_push', 'stage_lines', 'nuke_working_tree', 'undo'].entries()) {
      mkdirSync(join(dir, 'assets', 'demo'), { recursive: true });
      copyFileSync(fixture(i % 2 ? 'gif-static.gif' : 'gif-filetype.gif'), join(dir, 'assets', 'demo', `${name}-compressed.gif`));
    }
    // The page's own image URL goes to a proxy on 127.0.0.1 that refuses it: nothing leaves the machine.
    const proxy = createServer((_q, r) => r.writeHead(403).end());
    proxy.on('connect', (_q, socket) => socket.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
    process.env.HTTPS_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    process.env.NO_PROXY = '127.0.0.1';
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run(['alt', 'repo'], { cwd: dir, env: relayEnv(s.url), program: true });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      proxy.close();
    }
    assert.equal(r.code, 5, r.stderr);
    assert.equal(
      read(dir, 'repo/README.md'),
      original.replace('![commit_and_push]', '![Demo for no section.]').replace('![stage_lines]', '![Demo for Stage individual lines.]'),
    );
    assert.equal(chats(s).length, 2);
    assert.match(
      r.stderr,
      /user-images\.githubusercontent\.com.*\(repo\/README\.md:2:3\): download from user-images\.githubusercontent\.com failed/,
    );
    assert.match(r.stderr, /repo\/README\.md: 2 alt text\(s\) written/);
  });

  test('HackTricks: GitBook alt="" is decorative and left alone; --include-decorative describes each once', async () => {
    const s = await relay();
    const original = readFileSync(join(DOCS, 'hacktricks-README.md'), 'utf8');
    const dir = await site({ 'README.md': original }, [
      'images/hacktricks.gif',
      'images/stm (1).png',
      'images/image (45).png',
      'images/venacus-logo.svg',
    ]);
    const none = await run(['alt', 'README.md'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /nothing to do: every image in 1 document\(s\) has alt text/);
    assert.equal(read(dir, 'README.md'), original);
    assert.equal(s.requests.length, 0);

    const r = await run(['alt', 'README.md', '--include-decorative'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(chats(s).length, 3);
    assert.equal(
      read(dir, 'README.md'),
      original
        .replace('<img src="images/hacktricks.gif" alt="">', '<img src="images/hacktricks.gif" alt="Demo for HackTricks.">')
        .replace('<img src="images/stm (1).png" alt="">', '<img src="images/stm (1).png" alt="Demo for STM Cyber.">')
        .replace('<img src="images/image (45).png" alt="">', '<img src="images/image (45).png" alt="Demo for RootedCON.">'),
    );
  });

  test('MDN accessible-image.html: only the <img> with no alt and no other name gets one', async () => {
    const s = await relay();
    const original = readFileSync(join(DOCS, 'mdn-accessible-image.html'), 'utf8');
    const dir = await site({ 'index.html': original }, ['dinosaur.png']);
    const r = await run(['alt', 'index.html', '--backup'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(chats(s).length, 1);
    assert.match(promptOf(chats(s)[0]!), /Section: Images/);
    assert.equal(read(dir, 'index.html'), original.replace('<img src="dinosaur.png">', '<img src="dinosaur.png" alt="Demo for Images.">'));
    assert.equal(read(dir, 'index.html.orig'), original);
  });
});

describe('modes', () => {
  const doc = '# Setup\n\nClick **Next**:\n\n![](shot.png)\n\n```md\n![](code.png)\n```\n';

  test('--check sends nothing, lists each image as file:line:col and exits 1; 0 when none is missing', async () => {
    const s = await relay();
    const dir = await site({ 'a.md': doc, 'b.html': '<p><img src="x.png" alt="A cat"></p>' }, ['shot.png']);
    const r = await run(['alt', '--check', '.'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'a.md:5:1: shot.png: no alt text\n');
    assert.match(r.stderr, /1 image\(s\) without alt text in 1 of 2 document\(s\)/);
    const ok = await run(['alt', '--check', 'b.html'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout, '');
    assert.equal(s.requests.length, 0);
    assert.equal(read(dir, 'a.md'), doc);
  });

  test('--dry-run prints a unified diff and sends nothing', async () => {
    const s = await relay();
    const dir = await site({ 'a.md': doc }, ['shot.png']);
    const r = await run(['alt', '--dry-run', 'a.md'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^--- a\/a\.md\n\+\+\+ b\/a\.md\n/m);
    assert.match(r.stdout, /^-!\[\]\(shot\.png\)\n\+!\[\(alt text for shot\.png\)\]\(shot\.png\)$/m);
    assert.match(r.stderr, /nothing was sent/);
    assert.equal(s.requests.filter((q) => q.url.endsWith('/chat/completions')).length, 0);
    assert.equal(read(dir, 'a.md'), doc);
  });

  test('writes in place; a rerun finds nothing to do and sends nothing', async () => {
    const s = await relay();
    const dir = await site({ 'a.md': doc }, ['shot.png']);
    const r = await run(['alt', 'a.md'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(read(dir, 'a.md'), doc.replace('![](shot.png)', '![Demo for Setup.](shot.png)'));
    assert.match(promptOf(chats(s)[0]!), /Text around it: Click Next:/);
    const again = await run(['alt', 'a.md'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(again.code, 0);
    assert.equal(chats(s).length, 1);
  });

  test('the same question again is answered from the answer cache, and the history names alt', async () => {
    const s = await relay();
    const dir = await site({ 'a.md': doc }, ['shot.png']);
    const home = tempDir('imgdesc-alt-home-');
    const first = await run(['alt', 'a.md'], { cwd: dir, env: relayEnv(s.url), configHome: home, program: true });
    assert.equal(first.code, 0, first.stderr);
    const written = read(dir, 'a.md');
    writeFileSync(join(dir, 'a.md'), doc);
    const again = await run(['alt', 'a.md'], { cwd: dir, env: relayEnv(s.url), configHome: home, program: true });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(chats(s).length, 1);
    assert.equal(read(dir, 'a.md'), written);
    assert.match(again.stderr, /1 answered from the cache/);
    const log = await run(['log', '--json'], { cwd: dir, env: relayEnv(s.url), configHome: home, program: true });
    const records = log.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(records.length, 2);
    assert.ok(
      records.every((rec) => rec.command === 'alt'),
      log.stdout,
    );
  });

  test('--no-context leaves the document out of the prompt; --max-chars is in it', async () => {
    const s = await relay((_q, res) => sendJson(res, 200, completion('A setup wizard.')));
    const dir = await site({ 'a.md': doc }, ['shot.png']);
    const r = await run(['alt', 'a.md', '--no-context', '--max-chars', '60'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 0, r.stderr);
    const prompt = promptOf(chats(s)[0]!);
    assert.doesNotMatch(prompt, /Setup|Next/);
    assert.match(prompt, /at most 60 characters/);
  });
});

describe('edge cases: only alt text changes', () => {
  test('CRLF, front matter, code fences, inline code, nested brackets, references, raw <img>, <picture>, alt=""', async () => {
    const s = await relay((_q, res) => sendJson(res, 200, completion('A [red] *box* & "lid".')));
    const md = [
      '---',
      'title: Edge cases',
      'cover: cover.png',
      '---',
      '# Edge cases  ',
      '',
      'Inline ![](a.png) and `![](a.png)` and ![a [nested] label](a.png "t").\t',
      '',
      '```',
      '![](a.png)',
      '```',
      '',
      '![][ref] and ![image] and ![Image][]',
      '',
      '<img src="b.png" width="9">',
      '<img src="b.png" alt="">',
      '<picture><source srcset="b.webp"><img src="b.png"></picture>',
      '',
      '[ref]: a.png',
      '[image]: b.png',
      '',
    ].join('\r\n');
    const dir = await site({ 'doc.md': md }, ['a.png', 'b.png']);
    const r = await run(['alt', 'doc.md'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 0, r.stderr);
    const alt = 'A \\[red\\] \\*box\\* \\& "lid".';
    const attr = 'alt="A [red] *box* &amp; &quot;lid&quot;."';
    assert.equal(
      read(dir, 'doc.md'),
      md
        .replace('Inline ![](a.png)', `Inline ![${alt}](a.png)`)
        .replace('![][ref] and ![image] and ![Image][]', `![${alt}][ref] and ![${alt}][image] and ![${alt}][Image]`)
        .replace('<img src="b.png" width="9">', `<img src="b.png" width="9" ${attr}>`)
        .replace('<img src="b.png"></picture>', `<img src="b.png" ${attr}></picture>`),
    );
    // Two distinct images, however many places: two requests.
    assert.equal(chats(s).length, 2);
  });

  test('the same image in two documents is described once; each document is written', async () => {
    const s = await relay();
    const dir = await site({ 'one.md': '# One\n\n![](img/shared.png)\n', 'sub/two.md': '# Two\n\n<img src="../img/shared.png">\n' }, [
      'img/shared.png',
    ]);
    const r = await run(['alt', '.'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(chats(s).length, 1);
    assert.equal(read(dir, 'one.md'), '# One\n\n![Demo for One.](img/shared.png)\n');
    assert.equal(read(dir, 'sub/two.md'), '# Two\n\n<img src="../img/shared.png" alt="Demo for One.">\n');
  });

  test('UTF-8 text around the image and permissions are kept', async () => {
    const s = await relay();
    const md = '# 你好\n\nÜber ![](a.png) — ok\n';
    const dir = await site({ 'a.md': md }, ['a.png']);
    chmodSync(join(dir, 'a.md'), 0o640);
    const r = await run(['alt', 'a.md'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(read(dir, 'a.md'), '# 你好\n\nÜber ![Demo for 你好.](a.png) — ok\n');
    assert.equal(statSync(join(dir, 'a.md')).mode & 0o777, 0o640);
  });
});

describe('failures write nothing', () => {
  test('a refusal, and an answer with no sentence within --max-chars, leave their documents as they were', async () => {
    const s = await relay((req, res) => {
      const refusal = /Section: Refused/.test(promptOf(req));
      sendJson(res, 200, completion(refusal ? "I'm sorry, but I can't help with that." : 'x'.repeat(300)));
    });
    const refused = '# Refused\n\n![](a.png)\n';
    const long = '# Long\n\n![](b.png)\n';
    const dir = await site({ 'a.md': refused, 'b.md': long }, ['a.png', 'b.png']);
    const out = join(dir, 'records.jsonl');
    const r = await run(['alt', '.', '-o', out], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(read(dir, 'a.md'), refused);
    assert.equal(read(dir, 'b.md'), long);
    const records = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(records.length, 2);
    assert.ok(records.every((rec) => rec.ok === false));
    assert.match(r.stderr, /longer than 125 characters/);
    assert.match(r.stderr, /refused/);
  });

  test('an image that cannot be read is reported with where it is; the document gets the others', async () => {
    const s = await relay();
    const md = '# Guide\n\n![](missing.png)\n\n![](here.png)\n\n![](/abs/site.png)\n\n![](../../outside.png)\n';
    const dir = await site({ 'docs/a.md': md }, ['docs/here.png']);
    await png(join(dir, '..', 'outside.png'));
    const r = await run(['alt', '.'], { cwd: join(dir, 'docs'), env: relayEnv(s.url), program: true });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(read(dir, 'docs/a.md'), md.replace('![](here.png)', '![Demo for Guide.](here.png)'));
    assert.match(r.stderr, /a\.md:7:1: \/abs\/site\.png: a site path; give --site-root DIR/);
    assert.match(r.stderr, /a\.md:9:1: \.\.\/\.\.\/outside\.png: outside the working folder; not read/);
    assert.match(r.stderr, /missing\.png \(a\.md:3:1\)/);
    assert.equal(chats(s).length, 1);
  });

  test('a symlinked document is refused (exit 2); a document that is not UTF-8 is left alone', async () => {
    const s = await relay();
    const dir = await site({ 'real.md': '![](a.png)\n' }, ['a.png']);
    symlinkSync(join(dir, 'real.md'), join(dir, 'link.md'));
    const r = await run(['alt', 'link.md'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /link\.md: is a symbolic link/);
    writeFileSync(join(dir, 'latin1.md'), Buffer.from('caf\xe9 ![](a.png)\n', 'latin1'));
    const l = await run(['alt', 'latin1.md'], { cwd: dir, env: relayEnv(s.url), program: true });
    assert.equal(l.code, 5);
    assert.match(l.stderr, /latin1\.md: not UTF-8 text; left as it is/);
    assert.equal(chats(s).length, 0);
  });

  test('Ctrl-C: a document whose images were all answered is written, the rest are left exactly as they were', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const s = await relay(async (req, res) => {
      if (/Section: Slow/.test(promptOf(req))) await held;
      bySection(req, res, 0);
    });
    const fast = '# Fast\n\n![](a.png)\n';
    const slow = '# Slow\n\n![](b.png)\n';
    const dir = await site({ 'fast.md': fast, 'slow.md': slow }, ['a.png', 'b.png']);
    const r = await run(['alt', '.', '-c', '2'], {
      cwd: dir,
      env: relayEnv(s.url),
      program: true,
      onStart: (interrupt) => {
        const poll = setInterval(() => {
          if (read(dir, 'fast.md') !== fast) {
            clearInterval(poll);
            interrupt.abort();
            setTimeout(release, 200);
          }
        }, 20);
      },
    });
    assert.equal(r.code, 130, r.stderr);
    assert.equal(read(dir, 'fast.md'), '# Fast\n\n![Demo for Fast.](a.png)\n');
    assert.equal(read(dir, 'slow.md'), slow);
    assert.ok(!existsSync(join(dir, 'slow.md.orig')));
  });
});

test('usage errors are one line and exit 2', async () => {
  const dir = await site({ 'a.txt': 'x' }, []);
  for (const [args, message] of [
    [['alt'], /missing required argument 'inputs'/],
    [['alt', 'a.txt'], /a\.txt: not a Markdown or HTML document/],
    [['alt', 'nope.md'], /nope\.md: no such file or folder/],
    [['alt', '--check', '--dry-run', '.'], /--check and --dry-run: choose one/],
    [['alt', '--max-chars', '5', '.'], /--max-chars 5: give a whole number from 20 to 1000/],
    [['alt', '--site-root', 'nowhere', '.'], /--site-root nowhere: no such folder/],
  ] as [string[], RegExp][]) {
    const r = await run(args, { cwd: dir, program: true });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
