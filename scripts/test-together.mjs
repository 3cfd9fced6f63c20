// One node:test process for many test files (the list in IMGDESC_TEST_TOGETHER, as JSON). node 20
// starts a process, and tsx, for every test file: for a unit test of pure logic that start costs more
// than its tests. scripts/test.mjs gives these files to this one; each file's tests keep their names.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const files = JSON.parse(process.env.IMGDESC_TEST_TOGETHER ?? '[]');
for (const file of files) await import(pathToFileURL(resolve(file)).href);
