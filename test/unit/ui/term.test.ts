import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colorLevel, Term } from '../../../src/ui/term.ts';
import { formatImageReport, formatDuration } from '../../../src/ui/render.ts';
import { formatBytes, formatCount } from '../../../src/format.ts';
import { testIO } from '../../helpers/io.ts';

test('colour level, one line per rule', () => {
  assert.equal(colorLevel(true, {}, false), 1);
  assert.equal(colorLevel(false, {}, false), 0, 'not a TTY');
  assert.equal(colorLevel(true, { NO_COLOR: '1' }, false), 0, 'NO_COLOR');
  assert.equal(colorLevel(true, { TERM: 'dumb' }, false), 0, 'TERM=dumb');
  assert.equal(colorLevel(true, {}, true), 0, '--no-color');
  assert.equal(colorLevel(false, { FORCE_COLOR: '1' }, false), 1, 'FORCE_COLOR beats no TTY');
  assert.equal(colorLevel(true, { FORCE_COLOR: '3', NO_COLOR: '1' }, false), 3, 'FORCE_COLOR beats NO_COLOR');
  assert.equal(colorLevel(true, { FORCE_COLOR: '0' }, false), 0);
  assert.equal(colorLevel(true, { FORCE_COLOR: '1' }, true), 0, '--no-color beats FORCE_COLOR');
  assert.equal(colorLevel(true, { TERM: 'xterm-256color' }, false), 2);
  assert.equal(colorLevel(true, { COLORTERM: 'truecolor' }, false), 3);
});

test('warnings and errors go to stderr, coloured only on a TTY; -q silences warnings, not errors', () => {
  const plain = testIO({ tty: false });
  const t = new Term(plain, { quiet: false, verbose: false, noColor: false, json: false });
  t.warn('careful');
  t.error('broken', 'fix it');
  t.info('hidden without -v');
  assert.equal(plain.err(), 'warning: careful\nerror: broken\nhint: fix it\n');
  assert.equal(plain.out(), '');

  const tty = testIO({ tty: true, env: { TERM: 'xterm' } });
  new Term(tty, { quiet: false, verbose: true, noColor: false, json: false }).warn('careful');
  assert.match(tty.err(), /\u001b\[33mwarning:/);

  const quiet = testIO();
  const q = new Term(quiet, { quiet: true, verbose: false, noColor: false, json: false });
  q.warn('x');
  q.error('still shown');
  assert.equal(quiet.err(), 'error: still shown\n');
});

test('spinner only on a TTY, and never with -q or --json', () => {
  const on = (tty: boolean, quiet: boolean, json: boolean) =>
    new Term(testIO({ tty, env: { TERM: 'xterm' } }), { quiet, verbose: false, noColor: false, json }).spinnerEnabled;
  assert.equal(on(true, false, false), true);
  assert.equal(on(false, false, false), false);
  assert.equal(on(true, true, false), false);
  assert.equal(on(true, false, true), false);
});

test('formatCount: whole numbers as toLocaleString(en-US) writes them, one line per case', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [7, '7'],
    [999, '999'],
    [1000, '1,000'],
    [12_345, '12,345'],
    [123_456, '123,456'],
    [1_234_567, '1,234,567'],
    [-1234, '-1,234'],
    [Number.MAX_SAFE_INTEGER, '9,007,199,254,740,991'],
    [1234.5, '1,234.5'], // not whole: toLocaleString itself
  ];
  for (const [n, text] of cases) assert.equal(formatCount(n), text, String(n));
  for (let n = 1; n < 1e15; n = n * 7 + 3) assert.equal(formatCount(n), n.toLocaleString('en-US'), String(n));
});

test('renderers', () => {
  assert.equal(formatBytes(512), '512 bytes');
  assert.equal(formatBytes(2048), '2 KiB');
  assert.equal(formatBytes(4_000_000), '3.8 MiB');
  assert.equal(formatBytes(5 * 1024 * 1024), '5 MiB');
  assert.equal(formatDuration(250), '250 ms');
  assert.equal(formatDuration(1500), '1.5 s');
  assert.equal(formatDuration(125_000), '2m05s');
  const line = formatImageReport({
    source: 'photo.jpg',
    kind: 'file',
    sourceType: 'jpeg',
    bytesIn: 4_000_000,
    bytesOut: 300_000,
    widthIn: 4000,
    heightIn: 3000,
    widthOut: 1176,
    heightOut: 1568,
    orientation: 6,
    rotated: true,
    resized: true,
    converted: false,
    reencoded: true,
    metadataStripped: true,
    animated: false,
    unchanged: false,
    quality: 85,
    estimatedTokens: 2459,
    openaiTokens: null,
  });
  assert.match(
    line,
    /^photo\.jpg: jpeg 4000x3000 3\.8 MiB → 1176x1568 293\.0 KiB \(rotated upright \(EXIF orientation 6\), resized, re-encoded, metadata stripped, quality 85\), ≈2459 tokens \(Claude\)$/,
  );
});

// A URL's line says what happened to it: fetched and prepared here (as a file), sent as given, or only planned.
const urlReport = {
  source: 'https://h.example/a.png',
  kind: 'url',
  sourceType: null,
  bytesIn: null,
  bytesOut: null,
  widthIn: null,
  heightIn: null,
  widthOut: null,
  heightOut: null,
  orientation: null,
  rotated: false,
  resized: false,
  converted: false,
  reencoded: false,
  metadataStripped: false,
  animated: false,
  unchanged: false,
  quality: null,
  estimatedTokens: null,
  openaiTokens: null,
} as const;
for (const [over, line] of [
  [{ notFetched: 'pass-url' }, 'https://h.example/a.png: URL passed through as given (--pass-url: the relay fetches it)'],
  [{ notFetched: 'dry-run' }, 'https://h.example/a.png: URL not fetched (--dry-run); when sent, it is fetched and prepared here'],
  [
    { sourceType: 'png', bytesIn: 2048, widthIn: 40, heightIn: 30, unchanged: true },
    'https://h.example/a.png: png 40x30 2 KiB (sent unchanged)',
  ],
] as const) {
  test(`image report of a URL: ${line}`, () => assert.equal(formatImageReport({ ...urlReport, ...over }), line));
}
