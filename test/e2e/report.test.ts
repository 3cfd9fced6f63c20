import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { Browser, noChromium } from '../helpers/chromium.ts';
import { ROOT, fixture, noFixtures, run, tempDir } from '../helpers/cli.ts';

const usage = (n: number) => ({ prompt_tokens: n - 20, completion_tokens: 20, total_tokens: n });

/** A folder as a batch leaves it: images, and a results file with every kind of record. */
function batchFolder() {
  const dir = tempDir('imgdesc-report-');
  mkdirSync(join(dir, 'photos'));
  const files = [
    'jpeg-baseline.jpg',
    'exif-Landscape_6.jpg',
    'png-rgba-alpha.png',
    'webp-lossy.webp',
    'gif-static.gif',
    'jpeg-progressive.jpg',
  ];
  for (const f of files) copyFileSync(fixture(f), join(dir, 'photos', f));
  const records = [
    {
      image: 'photos/jpeg-baseline.jpg',
      ok: true,
      content: 'ohwx, a boardwalk through a green marsh',
      model: 'claude-sonnet-4-5',
      finish_reason: 'stop',
      usage: usage(1200),
      elapsed_ms: 900,
      sha256: 'a',
    },
    {
      image: 'photos/exif-Landscape_6.jpg',
      ok: true,
      content: 'a road sign at a crossroads, <b>not bold</b>',
      verdict: 'chatter',
      removed: ['Here is a caption for the image:'],
      model: 'claude-sonnet-4-5',
      finish_reason: 'stop',
      usage: usage(1000),
      elapsed_ms: 800,
      sha256: 'b',
    },
    {
      image: 'photos/png-rgba-alpha.png',
      ok: false,
      verdict: 'refused',
      content: "I'm sorry, I can't help with that.",
      error: { status: null, code: 'refused', message: "the model refused: I'm sorry, I can't help with that." },
      model: 'gpt-4o',
      usage: usage(300),
      sha256: 'c',
      elapsed_ms: 500,
    },
    {
      image: 'photos/webp-lossy.webp',
      ok: false,
      verdict: 'truncated',
      content: 'a long description of a',
      error: { status: null, code: 'truncated', message: 'the answer was cut off at the token limit (finish_reason: length)' },
      model: 'gpt-4o',
      usage: usage(400),
      sha256: 'd',
      elapsed_ms: 500,
    },
    {
      image: 'photos/gif-static.gif',
      ok: false,
      error: { status: 502, code: null, message: 'HTTP 502: upstream error (request id req_9)' },
      sha256: 'e',
      elapsed_ms: 100,
    },
    {
      image: 'photos/jpeg-progressive.jpg',
      ok: true,
      content: '{"caption":"ohwx, a harbour","tags":["boat","sea"]}',
      data: { caption: 'ohwx, a harbour at dawn', tags: ['boat', 'sea'], people: 0 },
      model: 'gpt-4o',
      finish_reason: 'stop',
      usage: usage(500),
      elapsed_ms: 700,
      sha256: 'f',
    },
  ];
  // A rerun appended: the failed 502 became ok (the later record wins), and one torn line.
  const rerun = {
    image: 'photos/gif-static.gif',
    ok: true,
    content: 'a small static gif with ohwx text',
    model: 'gpt-4o',
    finish_reason: 'stop',
    usage: usage(100),
    elapsed_ms: 300,
    sha256: 'e',
  };
  writeFileSync(
    join(dir, 'results.jsonl'),
    [...records, rerun].map((r) => JSON.stringify(r)).join('\n') + '\n{"image":"photos/x.jpg","ok":tr',
  );
  return { dir, records: [...records.slice(0, 4), rerun, records[5]!] };
}

const outDir = join(ROOT, 'test-output');

/** One headless Chromium for the file (each test opens its own page): starting it is most of its cost. */
let launched: Promise<Browser> | undefined;
const chromium = () => (launched ??= Browser.launch());
after(async () => {
  if (launched) await (await launched).close();
});

