// End to end: no model set → picked from the relay's GET /v1/models, cached per base URL in
// $XDG_CACHE_HOME/imgdesc, refreshed after a day or when the relay no longer has it; a model the
// relay does not have is exit 4 with the closest ids it lists.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { relayEnv, run, tempDir } from '../helpers/cli.ts';
import { completion, sendJson, startServer, type Handler, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let png: string;
before(async () => {
  server = await startServer();
  png = join(tempDir(), 'dog.png');
  writeFileSync(
    png,
    await sharp({ create: { width: 16, height: 16, channels: 3, background: '#a52' } })
      .png()
      .toBuffer(),
  );
});
after(() => server.close());

const LISTED = ['gpt-4o', 'claude-3-7-sonnet-20250219', 'claude-sonnet-4-5-20250929', 'claude-sonnet-4-20250514', 'text-embedding-3-small'];

/** A relay that lists `ids` and answers chat for those only, the way Anthropic's 404 says it (not_found_error). */
function relay(ids: string[]): Handler {
  return (req, res) => {
    if (req.method === 'GET')
      return sendJson(res, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', owned_by: 'custom' })) });
    if (!ids.includes(req.json.model)) {
      return sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: `model: ${req.json.model}` } });
    }
    sendJson(res, 200, completion(`Seen by ${req.json.model}.`, { model: req.json.model }));
  };
}

const noModel = (extra: Record<string, string | undefined> = {}) => relayEnv(server.url, { IMGDESC_MODEL: undefined, ...extra });

