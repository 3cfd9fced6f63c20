// src/metadata: where descriptions go (pure, one line per case) and what exiftool writes, read back
// with exiftool: the description is there, every other tag and the pixels are unchanged.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import {
  existingDescription,
  exiftoolSession,
  photoText,
  planTarget,
  readExisting,
  writeTarget,
  xmpPathFor,
} from '../../../src/metadata/index.ts';
import { FIXTURES, needs } from '../../helpers/shared.ts';

const tmp = mkdtempSync(join(tmpdir(), 'imgdesc-metadata-'));
const fixtures = `${FIXTURES}/`;
const session = exiftoolSession();
after(() => session.close());

const pathCases: [string, 'ext' | 'stem', string][] = [
  ['photos/a.jpg', 'ext', 'photos/a.jpg.xmp'],
  ['photos/a.jpg', 'stem', 'photos/a.xmp'],
  ['photos/IMG_1.CR3', 'stem', 'photos/IMG_1.xmp'],
  ['photos/v1.2/noext', 'stem', 'photos/v1.2/noext.xmp'],
  ['photos/.hidden', 'stem', 'photos/.hidden.xmp'],
];
for (const [image, naming, want] of pathCases)
  test(`xmp path: ${image} (${naming}) → ${want}`, () => assert.equal(xmpPathFor(image, naming), want));

const text = { description: 'A dog on a beach.', keywords: ['dog', 'beach'] };
const targetCases: [string, string, 'xmp' | 'embed', string, string[]][] = [
  ['JPEG, --xmp', 'jpeg', 'xmp', 'sidecar', ['XMP-dc:Description', 'XMP-dc:Subject']],
  [
    'JPEG, --embed',
    'jpeg',
    'embed',
    'embedded',
    ['XMP-dc:Description', 'EXIF:ImageDescription', 'XMP-dc:Subject', 'IPTC:CodedCharacterSet', 'IPTC:Caption-Abstract', 'IPTC:Keywords'],
  ],
  [
    'TIFF, --embed',
    'tiff',
    'embed',
    'embedded',
    ['XMP-dc:Description', 'EXIF:ImageDescription', 'XMP-dc:Subject', 'IPTC:CodedCharacterSet', 'IPTC:Caption-Abstract', 'IPTC:Keywords'],
  ],
  ['PNG, --embed', 'png', 'embed', 'embedded', ['XMP-dc:Description', 'EXIF:ImageDescription', 'XMP-dc:Subject']],
  ['HEIC, --embed', 'heic', 'embed', 'embedded', ['XMP-dc:Description', 'EXIF:ImageDescription', 'XMP-dc:Subject']],
  ['WebP, --embed', 'webp', 'embed', 'embedded', ['XMP-dc:Description', 'EXIF:ImageDescription', 'XMP-dc:Subject']],
  ['RAW, --embed: always a sidecar', 'cr3', 'embed', 'sidecar', ['XMP-dc:Description', 'XMP-dc:Subject']],
  ['GIF, --embed: a sidecar', 'gif', 'embed', 'sidecar', ['XMP-dc:Description', 'XMP-dc:Subject']],
];
for (const [name, type, mode, where, tags] of targetCases) {
  test(`target: ${name} → ${where}`, () => {
    const t = planTarget('p/a.x', type, mode, 'ext', text);
    assert.equal(t.where, where);
    assert.equal(t.path, where === 'sidecar' ? 'p/a.x.xmp' : 'p/a.x');
    assert.deepEqual(Object.keys(t.tags), tags);
  });
}
test('target: no keywords, no subject tag (existing ones are left alone)', () => {
  assert.deepEqual(Object.keys(planTarget('a.jpg', 'jpeg', 'xmp', 'ext', { description: 'x', keywords: [] }).tags), ['XMP-dc:Description']);
});

const textCases: [string, string, unknown, { description: string; keywords: string[] }][] = [
  ['plain answer', ' A cat. \n', undefined, { description: 'A cat.', keywords: [] }],
  [
    'schema with description and tags',
    '{…}',
    { description: 'A cat.', tags: ['cat', ' pet ', 'cat', ''] },
    { description: 'A cat.', keywords: ['cat', 'pet'] },
  ],
  ['schema with caption and keywords', '{…}', { caption: 'A cat.', keywords: ['cat'] }, { description: 'A cat.', keywords: ['cat'] }],
  ['schema without a text field', '{"n": 3}', { n: 3 }, { description: '{"n": 3}', keywords: [] }],
  ['array data (-n)', 'a', [{ description: 'x' }], { description: 'a', keywords: [] }],
];
for (const [name, answer, data, want] of textCases) test(`photo text: ${name}`, () => assert.deepEqual(photoText(answer, data), want));

