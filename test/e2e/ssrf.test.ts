// Fetched image URLs, end to end: the address rule (issue 19, item 2) and the one HTTP client for
// downloads (issue 24: proxy, exit 4 for a failed download), the same case through describe, batch
// and map. Servers are on 127.0.0.1 only; the non-loopback refusals run in a network namespace
// (`unshare -n`), so nothing could leave the machine even if a refusal failed.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { noNetNamespace, relayEnv, run, runCli, tempDir } from '../helpers/cli.ts';
import { startProxy } from '../helpers/proxy.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a6' } })
  .png()
  .toBuffer();
const dataUrl = `data:image/png;base64,${png.toString('base64')}`;

const relay = await startServer();
const images = await startServer((req, res) => {
  if (req.url === '/busy.png') return void res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
  if (req.url === '/to-creds.png') {
    return void res.writeHead(302, { location: `http://user:hunter2@${req.headers.host}/a.png` }).end();
  }
  res.writeHead(200, { 'content-type': 'image/png' }).end(png);
});
after(() => Promise.all([relay.close(), images.close()]));

function reset(...servers: TestServer[]): void {
  for (const s of servers) s.requests.length = 0;
}
const sentImage = (i = 0): string => relay.requests[i]?.json?.messages?.at(-1)?.content?.[1]?.image_url?.url;
const env = () => relayEnv(relay.url);
const records = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('image URLs with a user name or password', () => {
  test('not fetched: exit 2, the password masked, nothing fetched or sent; in batch a failed item', async () => {
    reset(relay, images);
    const url = `http://user:hunter2@127.0.0.1:${new URL(images.url).port}/a.png`;
    const r = await run(['--allow-private-urls', url], { env: env() });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: http:\/\/user:\*\*\*@127\.0\.0\.1:\d+\/a\.png: a URL with a user name or password is not fetched/);
    assert.doesNotMatch(r.stderr, /hunter2/);
    assert.match(r.stderr, /download it yourself, e\.g\. curl -u USER -o photo\.jpg URL, and give imgdesc the file/);
    const b = await run(['batch', '--allow-private-urls', url], { env: env() });
    assert.equal(b.code, 5, b.stderr);
    assert.equal(records(b.stdout)[0]?.error?.code, 'bad-url');
    assert.equal(images.requests.length, 0);
    assert.equal(relay.requests.length, 0);
  });

  test('a redirect to one is refused: exit 4, the Basic credentials never sent', async () => {
    reset(relay, images);
    const r = await run(['--allow-private-urls', `${images.url}/to-creds.png`], { env: env() });
    assert.equal(r.code, 4, r.stderr);
    assert.match(
      r.stderr,
      /redirected to http:\/\/user:\*\*\*@127\.0\.0\.1:\d+\/a\.png: a URL with a user name or password is not fetched/,
    );
    assert.deepEqual(
      images.requests.map((q) => q.url),
      ['/to-creds.png'],
    );
    assert.ok(images.requests.every((q) => q.headers.authorization === undefined));
    assert.equal(relay.requests.length, 0);
  });
});

describe('describe: loopback image URLs', () => {
  test('refused by default: exit 2, one line naming the URL, the address and the opt-in; nothing fetched or sent', async () => {
    reset(relay, images);
    const url = `${images.url}/a.png`;
    const r = await run([url], { env: env() });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `error: ${url}: 127.0.0.1 is a loopback address; fetching from it needs --allow-private-urls\n`);
    assert.equal(images.requests.length, 0);
    assert.equal(relay.requests.length, 0);
  });

  test('localhost and numeric spellings are refused the same way', async () => {
    reset(relay, images);
    const port = new URL(images.url).port;
    for (const [host, line] of <[string, string][]>[
      ['localhost', 'localhost is the local machine'],
      ['2130706433', '127.0.0.1 is a loopback address'],
      ['0x7f.1', '127.0.0.1 is a loopback address'],
      ['[::ffff:127.0.0.1]', '::ffff:7f00:1 is an IPv4-mapped loopback (127.0.0.1) address'],
    ]) {
      const r = await run([`http://${host}:${port}/a.png`], { env: env() });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`: ${line.replace(/[.()[\]]/g, '\\$&')}; fetching from it needs --allow-private-urls\\n$`));
    }
    assert.equal(images.requests.length, 0);
  });

  test('allowed with --allow-private-urls, and with the profile key', async () => {
    reset(relay, images);
    let r = await run([`${images.url}/a.png`, '--allow-private-urls'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sentImage(0), dataUrl);
    const configHome = tempDir('imgdesc-cfg-');
    const set = await run(['config', 'set', 'allow-private-urls', 'true'], { configHome });
    assert.equal(set.code, 0, set.stderr);
    r = await run([`${images.url}/a.png`], { env: env(), configHome });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sentImage(1), dataUrl);
    // and a flag still wins over the profile
    r = await run([`${images.url}/a.png`, '--no-allow-private-urls'], { env: env(), configHome });
    assert.notEqual(r.code, 0);
  });

  test('--dry-run fetches nothing, and still checks the host as written', async () => {
    reset(relay, images);
    let r = await run([`${images.url}/a.png`, '--dry-run', '--allow-private-urls', '-v'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /a\.png: URL not fetched \(--dry-run\); when sent, it is fetched and prepared here/);
    r = await run([`${images.url}/a.png`, '--dry-run'], { env: env() });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /127\.0\.0\.1 is a loopback address; fetching from it needs --allow-private-urls/);
    assert.equal(images.requests.length, 0);
    assert.equal(relay.requests.length, 0);
  });
});

