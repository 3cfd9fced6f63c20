// describe, batch and map set up a run the same way (src/cli/factory.ts). Each case runs through
// all three, so a command that sets itself up again, differently, fails here by name: map once
// sent `"model": ""` with no model set, never looked for the system's libheif, and exited 130 on
// SIGTERM where batch exited 143.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { fixture, noFixtures, relayEnv, run, runCli, tempDir } from '../helpers/cli.ts';
import { completion, sendJson, startServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let dir: string;
let png: string;
before(async () => {
  server = await startServer();
  dir = tempDir();
  png = join(dir, 'dog.png');
  writeFileSync(
    png,
    await sharp({ create: { width: 16, height: 16, channels: 3, background: '#a52' } })
      .png()
      .toBuffer(),
  );
});
after(() => server.close());

/** The same image through each command: its arguments and what it reads on stdin. */
const COMMANDS = {
  describe: (image: string) => ({ args: [image] }),
  batch: (image: string) => ({ args: ['batch', image] }),
  // the images live outside the folder map runs in (rows must stay inside it unless allowed)
  map: (image: string) => ({ args: ['map', '--allow-outside-root'], input: `${JSON.stringify({ image })}\n` }),
} as const satisfies Record<string, (image: string) => { args: string[]; input?: string }>;

const LISTED = ['gpt-4o', 'claude-sonnet-4-5-20250929', 'text-embedding-3-small'];

describe('no model set: each command picks one from the relay list', () => {
  for (const [name, cmd] of Object.entries(COMMANDS)) {
    test(name, async () => {
      server.requests.length = 0;
      server.handler = (req, res) => {
        if (req.method === 'GET') return sendJson(res, 200, { object: 'list', data: LISTED.map((id) => ({ id, object: 'model' })) });
        sendJson(res, 200, completion(`Seen by ${req.json.model}.`, { model: req.json.model }));
      };
      const { args, ...input } = cmd(png);
      const r = await run(args, { env: relayEnv(server.url, { IMGDESC_MODEL: undefined }), ...input, configHome: tempDir('imgdesc-cfg-') });
      assert.ok(r.code === 0, `${name} exited ${r.code}: ${r.stderr}`);
      const sent = server.requests.filter((q) => q.method === 'POST').map((q) => q.json.model);
      assert.deepEqual(sent, ['claude-sonnet-4-5-20250929']);
      assert.match(r.stderr, /no model set: using claude-sonnet-4-5-20250929, picked from the relay's list/);
    });
  }
});

describe("HEIC: each command uses the system's libheif when its tool is on PATH", { skip: noFixtures }, () => {
  for (const [name, cmd] of Object.entries(COMMANDS)) {
    test(name, async () => {
      // A stand-in heif-dec: it says it was called and writes a real JPEG where libheif would.
      const tools = tempDir();
      const jpeg = join(tools, 'decoded.jpg');
      writeFileSync(
        jpeg,
        await sharp({ create: { width: 40, height: 30, channels: 3, background: '#357' } })
          .jpeg()
          .toBuffer(),
      );
      const calls = join(tools, 'calls');
      writeFileSync(calls, '');
      writeFileSync(join(tools, 'heif-dec'), `#!/bin/sh\nfor a; do out="$a"; done\ncp '${jpeg}' "$out"\necho called >> '${calls}'\n`, {
        mode: 0o755,
      });
      server.handler = (_req, res) => sendJson(res, 200, completion('A HEIC photo.'));
      const { args, ...input } = cmd(fixture('heic-sample.heic'));
      const r = await run(args, { env: relayEnv(server.url, { PATH: `${tools}:${process.env.PATH}` }), ...input });
      assert.ok(r.code === 0, `${name} exited ${r.code}: ${r.stderr}`);
      assert.equal(readFileSync(calls, 'utf8'), 'called\n', `${name} did not decode with the system's libheif`);
    });
  }
});

// Side by side, each against a relay of its own that never answers: three separate processes.
describe('SIGTERM: each command stops cleanly with exit 143', { concurrency: true }, () => {
  for (const [name, cmd] of Object.entries(COMMANDS)) {
    test(name, async () => {
      const silent = await startServer(() => {}); // never answers
      try {
        const { args, ...input } = cmd(png);
        const r = await runCli(args, {
          cwd: dir,
          // batch waits this long for the answer in flight, which never comes (10 s by default)
          env: relayEnv(silent.url, { IMGDESC_STOP_GRACE: '0.5' }),
          ...input,
          onSpawn: (child) => {
            const poll = setInterval(() => {
              if (silent.requests.length > 0) {
                clearInterval(poll);
                child.kill('SIGTERM');
              }
            }, 10);
            child.on('exit', () => clearInterval(poll));
          },
        });
        assert.equal(r.code, 143, `${name}: ${r.stderr}`);
        assert.match(r.stderr, /terminated \(SIGTERM\)/);
      } finally {
        await silent.close();
      }
    });
  }
});
