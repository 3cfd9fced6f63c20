// A photo library end to end: `imgdesc batch Pictures -r --xmp` / `--embed` on a mixed folder
// (phone HEIC, camera JPEG with a Display P3 profile, a RAW, a PNG screenshot) against a local relay;
// what was written is read back with exiftool.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { ExifTool } from 'exiftool-vendored';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';
import { fixture, noFixtures, relayEnv, run, tempDir } from '../helpers/cli.ts';
import { dngWithPreview, gradient, storedPixelsFor } from '../helpers/images.ts';

const exiftool = new ExifTool({ maxProcs: 1 });
const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await exiftool.end();
});

/** Answers "Photo N." (or a schema answer with keywords when the prompt asks for JSON). */
async function relay(): Promise<TestServer> {
  let n = 0;
  const s = await startServer((req, res) => {
    n++;
    const schema = req.body.includes('keywords');
    sendJson(res, 200, completion(schema ? JSON.stringify({ description: `Photo ${n}.`, keywords: ['beach', `n${n}`] }) : `Photo ${n}.`));
  });
  servers.push(s);
  return s;
}

/**
 * The library's files, made once; each test gets its own copy. The camera JPEG (Display P3), the
 * screenshot and the HEIC are small: sidecars, embedding and skipping do not depend on the size, and
 * at 2400x1600 and 2880x1800 the first two cost this file ~2 s of CPU (made, prepared by each batch,
 * hashed).
 */
let made: Promise<string> | undefined;
async function makeLibrary(): Promise<string> {
  const dir = tempDir('imgdesc-pictures-');
  for (const sub of ['phone', 'camera/raw', 'screens']) mkdirSync(join(dir, 'Pictures', sub), { recursive: true });
  // the small real HEIC: the 1440x960 one (heic-mif1) is decoded and encoded twice here for nothing more
  copyFileSync(fixture('heic-sample.heic'), join(dir, 'Pictures/phone/IMG_0001.HEIC'));
  await sharp(gradient(600, 400), { raw: { width: 600, height: 400, channels: 3 } })
    .withIccProfile('p3')
    .jpeg({ quality: 90 })
    .toFile(join(dir, 'Pictures/camera/DSC_0001.jpg'));
  writeFileSync(join(dir, 'Pictures/camera/raw/DSC_0002.dng'), dngWithPreview(await storedPixelsFor(6), 32, 64, 6));
  await sharp({ create: { width: 720, height: 450, channels: 3, background: '#eee' } })
    .png()
    .toFile(join(dir, 'Pictures/screens/Screenshot.png'));
  return dir;
}

async function library(): Promise<string> {
  const dir = tempDir('imgdesc-pictures-');
  cpSync(join(await (made ??= makeLibrary()), 'Pictures'), join(dir, 'Pictures'), { recursive: true });
  return dir;
}

const PHOTOS = [
  'Pictures/camera/DSC_0001.jpg',
  'Pictures/camera/raw/DSC_0002.dng',
  'Pictures/phone/IMG_0001.HEIC',
  'Pictures/screens/Screenshot.png',
];
const lines = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const pixels = async (p: string) =>
  createHash('sha256')
    .update(await sharp(p).raw().toBuffer())
    .digest('hex');

