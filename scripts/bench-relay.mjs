// What the benches share: the CLI they run (built), the median of their runs, and for their relays
// on 127.0.0.1 a chat completion's body and listening on a random port with a close() that does not
// wait for kept-alive connections. Each bench keeps its own handler (latency, 429 windows, counts):
// that is what it measures.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout the benches belong to. */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** bin/imgdesc.js of this checkout, once `npm run build` has made dist/ (else the bench says so and exits). */
export function builtBin() {
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) {
    console.error('run `npm run build` first');
    process.exit(1);
  }
  return join(ROOT, 'bin', 'imgdesc.js');
}

/** A chat.completion response body with one answer. */
export function completionBody(
  content,
  { model = 'bench-model', usage = { prompt_tokens: 10, completion_tokens: 6, total_tokens: 16 } } = {},
) {
  return JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage,
  });
}

/** `server` listening on a random port of 127.0.0.1: its `url` and `close()`. */
export function listenLocal(server) {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      }),
    ),
  );
}

/** The median of the numbers given, leaving out undefined ones (a run that measured nothing); undefined for none. */
export function median(xs) {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  if (!s.length) return undefined;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