const existingCases: [string, Record<string, unknown>, string | undefined][] = [
  ['none', { Make: 'X' }, undefined],
  ['XMP first', { Description: 'xmp', ImageDescription: 'exif' }, 'xmp'],
  ['IPTC', { 'Caption-Abstract': 'iptc' }, 'iptc'],
  ['blank is none', { ImageDescription: '   ' }, undefined],
];
for (const [name, tags, want] of existingCases) test(`existing description: ${name}`, () => assert.equal(existingDescription(tags), want));

/** Every tag exiftool reads, by group, without the ones a write is expected to change (the written
 * fields, their MWG composites, and offsets that move when a block grows). */
async function allTags(path: string, changed: RegExp): Promise<Record<string, unknown>> {
  const et = await session.get();
  const tags = (await et.readRaw(path, ['-G1', '-a', '-s'])) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(tags).filter(([k]) => !changed.test(k)));
}

async function pixelHash(path: string): Promise<string> {
  return createHash('sha256')
    .update(await sharp(path).raw().toBuffer())
    .digest('hex');
}

const VOLATILE =
  /^(SourceFile|MWG:(Description|Keywords)|IFD1:ThumbnailOffset|System:|File:|ExifTool:|Composite:|XMP-x:XMPToolkit|IFD0:(ImageDescription|XResolution|YResolution|ResolutionUnit|YCbCrPositioning)|ExifIFD:ExifVersion|ExifIFD:ColorSpace|IPTC:(CodedCharacterSet|Caption-Abstract|Keywords|ApplicationRecordVersion|EnvelopeRecordVersion)|XMP-dc:(Description|Subject)|Photoshop:|IFD0:ExifOffset)/;

test('--embed into a real JPEG with IPTC and XMP: the three fields and keywords written, the rest and the pixels unchanged, a backup kept', {
  skip: needs(`${fixtures}jpeg-iptc-xmp-photo.jpg`),
}, async () => {
  const img = join(tmp, 'photo.jpg');
  copyFileSync(`${fixtures}jpeg-iptc-xmp-photo.jpg`, img);
  const before = await allTags(img, VOLATILE);
  const pixels = await pixelHash(img);
  const et = await session.get();
  const t = planTarget(img, 'jpeg', 'embed', 'ext', { description: 'Ein Hund am Strand – ok.', keywords: ['dog', 'beach'] });
  await writeTarget(et, t, true);
  const tags = (await et.readRaw(img, ['-G1', '-a', '-s'])) as Record<string, unknown>;
  assert.equal(tags['XMP-dc:Description'], 'Ein Hund am Strand – ok.');
  assert.equal(tags['IPTC:Caption-Abstract'], 'Ein Hund am Strand – ok.');
  assert.equal(tags['IFD0:ImageDescription'], 'Ein Hund am Strand – ok.');
  assert.deepEqual(tags['XMP-dc:Subject'], ['dog', 'beach']);
  assert.deepEqual(tags['IPTC:Keywords'], ['dog', 'beach']);
  assert.deepEqual(await allTags(img, VOLATILE), before);
  assert.equal(await pixelHash(img), pixels);
  assert.deepEqual(readFileSync(`${img}_original`), readFileSync(`${fixtures}jpeg-iptc-xmp-photo.jpg`));
  assert.equal((await readExisting(et, img)).description, 'Ein Hund am Strand – ok.');
});

for (const type of ['png', 'webp', 'tiff'] as const) {
  test(`--embed into ${type} without a backup: description written, pixels unchanged`, async () => {
    const img = join(tmp, `shot.${type}`);
    const s = sharp({ create: { width: 40, height: 30, channels: 3, background: '#468' } });
    writeFileSync(img, await (type === 'png' ? s.png() : type === 'webp' ? s.webp({ lossless: true }) : s.tiff()).toBuffer());
    const pixels = await pixelHash(img);
    const et = await session.get();
    await writeTarget(et, planTarget(img, type, 'embed', 'ext', { description: 'A blue card.', keywords: [] }), false);
    const got = await readExisting(et, img);
    assert.equal(got.description, 'A blue card.');
    assert.equal(await pixelHash(img), pixels);
    assert.equal(existsSync(`${img}_original`), false);
  });
}