test('report: a self-contained page with every image and caption; filters and search change what is shown', {
  skip: noFixtures || noChromium,
}, async () => {
  const { dir, records } = batchFolder();
  const r = await run(['report', 'results.jsonl', '-o', 'report.html'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ignored 1 line/);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.doesNotMatch(html, /<(?:script|link|img)[^>]+(?:src|href)="https?:/i, 'no external resources');
  assert.doesNotMatch(html, /<b>not bold<\/b>/, 'captions are escaped');

  const browser = await chromium();
  const page = await browser.open(pathToFileURL(join(dir, 'report.html')).href);
  const cards = await page.eval<Array<{ name: string; text: string; img: { w: number; h: number; src: string } | null }>>(`
    [...document.querySelectorAll('article.card')].map((c) => {
      const img = c.querySelector('img');
      return { name: c.querySelector('h2').textContent, text: c.innerText, img: img && { w: img.naturalWidth, h: img.naturalHeight, src: img.src.slice(0, 23) } };
    })`);
  assert.deepEqual(
    cards.map((c) => c.name),
    records.map((r) => r.image),
    'one card per image, the rerun replacing the failure',
  );
  for (const [i, rec] of records.entries()) {
    const card = cards[i]!;
    assert.ok(card.img, `${rec.image} has a picture`);
    assert.equal(card.img.src, 'data:image/jpeg;base64,', 'an embedded JPEG');
    assert.ok(
      card.img.w > 0 && Math.max(card.img.w, card.img.h) <= 256,
      `${rec.image}: decoded, long edge ≤ 256 (${card.img.w}x${card.img.h})`,
    );
    if ('data' in rec) assert.match(card.text, /caption\s+ohwx, a harbour at dawn/, 'schema fields as a table');
    else assert.ok(card.text.includes(String(rec.content)), `${rec.image}: its caption is shown`);
  }
  assert.match(cards[1]!.text, /a road sign at a crossroads, <b>not bold<\/b>/);
  assert.match(cards[2]!.text, /refused/);
  assert.match(cards[2]!.text, /the model refused/);
  const header = await page.eval<string>(`document.querySelector('header').innerText`);
  assert.match(header, /6\s+images/);
  assert.match(header, /4\s+ok/);
  assert.match(header, /2\s+failed/);
  assert.match(header, /3,500\s+tokens/);

  const visible = (setup: string) =>
    page.eval<string[]>(
      `(() => { ${setup}; return [...document.querySelectorAll('article.card')].filter((c) => !c.hidden && c.offsetParent !== null).map((c) => c.querySelector('h2').textContent); })()`,
    );
  const pick = (value: string) => `document.querySelector('input[name=filter][value=${value}]').click()`;
  assert.equal((await visible(pick('all'))).length, 6);
  assert.deepEqual(await visible(pick('failed')), ['photos/png-rgba-alpha.png', 'photos/webp-lossy.webp']);
  assert.deepEqual(await visible(pick('refused')), ['photos/png-rgba-alpha.png']);
  assert.deepEqual(await visible(pick('truncated')), ['photos/webp-lossy.webp']);
  assert.deepEqual(await visible(pick('chatter')), ['photos/exif-Landscape_6.jpg']);
  const typeIn = (id: string, value: string) =>
    `{ const el = document.getElementById('${id}'); el.value = ${JSON.stringify(value)}; el.dispatchEvent(new Event('input')); }`;
  assert.deepEqual(await visible(`${pick('all')}; ${typeIn('word', 'ohwx')}`), [
    'photos/jpeg-baseline.jpg',
    'photos/gif-static.gif',
    'photos/jpeg-progressive.jpg',
  ]);
  const lacks = `document.getElementById('has').value = 'lacks'; document.getElementById('has').dispatchEvent(new Event('change'))`;
  assert.deepEqual(await visible(lacks), ['photos/exif-Landscape_6.jpg', 'photos/png-rgba-alpha.png', 'photos/webp-lossy.webp']);
  assert.deepEqual(
    await visible(`${typeIn('word', 'ohw')}`),
    records.map((r) => r.image),
    'a whole word: "ohw" is in no caption',
  );
  assert.deepEqual(await visible(`${typeIn('word', '')}; ${typeIn('search', 'req_9')}`), []);
  assert.deepEqual(await visible(`${typeIn('search', 'MARSH')}`), ['photos/jpeg-baseline.jpg']);
  assert.deepEqual(await visible(`${typeIn('search', 'gpt-4o')}; ${pick('ok')}`), ['photos/gif-static.gif', 'photos/jpeg-progressive.jpg']);
  assert.match(await page.eval<string>(`document.getElementById('shown').textContent`), /^2 of 6 shown$/);
  await page.eval(`${typeIn('search', '')}; ${pick('all')}; document.getElementById('has').value = 'has'`);

  const external = page.requests.filter((u) => !u.startsWith('data:') && !u.startsWith('file:'));
  assert.deepEqual(external, [], 'the page fetches nothing from the network');
  assert.deepEqual(page.errors, []);
  mkdirSync(outDir, { recursive: true });
  const png = await page.screenshot();
  writeFileSync(join(outDir, 'report.png'), png);
  const meta = await sharp(png).metadata();
  assert.ok((meta.width ?? 0) >= 1000, 'a screenshot was saved');
});

test('report --link: the page links the originals, which load beside it', { skip: noFixtures || noChromium }, async () => {
  const { dir } = batchFolder();
  mkdirSync(join(dir, 'out'));
  const r = await run(['report', 'results.jsonl', '-o', 'out/gallery.html', '--link', '-q'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const html = readFileSync(join(dir, 'out', 'gallery.html'), 'utf8');
  assert.doesNotMatch(html, /data:image\/jpeg/);
  assert.match(html, /src="\.\.\/photos\/jpeg-baseline\.jpg"/);
  const browser = await chromium();
  const page = await browser.open(pathToFileURL(join(dir, 'out', 'gallery.html')).href);
  const widths = await page.eval<number[]>(`Promise.all([...document.images].map((i) => i.decode().then(() => i.naturalWidth, () => 0)))`);
  assert.equal(widths.length, 6);
  assert.ok(
    widths.every((w) => w > 0),
    `every linked original loads: ${widths.join(',')}`,
  );
});

test('report: missing images keep their captions; bad inputs are exit 2 with one line', { skip: noFixtures }, async () => {
  const dir = tempDir('imgdesc-report-');
  writeFileSync(
    join(dir, 'r.jsonl'),
    JSON.stringify({ image: 'gone.jpg', ok: true, content: 'a vanished photo', usage: usage(50) }) + '\n',
  );
  const r = await run(['report', 'r.jsonl'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^<!doctype html>/);
  assert.match(r.stdout, /a vanished photo/);
  assert.match(r.stdout, /image not found/);
  assert.match(r.stderr, /1 image\(s\) not found/);

  const missing = await run(['report', 'nope.jsonl'], { cwd: dir });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.jsonl: no such file/);
  writeFileSync(join(dir, 'notes.txt'), 'hello\n{"a":1}\n');
  const empty = await run(['report', 'notes.txt'], { cwd: dir });
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /no batch records found/);
  // with -o: one line says where the page is (a file: URL a terminal opens); -q says nothing
  const written = await run(['report', 'r.jsonl', '-o', 'page one.html'], { cwd: dir });
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stdout, '');
  assert.equal(
    written.stderr
      .split('\n')
      .filter((l) => !/not found/.test(l))
      .join('\n'),
    `wrote page one.html, 1 image: ${pathToFileURL(join(dir, 'page one.html')).href}\n`,
  );
  const quiet = await run(['report', 'r.jsonl', '-o', 'quiet.html', '-q'], { cwd: dir });
  assert.equal(quiet.stderr, '');
  const ro = await run(['report', 'r.jsonl', '-o', 'no/such/dir/r.html'], { cwd: dir });
  assert.equal(ro.code, 6);
  assert.match(ro.stderr, /cannot write \(ENOENT\)/);
});

test('report: HEIC, BMP and ICO get pictures through the image layer; a PDF gets a note', { skip: noFixtures }, async () => {
  const dir = tempDir('imgdesc-report-');
  const names = ['heic-sample.heic', 'bmp.bmp', 'ico-sample.ico', 'notimage-pdf.pdf'];
  writeFileSync(
    join(dir, 'r.jsonl'),
    names.map((n) => JSON.stringify({ image: fixture(n), ok: true, content: `caption of ${n}` })).join('\n') + '\n',
  );
  const r = await run(['report', 'r.jsonl', '-o', 'r.html', '-q'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const html = readFileSync(join(dir, 'r.html'), 'utf8');
  const cards = html.split('<article').slice(1);
  for (const [i, n] of names.entries()) {
    const thumb = cards[i]!.match(/src="data:image\/jpeg;base64,([^"]+)"/);
    if (n.endsWith('.pdf')) {
      assert.equal(thumb, null);
      assert.match(cards[i]!, /no preview/);
      continue;
    }
    assert.ok(thumb, `${n} has a picture`);
    const meta = await sharp(Buffer.from(thumb[1]!, 'base64')).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.ok(Math.max(meta.width ?? 0, meta.height ?? 0) <= 256, `${n}: ${meta.width}x${meta.height}`);
  }
});
