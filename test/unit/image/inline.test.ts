// URL downloads (the default for http(s) inputs), against a local server on 127.0.0.1 only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { loadImage } from '../../../src/image/index.ts';
import { dataUrlBytes, imageOptions, rejectsWith } from '../../helpers/images.ts';

const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c33' } })
  .png()
  .toBuffer();
// Just past --max-edge (1568): resized like a file, with a quarter of the pixels of a 3000x2000 to decode.
const big = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: '#36c' } })
  .jpeg()
  .toBuffer();
const seen: IncomingHttpHeaders[] = [];
let server: Server;
let base = '';
/** What the endless body (/huge-chunked) had sent, and when its connection closed. */
const endless: { sent: number; closed: Promise<unknown> } = { sent: 0, closed: Promise.resolve() };

before(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    const path = req.url ?? '/';
    if (path === '/img.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    if (path === '/big.jpg') return void res.writeHead(200, { 'content-type': 'image/jpeg' }).end(big);
    if (path === '/octet') return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(png);
    if (path === '/redirect') return void res.writeHead(302, { location: '/img.png' }).end();
    const hops = /^\/hop\/(\d+)$/.exec(path);
    if (hops) {
      const n = Number(hops[1]);
      return void res.writeHead(301, { location: n > 0 ? `/hop/${n - 1}` : '/img.png' }).end();
    }
    if (path === '/page') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>hello</body></html>');
    if (path === '/missing') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('nope');
    if (path === '/huge-declared')
      return void res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(10 * 1024 * 1024) }).end();
    if (path === '/huge-chunked') {
      res.writeHead(200, { 'content-type': 'image/png' });
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (!res.destroyed) {
          endless.sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('error', () => undefined);
      endless.closed = new Promise((resolve) => res.once('close', resolve));
      return void pump();
    }
    // unref'd: the answer nobody waits for any more does not keep the process 2 s past its tests
    if (path === '/slow') return void setTimeout(() => res.writeHead(200, { 'content-type': 'image/png' }).end(png), 2000).unref();
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

// The test servers are on loopback, which is refused by default (address.test.ts, ssrf tests): opted in here.
const inline = (over = {}) => imageOptions({ timeoutMs: 3000, urlPolicy: { allowPrivate: true }, ...over });

test('downloads and prepares like a file, sending no credentials', async () => {
  const r = await loadImage(`${base}/img.png`, inline());
  assert.equal(r.report.kind, 'url');
  assert.equal(r.report.unchanged, true);
  assert.deepEqual(dataUrlBytes(r.url).bytes, png);
  const big2 = await loadImage(`${base}/big.jpg`, inline());
  assert.equal(big2.report.widthOut, 1568);
  assert.ok(seen.every((h) => h.authorization === undefined && h.cookie === undefined));
});

test('follows up to 3 redirects, not more', async () => {
  const r = await loadImage(`${base}/redirect`, inline());
  assert.deepEqual(dataUrlBytes(r.url).bytes, png);
  const three = await loadImage(`${base}/hop/2`, inline());
  assert.equal(three.mime, 'image/png');
  await assert.rejects(loadImage(`${base}/hop/3`, inline()), rejectsWith('download', /more than 3 redirects/));
});

test('a generic content type is fine when the bytes are an image; a web page is not', async () => {
  const r = await loadImage(`${base}/octet`, inline());
  assert.equal(r.mime, 'image/png');
  await assert.rejects(loadImage(`${base}/page`, inline()), rejectsWith('not-image', /not an image \(server sent text\/html, HTTP 200\)/));
});

test('HTTP errors carry the status', async () => {
  await assert.rejects(
    loadImage(`${base}/missing`, inline()),
    rejectsWith('download', /\/missing: download from 127\.0\.0\.1:\d+ failed: HTTP 404 Not Found$/),
  );
});

test('bodies over --max-input-bytes are refused, declared or not', { timeout: 60_000 }, async () => {
  await assert.rejects(loadImage(`${base}/huge-declared`, inline({ maxInputBytes: 1024 * 1024 })), rejectsWith('too-large'));
  await assert.rejects(loadImage(`${base}/huge-chunked`, inline({ maxInputBytes: 1024 * 1024 })), rejectsWith('too-large'));
  // the endless body was not read to its end: the download hung up, a few socket buffers past the cap
  await endless.closed;
  assert.ok(endless.sent < 32 * 1024 * 1024, `${endless.sent} bytes sent`);
});

test('a slow server times out', async () => {
  await assert.rejects(loadImage(`${base}/slow`, inline({ timeoutMs: 200 })), rejectsWith('download', /timed out/));
});

test('an unreachable host is a download error', async () => {
  // Port 9 on loopback (discard) is closed on any normal machine.
  await assert.rejects(
    loadImage('http://127.0.0.1:9/x.png', inline()),
    rejectsWith('download', /: download from 127\.0\.0\.1:9 failed: connection refused$/),
  );
});