test('batch Pictures -r --xmp: a sidecar per photo with dc:description; a rerun sends nothing; --existing append adds', {
  skip: noFixtures,
}, async () => {
  const srv = await relay();
  const dir = await library();
  const env = relayEnv(srv.url);

  const dry = await run(['batch', 'Pictures', '-r', '--xmp', '--dry-run'], { cwd: dir, env });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(srv.requests.length, 0);
  for (const p of PHOTOS)
    assert.ok(dry.stderr.includes(`would write XMP-dc:Description (and keywords from a schema's tags) → sidecar ${p}.xmp`), dry.stderr);
  assert.ok(!existsSync(join(dir, `${PHOTOS[0]}.xmp`)), 'a dry run writes nothing');

  const r = await run(['batch', 'Pictures', '-r', '--xmp', '-o', 'out.jsonl'], { cwd: dir, env });
  assert.equal(r.code, 0, r.stderr);
  const recs = lines(readFileSync(join(dir, 'out.jsonl'), 'utf8'));
  assert.deepEqual(recs.map((x) => x.image).sort(), PHOTOS);
  for (const rec of recs) {
    assert.equal(rec.ok, true);
    assert.equal(rec.xmp, `${rec.image as string}.xmp`);
    const tags = await exiftool.read(join(dir, rec.xmp as string));
    assert.equal(tags.Description, rec.content);
  }
  assert.ok(!existsSync(join(dir, `${PHOTOS[0]}_original`)), 'the photos themselves are untouched');

  // Without -o too: photos that carry a description now are skipped; their sidecars are no inputs.
  const again = await run(['batch', 'Pictures', '-r', '--xmp'], { cwd: dir, env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(srv.requests.length, 4, 'nothing sent again');
  assert.match(again.stderr, /4 skipped \(4 already described\)/);

  const schema =
    '{"type":"object","properties":{"description":{"type":"string"},"keywords":{"type":"array","items":{"type":"string"}}},"required":["description","keywords"]}';
  const more = await run(['batch', 'Pictures/camera/DSC_0001.jpg', '--xmp', '--existing', 'append', '--schema', schema], { cwd: dir, env });
  assert.equal(more.code, 0, more.stderr);
  const tags = await exiftool.read(join(dir, `${PHOTOS[0]}.xmp`));
  assert.match(String(tags.Description), /^Photo \d\.\nPhoto 5\.$/);
  assert.deepEqual(tags.Subject, ['beach', 'n5']);
});

test('batch --embed: JPEG written in place with a backup, pixels unchanged; RAW gets a sidecar; --xmp-name stem', {
  skip: noFixtures,
}, async () => {
  const srv = await relay();
  const dir = await library();
  const env = relayEnv(srv.url);
  const jpg = join(dir, PHOTOS[0] as string);
  const before = await pixels(jpg);
  const original = readFileSync(jpg);
  const r = await run(['batch', 'Pictures/camera', '-r', '--embed', '--xmp-name', 'stem'], { cwd: dir, env });
  assert.equal(r.code, 0, r.stderr);
  const recs = lines(r.stdout);
  const byImage = Object.fromEntries(recs.map((x) => [x.image, x]));
  assert.equal(byImage['Pictures/camera/DSC_0001.jpg']?.embedded, 'Pictures/camera/DSC_0001.jpg');
  assert.equal(byImage['Pictures/camera/raw/DSC_0002.dng']?.xmp, 'Pictures/camera/raw/DSC_0002.xmp');
  const tags = (await exiftool.readRaw(jpg, ['-G1', '-a'])) as Record<string, unknown>;
  const text = byImage['Pictures/camera/DSC_0001.jpg']?.content;
  assert.equal(tags['XMP-dc:Description'], text);
  assert.equal(tags['IPTC:Caption-Abstract'], text);
  assert.equal(tags['IFD0:ImageDescription'], text);
  assert.equal(await pixels(jpg), before, 'pixels unchanged');
  assert.deepEqual(readFileSync(`${jpg}_original`), original, 'backup kept');
  assert.ok(
    existsSync(join(dir, 'Pictures/camera/raw/DSC_0002.dng')) && !existsSync(join(dir, 'Pictures/camera/raw/DSC_0002.dng_original')),
    'the RAW is not rewritten',
  );

  // --existing overwrite --no-backup: rewritten, no second backup made.
  const o = await run(['batch', 'Pictures/camera/DSC_0001.jpg', '--embed', '--existing', 'overwrite', '--no-backup'], { cwd: dir, env });
  assert.equal(o.code, 0, o.stderr);
  assert.equal((await exiftool.read(jpg)).Description, lines(o.stdout)[0]?.content);
  assert.deepEqual(readFileSync(`${jpg}_original`), original);
});

test('batch --xmp/--embed: usage errors name the flags', async () => {
  const cases: [string[], RegExp][] = [
    [['--xmp', '--embed'], /--xmp and --embed: choose one/],
    [['--no-backup'], /--no-backup goes with --embed/],
    [['--xmp-name', 'stem'], /--xmp-name goes with --xmp or --embed/],
    [['--existing', 'append'], /--existing goes with --sidecar, --hf-metadata, --xmp or --embed/],
  ];
  for (const [flags, re] of cases) {
    const r = await run(['batch', '.', ...flags], { env: relayEnv('http://127.0.0.1:9') });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
  }
});