// issue 24: the same download case through describe, batch and map.
describe('a download the image host fails: describe exit 4, batch and map a failed item', () => {
  const url = () => `${images.url}/busy.png`;

  test('describe', async () => {
    reset(relay);
    const r = await run([url(), '--allow-private-urls'], { env: env() });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stderr, `error: ${url()}: download from ${new URL(url()).host} failed: HTTP 503 Service Unavailable\n`);
    assert.equal(relay.requests.length, 0);
  });

  test('batch', async () => {
    reset(relay);
    const r = await run(['batch', url(), `${images.url}/ok.png`, '--allow-private-urls'], { env: env() });
    assert.equal(r.code, 5, r.stderr);
    const out = records(r.stdout);
    const failed = out.find((x) => !x.ok);
    assert.deepEqual(failed?.error, {
      status: 503,
      code: 'download',
      message: `${url()}: download from ${new URL(url()).host} failed: HTTP 503 Service Unavailable`,
    });
    assert.equal(out.filter((x) => x.ok).length, 1);
    assert.equal(relay.requests.length, 1);
  });

  test('map', async () => {
    reset(relay);
    const input = `${JSON.stringify({ image: url() })}\n${JSON.stringify({ image: `${images.url}/ok.png` })}\n`;
    const r = await run(['map', '--allow-private-urls'], { env: env(), input });
    assert.equal(r.code, 5, r.stderr);
    const out = records(r.stdout);
    assert.equal(out[0]?.ok, false);
    assert.equal(out[0]?.error?.status, 503);
    assert.equal(out[0]?.error?.code, 'download');
    assert.equal(out[1]?.ok, true);
  });

  test('a loopback URL without the opt-in is a failed item in batch and map, naming the opt-in', async () => {
    reset(relay, images);
    const b = await run(['batch', `${images.url}/a.png`], { env: env() });
    assert.equal(b.code, 5, b.stderr);
    assert.equal(records(b.stdout)[0]?.error?.code, 'private-address');
    const m = await run(['map'], { env: env(), input: `${JSON.stringify({ image: `${images.url}/a.png` })}\n` });
    assert.equal(m.code, 5, m.stderr);
    assert.match(records(m.stdout)[0]?.error?.message, /needs --allow-private-urls/);
    assert.equal(images.requests.length, 0);
  });
});

describe('downloads go through the proxy the relay requests use', () => {
  for (const command of ['describe', 'batch', 'map'] as const) {
    test(command, async () => {
      const proxy = await startProxy();
      // undici reads the proxy variables from the process environment, as it does for relay requests.
      process.env.HTTP_PROXY = proxy.url;
      try {
        reset(relay, images);
        const url = `${images.url}/p.png`;
        const args = command === 'describe' ? [url] : command === 'batch' ? ['batch', url] : ['map'];
        const r = await run([...args, '--allow-private-urls'], {
          env: env(),
          ...(command === 'map' ? { input: `${JSON.stringify({ image: url })}\n` } : {}),
        });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(sentImage(0), dataUrl);
        const host = new URL(images.url).host;
        assert.ok(
          proxy.seen.some((s) => s.target === host || s.target === url),
          `the download went through the proxy: ${JSON.stringify(proxy.seen)}`,
        );
      } finally {
        delete process.env.HTTP_PROXY;
        await proxy.close();
      }
    });
  }
});