// Runs that share a config home ask the same question again: --no-cache, so each one is sent.
describe('model picking', () => {
  test('picks the newest Sonnet, says so, caches it; the next run sends no extra request', async () => {
    const home = tempDir('imgdesc-cfg-');
    server.requests.length = 0;
    server.handler = relay(LISTED);
    const r = await run([png, '--no-cache'], { env: noModel(), configHome: home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Seen by claude-sonnet-4-5-20250929.\n');
    assert.match(
      r.stderr,
      /no model set: using claude-sonnet-4-5-20250929, picked from the relay's list \(imgdesc models lists them; choose one with -m/,
    );
    assert.deepEqual(
      server.requests.map((q) => `${q.method} ${q.url}`),
      ['GET /v1/models', 'POST /v1/chat/completions'],
    );
    const cache = JSON.parse(readFileSync(join(home, '.cache', 'imgdesc', 'models.json'), 'utf8'));
    assert.equal(cache[`${server.url}/v1/models`].picked, 'claude-sonnet-4-5-20250929');
    assert.equal(existsSync(join(home, 'imgdesc', 'config.json')), false, 'the config file stays what the user wrote');

    server.requests.length = 0;
    const again = await run([png, '--no-cache'], { env: noModel(), configHome: home });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '');
    assert.deepEqual(
      server.requests.map((q) => q.method),
      ['POST'],
    );
  });

  test('XDG_CACHE_HOME is honoured; a pick older than a day is refreshed', async () => {
    const cacheHome = tempDir('imgdesc-cache-');
    const key = `${server.url}/v1/models`;
    mkdirSync(join(cacheHome, 'imgdesc'));
    writeFileSync(
      join(cacheHome, 'imgdesc', 'models.json'),
      JSON.stringify({ [key]: { picked: 'gpt-4o', ids: ['gpt-4o'], at: Date.now() - 25 * 3600_000 } }),
    );
    server.requests.length = 0;
    server.handler = relay(LISTED);
    const r = await run([png], { env: noModel({ XDG_CACHE_HOME: cacheHome }) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests[0]!.method, 'GET');
    assert.equal(JSON.parse(readFileSync(join(cacheHome, 'imgdesc', 'models.json'), 'utf8'))[key].picked, 'claude-sonnet-4-5-20250929');
  });

  test('a cached pick the relay no longer has: refreshed, picked again, asked once more', async () => {
    const home = tempDir('imgdesc-cfg-');
    server.handler = relay(LISTED);
    assert.equal((await run([png, '--no-cache'], { env: noModel(), configHome: home })).code, 0);
    // The relay retires the cached model.
    server.handler = relay(['gpt-4o', 'claude-sonnet-4-20250514']);
    server.requests.length = 0;
    const r = await run([png, '--no-cache'], { env: noModel(), configHome: home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Seen by claude-sonnet-4-20250514.\n');
    assert.match(r.stderr, /claude-sonnet-4-5-20250929 is gone from the relay: using claude-sonnet-4-20250514/);
    assert.deepEqual(
      server.requests.map((q) => q.method),
      ['POST', 'GET', 'POST'],
    );
  });

  test('--dry-run sends nothing and says the model will be picked', async () => {
    server.requests.length = 0;
    const r = await run(['--dry-run', png], { env: noModel() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests.length, 0);
    assert.match(r.stderr, /model: none set; it will be picked from the relay's model list when sent/);
    assert.match(r.stdout, /"model": "\(picked from the relay's model list\)"/);
  });

  test('a relay listing no vision model: exit 3 naming what it lists', async () => {
    server.handler = relay(['gpt-3.5-turbo', 'text-embedding-3-small']);
    const r = await run([png], { env: noModel() });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /none of the 2 the relay lists is known to see images \(gpt-3.5-turbo, text-embedding-3-small\)/);
  });

  test('a model the relay does not have: exit 4 with the closest ids it lists, not retried', async () => {
    server.handler = relay(LISTED);
    server.requests.length = 0;
    const r = await run([png], { env: relayEnv(server.url) }); // the retired claude-3-5-sonnet-20240620
    assert.equal(r.code, 4);
    assert.match(
      r.stderr,
      /model 'claude-3-5-sonnet-20240620' is not available at this relay: HTTP 404: model: claude-3-5-sonnet-20240620 \(request id req_test_1\)\nhint: closest the relay lists: claude-3-7-sonnet-20250219, .*run `imgdesc doctor`\n$/,
    );
    assert.deepEqual(
      server.requests.map((q) => q.method),
      ['POST', 'GET'],
    );
  });

  test('batch picks once for every image', async () => {
    server.handler = relay(LISTED);
    server.requests.length = 0;
    const dir = tempDir();
    writeFileSync(join(dir, 'a.png'), readFileSync(png));
    writeFileSync(join(dir, 'b.png'), readFileSync(png));
    const r = await run(['batch', dir], { env: noModel() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests.filter((q) => q.method === 'GET').length, 1);
    for (const line of r.stdout.trim().split('\n')) assert.equal(JSON.parse(line).model, 'claude-sonnet-4-5-20250929');
  });

  test('batch: a cached pick the relay no longer has is forgotten for the next run', async () => {
    const home = tempDir('imgdesc-cfg-');
    server.handler = relay(LISTED);
    assert.equal((await run([png, '--no-cache'], { env: noModel(), configHome: home })).code, 0);
    server.handler = relay(['claude-sonnet-4-20250514']);
    const dir = tempDir();
    writeFileSync(join(dir, 'a.png'), readFileSync(png));
    const r = await run(['batch', '--retries', '0', dir, '--no-cache'], { env: noModel(), configHome: home });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /claude-sonnet-4-5-20250929 is gone from the relay; the cached pick was forgotten: rerun to pick another/);
    const cache = JSON.parse(readFileSync(join(home, '.cache', 'imgdesc', 'models.json'), 'utf8'));
    assert.equal(cache[`${server.url}/v1/models`], undefined);
    const again = await run(['batch', dir, '--no-cache'], { env: noModel(), configHome: home });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout.trim()).model, 'claude-sonnet-4-20250514');
  });

  test('batch with a model the relay does not have: one line naming the closest ids', async () => {
    server.handler = relay(LISTED);
    const dir = tempDir();
    writeFileSync(join(dir, 'a.png'), readFileSync(png));
    const r = await run(['batch', dir], { env: relayEnv(server.url) });
    assert.equal(r.code, 5);
    assert.match(
      r.stderr,
      /warning: model 'claude-3-5-sonnet-20240620' is not available at this relay; closest the relay lists: claude-3-7-sonnet-20250219, /,
    );
  });
});
