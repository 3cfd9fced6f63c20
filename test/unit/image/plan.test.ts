// planPreparation: the send / convert / refuse decision from facts alone, one line per case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planPreparation, type PreparationFacts } from '../../../src/image/prepare.ts';

const MiB = 1024 * 1024;
const opts = { maxEdge: 1568, maxBytes: 5 * MiB, resize: true };
const jpeg: PreparationFacts = { type: 'jpeg', width: 1200, height: 800, orientation: 1, animated: false, location: false, size: 300_000 };

const cases: [string, Partial<PreparationFacts>, Partial<typeof opts>, string, string[], boolean?][] = [
  ['fine JPEG', {}, {}, 'send', []],
  ['fine PNG', { type: 'png' }, {}, 'send', []],
  ['edge exactly at max', { width: 1568 }, {}, 'send', []],
  ['too wide', { width: 4000, height: 3000 }, {}, 'convert', ['4000x3000 exceeds --max-edge 1568'], true],
  ['too wide PNG: the original may still go', { type: 'png', width: 3000 }, {}, 'convert', ['3000x800 exceeds --max-edge 1568'], true],
  [
    'too wide and turned: the original may not go',
    { width: 4000, height: 3000, orientation: 6 },
    {},
    'convert',
    ['4000x3000 exceeds --max-edge 1568', 'EXIF orientation 6 needs rotating'],
    false,
  ],
  [
    'too wide TIFF: the original may not go',
    { type: 'tiff', width: 4000 },
    {},
    'convert',
    ['TIFF is not accepted by vision APIs', '4000x800 exceeds --max-edge 1568'],
    false,
  ],
  ['too wide, --no-resize', { width: 4000, height: 3000 }, { resize: false }, 'refuse', ['4000x3000 exceeds --max-edge 1568']],
  ['HEIC', { type: 'heic' }, {}, 'convert', ['HEIC is not accepted by vision APIs']],
  ['TIFF', { type: 'tiff' }, {}, 'convert', ['TIFF is not accepted by vision APIs']],
  ['APNG', { type: 'apng', animated: true }, {}, 'convert', ['APNG is animated']],
  ['animated GIF', { type: 'gif', animated: true }, {}, 'convert', ['GIF is animated']],
  ['turned', { orientation: 6 }, {}, 'convert', ['EXIF orientation 6 needs rotating']],
  ['located', { location: true }, {}, 'convert', ['it carries GPS location metadata (use --keep-metadata to send it)']],
  ['heavy', { size: 4 * MiB }, {}, 'convert', ['5.3 MiB of base64 exceeds --max-bytes 5 MiB']],
  ['base64 exactly at max', { size: 3 }, { maxBytes: 4 }, 'send', []],
  [
    'two problems',
    { orientation: 8, location: true },
    {},
    'convert',
    ['EXIF orientation 8 needs rotating', 'it carries GPS location metadata (use --keep-metadata to send it)'],
  ],
];

for (const [name, facts, over, action, problems, originalAllowed = false] of cases) {
  test(`plan: ${name} → ${action}`, () => {
    const plan = planPreparation({ ...jpeg, ...facts }, { ...opts, ...over });
    assert.equal(plan.action, action);
    assert.deepEqual(plan.problems, problems);
    if (plan.action === 'convert') assert.equal(plan.originalAllowed, originalAllowed);
  });
}