const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

// HTTPS_PROXY carries https URLs: an image host over TLS (a certificate made for 127.0.0.1, trusted
// through NODE_EXTRA_CA_CERTS, which node reads at start: spawned).
describe('an https image host through HTTPS_PROXY (spawned)', {
  skip: hasOpenssl ? false : 'skipped: openssl (to make a test certificate) is not installed',
}, () => {
  /** A key and a certificate for 127.0.0.1, made once for the tests below (an EC key: an RSA one costs ~0.15 s of CPU to make). */
  let made: { key: string; cert: string } | undefined;
  function certificate(): { key: string; cert: string } {
    if (made) return made;
    const dir = tempDir('imgdesc-tls-');
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    const openssl = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    assert.equal(openssl.status, 0, 'openssl made a certificate');
    made = { key, cert };
    return made;
  }

  async function httpsImages(): Promise<{ url: string; cert: string; hits: string[]; close: () => Promise<void> }> {
    const { key, cert } = certificate();
    const hits: string[] = [];
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    return { url: `https://127.0.0.1:${port}`, cert, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  test('a certificate the machine does not trust: exit 4, naming why', async () => {
    const tls = await httpsImages();
    try {
      const r = await runCli([`${tls.url}/t.png`, '--allow-private-urls'], {
        env: relayEnv(relay.url, { NODE_EXTRA_CA_CERTS: undefined }),
      });
      assert.equal(r.code, 4, r.stderr);
      assert.equal(
        r.stderr,
        `error: ${tls.url}/t.png: download from ${new URL(tls.url).host} failed: its TLS certificate is self-signed\n`,
      );
    } finally {
      await tls.close();
    }
  });

  for (const command of ['describe', 'batch', 'map'] as const) {
    test(command, async () => {
      const [tls, proxy] = await Promise.all([httpsImages(), startProxy()]);
      try {
        reset(relay);
        const url = `${tls.url}/t.png`;
        const args = command === 'describe' ? [url] : command === 'batch' ? ['batch', url] : ['map'];
        const r = await runCli([...args, '--allow-private-urls'], {
          env: relayEnv(relay.url, { HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: tls.cert }),
          ...(command === 'map' ? { input: `${JSON.stringify({ image: url })}\n` } : {}),
        });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(sentImage(0), dataUrl);
        assert.deepEqual(tls.hits, ['/t.png']);
        assert.deepEqual(
          proxy.seen,
          [{ method: 'CONNECT', target: new URL(tls.url).host }],
          'the download was tunnelled through the proxy',
        );
      } finally {
        await Promise.all([tls.close(), proxy.close()]);
      }
    });
  }
});

// Addresses that are not loopback, from inside a network namespace with no interface up: had the
// rule let one through, the fetch could only fail to connect (exit 4), never reach anything.
const inNamespace = (args: string[]) => runCli(args, { env: relayEnv('http://127.0.0.1:9'), prefix: ['unshare', '-n'] });

// Separate processes with nothing shared: side by side.
describe('non-loopback private addresses, in a network namespace', { skip: noNetNamespace, concurrency: true }, () => {
  for (const [url, line] of <[string, string][]>[
    ['http://169.254.169.254/latest/meta-data/iam/', '169.254.169.254 is a link-local address'],
    ['http://10.0.0.1/a.png', '10.0.0.1 is a private address'],
    ['http://[fd00::1]/a.png', 'fd00::1 is a unique-local address'],
    ['http://100.64.0.1/a.png', '100.64.0.1 is a carrier-grade NAT address'],
  ]) {
    test(`${url}: refused (exit 2); with the opt-in it is tried (exit 4: no network here)`, async () => {
      const [r, tried] = await Promise.all([
        inNamespace([url, '--timeout', '5']),
        inNamespace([url, '--timeout', '5', '--allow-private-urls']),
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, `error: ${url}: ${line}; fetching from it needs --allow-private-urls\n`);
      assert.equal(tried.code, 4, tried.stderr);
      assert.match(
        tried.stderr,
        /download from \S+ failed: (network unreachable|host unreachable|address not available|connection refused)$/m,
      );
    });
  }
});