test('--xmp: a new sidecar is created; an existing one keeps its rating, labels and regions', async () => {
  const et = await session.get();
  const img = join(tmp, 'new.jpg');
  writeFileSync(
    img,
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer(),
  );
  const t = planTarget(img, 'jpeg', 'xmp', 'ext', { description: 'Night.', keywords: ['dark'] });
  await writeTarget(et, t, true);
  assert.equal(t.path, `${img}.xmp`);
  assert.deepEqual(await readExisting(et, t.path), { description: 'Night.', keywords: ['dark'] });

  // A sidecar as digiKam/darktable leave it: rating, colour label, a face region, history.
  const side = join(tmp, 'faces.xmp');
  writeFileSync(
    side,
    `<?xpacket begin='\uFEFF' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x='adobe:ns:meta/'>
<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
 <rdf:Description rdf:about='' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmlns:mwg-rs='http://www.metadataworkinggroup.com/schemas/regions/' xmlns:stArea='http://ns.adobe.com/xmp/sType/Area#' xmlns:darktable='http://darktable.sf.net/'>
  <xmp:Rating>4</xmp:Rating>
  <xmp:Label>Red</xmp:Label>
  <darktable:history_end>3</darktable:history_end>
  <mwg-rs:Regions rdf:parseType='Resource'>
   <mwg-rs:RegionList><rdf:Bag><rdf:li rdf:parseType='Resource'>
    <mwg-rs:Name>Alice</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>
    <mwg-rs:Area rdf:parseType='Resource'><stArea:x>0.5</stArea:x><stArea:y>0.4</stArea:y><stArea:w>0.1</stArea:w><stArea:h>0.2</stArea:h><stArea:unit>normalized</stArea:unit></mwg-rs:Area>
   </rdf:li></rdf:Bag></mwg-rs:RegionList>
  </mwg-rs:Regions>
 </rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>
`,
  );
  const before = await allTags(side, VOLATILE);
  assert.equal(before['XMP-xmp:Rating'], 4);
  assert.ok(
    before['XMP-mwg-rs:RegionList'] ?? before['XMP-mwg-rs:RegionInfo'] ?? Object.keys(before).some((k) => k.startsWith('XMP-mwg-rs:')),
    'region read',
  );
  await writeTarget(et, { where: 'sidecar', path: side, tags: { 'XMP-dc:Description': 'Alice in red.' } }, true);
  assert.equal((await readExisting(et, side)).description, 'Alice in red.');
  assert.deepEqual(await allTags(side, VOLATILE), before);
  assert.equal(existsSync(`${side}_original`), false, 'sidecars are edited without a backup file');
});

test('--embed into a HEIC: description and keywords written, the decoded pixels unchanged', {
  skip: needs(`${fixtures}heic-sample.heic`),
}, async () => {
  const { findHeifTool, withHeicPixels } = await import('../../../src/image/decoders.ts');
  // a small real HEIC (the 1440x960 one cost ~0.3 s of CPU more: decoded twice, rewritten)
  const img = join(tmp, 'phone.heic');
  copyFileSync(`${fixtures}heic-sample.heic`, img);
  // The decoded image, hashed: through the system's libheif when it is on PATH, as imgdesc decodes
  // then (its YUV planes, as y4m: ~0.15 s of CPU a decode), else through libheif's WebAssembly
  // build (about half a second of CPU to load it in a process that has not yet).
  const tool = await findHeifTool(process.env.PATH);
  let decoded = 0;
  const hash = tool
    ? async (p: string) => {
        const out = join(tmp, `phone-${decoded++}.y4m`);
        await promisify(execFile)(tool, [p, out]);
        return createHash('sha256').update(readFileSync(out)).digest('hex');
      }
    : (p: string) => withHeicPixels(readFileSync(p), p, async (px) => createHash('sha256').update(px.data).digest('hex'));
  const before = await hash(img);
  const et = await session.get();
  await writeTarget(et, planTarget(img, 'heic', 'embed', 'ext', { description: 'A marsh.', keywords: ['marsh'] }), true);
  assert.deepEqual(await readExisting(et, img), { description: 'A marsh.', keywords: ['marsh'] });
  assert.equal(await hash(img), before);
  assert.ok(existsSync(`${img}_original`));
});
