// Stores answers as a batch does, all in one file of a small cache (test/unit/core/answers.test.ts
// runs two at once): argv[2] the cache root, argv[3] the cache size in bytes, argv[4] a tag for the
// keys, argv[5] how many answers.
import { AnswerCache } from '../../src/core/answer-cache.ts';

const [root, max, tag, count] = process.argv.slice(2) as [string, string, string, string];
const cache = new AnswerCache(root, Number(max));
for (let i = 0; i < Number(count); i++) {
  const key = `5a${tag}${String(i).padStart(61, '0')}`;
  await cache.put(key, { status: 200, requestId: null, body: { pad: `${tag}${i} ${'x'.repeat(900)}` }, elapsedMs: 1 });
}
