// docs/config.md's table of profile keys is the declaration in src/config/keys.ts, rendered: adding or
// changing a setting there and not here fails this test with the table to paste.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { join } from 'node:path';
import { SETTING_KEYS, keysTable } from '../../../src/config/keys.ts';
import { ROOT } from '../../helpers/shared.ts';

const DOC = readFileSync(join(ROOT, 'docs', 'config.md'), 'utf8');

test("docs/config.md's table of profile keys matches the declaration", () => {
  const m = /<!-- keys:[^\n]*-->\n([\s\S]*?)<!-- \/keys -->/.exec(DOC);
  assert.ok(m, 'docs/config.md has no <!-- keys: … --> … <!-- /keys --> block');
  assert.equal(m[1], keysTable(), `docs/config.md's table of keys is out of date; put this in its place:\n${keysTable()}`);
});

test('the table names every key that is not hidden, once', () => {
  const table = keysTable();
  for (const [key, spec] of Object.entries(SETTING_KEYS)) {
    const rows = table.split('\n').filter((l) => l.startsWith(`| \`${key}\` |`));
    assert.equal(rows.length, 'hidden' in spec && spec.hidden ? 0 : 1, key);
  }
});
