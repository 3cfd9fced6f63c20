// The checked fetch against real servers, on loopback only. Loopback stands for both sides here:
// a server on 127.0.0.2 plays a public image host through the policy's test-only `treatAsPublic`,
// names get their answers from its test-only `resolve`, and 127.0.0.1 stays what it is.
// Non-loopback refusals run in a network namespace (test/e2e/ssrf.test.ts).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AddressRefusedError,
  FetchError,
  checkedLookup,
  credentialsIn,
  fetchChecked,
  shownUrl,
  type AddressPolicy,
} from '../../../src/net/fetch.ts';
import { startProxy } from '../../helpers/proxy.ts';

interface Host {
  server: Server;
  port: number;
  hits: string[];
}

async function host(address: string, route: (path: string, port: number) => [number, Record<string, string>, string]): Promise<Host> {
  const hits: string[] = [];
  const h: Host = { server: createServer(), port: 0, hits };
  h.server.on('request', (req, res) => {
    hits.push(req.url ?? '');
    const [status, headers, body] = route(req.url ?? '/', h.port);
    res.writeHead(status, headers).end(body);
  });
  await new Promise<void>((r) => h.server.listen(0, address, () => r()));
  h.port = (h.server.address() as AddressInfo).port;
  return h;
}

let pub: Host; // 127.0.0.2, "public"
let lan: Host; // 127.0.0.1, loopback
before(async () => {
  lan = await host('127.0.0.1', () => [200, { 'content-type': 'image/png' }, 'private bytes']);
  pub = await host('127.0.0.2', (path) => {
    const to = /^\/to\/(.+)$/.exec(path);
    if (to) return [302, { location: decodeURIComponent(to[1]!) }, ''];
    if (path === '/busy') return [503, {}, 'busy'];
    return [200, { 'content-type': 'image/png' }, 'public bytes'];
  });
});
after(() => {
  for (const h of [pub, lan]) {
    h.server.closeAllConnections();
    h.server.close();
  }
});

const fake: Record<string, string[]> = {
  'images.test': ['127.0.0.2'],
  'lan.test': ['127.0.0.1'],
  'both.test': ['127.0.0.2', '127.0.0.1'],
};
const policy: AddressPolicy = {
  allowPrivate: false,
  treatAsPublic: new Set(['127.0.0.2']),
  resolve: async (name) => {
    const a = fake[name];
    if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return a.map((address) => ({ address, family: 4 }));
  },
};
const opts = (over: Partial<Parameters<typeof fetchChecked>[1]> = {}) => ({
  policy,
  timeoutMs: 3000,
  maxBytes: 1024 * 1024,
  tooLarge: () => new Error('too large'),
  ...over,
});
const get = (url: string, over = {}) => fetchChecked(new URL(url), opts(over));
const to = (target: string) => `http://127.0.0.2:${pub.port}/to/${encodeURIComponent(target)}`;

function refused(address: RegExp | string, range: string) {
  return (e: unknown) => {
    assert.ok(e instanceof AddressRefusedError, String(e));
    assert.equal(e.exitCode, 2);
    if (typeof address === 'string') assert.equal(e.address, address);
    else assert.match(e.address, address);
    assert.equal(e.range, range);
    assert.match(e.message, /needs --allow-private-urls$/);
    return true;
  };
}

for (const transport of ['node:http', 'undici'] as const)
  describe(`through ${transport}`, () => {
    // undici carries a download when a proxy is set; NO_PROXY sends these hosts direct through its agent
    before(() => {
      if (transport === 'undici') Object.assign(process.env, { HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '*' });
    });
    after(() => {
      delete process.env.HTTP_PROXY;
      delete process.env.NO_PROXY;
    });

    test('loopback is refused by default and nothing reaches it', async () => {
      lan.hits.length = 0;
      await assert.rejects(get(`http://127.0.0.1:${lan.port}/a.png`), refused('127.0.0.1', 'loopback'));
      await assert.rejects(get(`http://localhost:${lan.port}/a.png`), refused('localhost', 'localhost'));
      await assert.rejects(get(`http://2130706433:${lan.port}/a.png`), refused('127.0.0.1', 'loopback'));
      await assert.rejects(
        get(`http://[::ffff:127.0.0.1]:${lan.port}/a.png`),
        refused('::ffff:7f00:1', 'IPv4-mapped loopback (127.0.0.1)'),
      );
      assert.deepEqual(lan.hits, []);
    });

    test('allowed with the opt-in', async () => {
      const r = await get(`http://127.0.0.1:${lan.port}/a.png`, { policy: { allowPrivate: true } });
      assert.equal(r.bytes.toString(), 'private bytes');
    });

    test('a name is connected to at the address that was checked', async () => {
      // images.test exists only in the test resolver: the connection used its answer
      const r = await get(`http://images.test:${pub.port}/a.png`);
      assert.equal(r.bytes.toString(), 'public bytes');
      assert.equal(r.url.hostname, 'images.test');
    });

    test('a name that resolves to loopback, even among public answers, is refused', async () => {
      lan.hits.length = 0;
      await assert.rejects(get(`http://lan.test:${lan.port}/a.png`), (e: unknown) => {
        refused('127.0.0.1', 'loopback')(e);
        assert.match(
          (e as Error).message,
          /^lan\.test resolves to 127\.0\.0\.1, a loopback address; fetching from it needs --allow-private-urls$/,
        );
        return true;
      });
      await assert.rejects(get(`http://both.test:${pub.port}/a.png`), refused('127.0.0.1', 'loopback'));
      assert.deepEqual(lan.hits, []);
    });

    test('every redirect hop is checked: a public host redirecting to loopback is refused', async () => {
      lan.hits.length = 0;
      for (const target of [
        `http://127.0.0.1:${lan.port}/a.png`,
        `http://localhost:${lan.port}/a.png`,
        `http://lan.test:${lan.port}/a.png`,
      ]) {
        await assert.rejects(get(to(target)), (e: unknown) => {
          assert.ok(e instanceof AddressRefusedError, String(e));
          assert.match(e.message, new RegExp(`^redirected to ${target.replace(/[.?*+^$[\]\\(){}|-]/g, '\\$&')}: `));
          return true;
        });
      }
      assert.deepEqual(lan.hits, []);
      // and a redirect to another public host is followed
      const r = await get(to(`http://images.test:${pub.port}/b.png`));
      assert.equal(r.bytes.toString(), 'public bytes');
    });

    test('a 503 and an unknown name are fetch failures (exit 4), with the status', async () => {
      await assert.rejects(get(`http://127.0.0.2:${pub.port}/busy`), (e: unknown) => {
        assert.ok(e instanceof FetchError, String(e));
        assert.equal(e.exitCode, 4);
        assert.equal(e.status, 503);
        assert.equal(e.message, 'HTTP 503 Service Unavailable');
        return true;
      });
      await assert.rejects(get(`http://nowhere.test:${pub.port}/a.png`), (e: unknown) => {
        assert.ok(e instanceof FetchError, String(e));
        assert.equal(e.exitCode, 4);
        assert.equal(e.code, 'ENOTFOUND');
        assert.equal(e.message, 'host not found');
        return true;
      });
    });
  });

test('through a proxy: the host as written is still checked; the opt-in goes through the proxy', async () => {
  const proxy = await startProxy();
  process.env.HTTP_PROXY = proxy.url;
  const viaProxy = { policy };
  try {
    lan.hits.length = 0;
    await assert.rejects(get(`http://127.0.0.1:${lan.port}/a.png`, viaProxy), refused('127.0.0.1', 'loopback'));
    await assert.rejects(get(`http://localhost:${lan.port}/a.png`, viaProxy), refused('localhost', 'localhost'));
    await assert.rejects(get(to(`http://127.0.0.1:${lan.port}/a.png`), viaProxy), refused('127.0.0.1', 'loopback'));
    assert.deepEqual(lan.hits, []);
    assert.ok(
      proxy.seen.every((s) => !s.target.includes(`:${lan.port}`)),
      JSON.stringify(proxy.seen),
    );
    const r = await get(`http://127.0.0.1:${lan.port}/a.png`, { policy: { allowPrivate: true } });
    assert.equal(r.bytes.toString(), 'private bytes');
    assert.ok(
      proxy.seen.some((s) => s.target.includes(`127.0.0.1:${lan.port}`)),
      JSON.stringify(proxy.seen),
    );
  } finally {
    delete process.env.HTTP_PROXY;
    await proxy.close();
  }
});

// The refusal line, one per kind of host: it names the URL (the caller adds it), the address and the opt-in.
const lines: [ConstructorParameters<typeof AddressRefusedError>, string][] = [
  [['http://10.0.0.1/', '10.0.0.1', 'private', { redirected: false }], '10.0.0.1 is a private address'],
  [['http://0.0.0.0/', '0.0.0.0', 'unspecified', { redirected: false }], '0.0.0.0 is an unspecified address'],
  [['http://[fd00::1]/', 'fd00::1', 'unique-local', { redirected: false }], 'fd00::1 is a unique-local address'],
  [
    ['http://[::ffff:7f00:1]/', '::ffff:7f00:1', 'IPv4-mapped loopback (127.0.0.1)', { redirected: false }],
    '::ffff:7f00:1 is an IPv4-mapped loopback (127.0.0.1) address',
  ],
  [['http://localhost/', 'localhost', 'localhost', { redirected: false }], 'localhost is the local machine'],
  [['http://printer.local/', 'printer.local', 'an mDNS .local name', { redirected: false }], 'printer.local is an mDNS .local name'],
  [
    ['http://img.example/', '10.1.2.3', 'private', { redirected: false, resolvedFrom: 'img.example' }],
    'img.example resolves to 10.1.2.3, a private address',
  ],
  [
    ['http://127.0.0.1/x', '127.0.0.1', 'loopback', { redirected: true }],
    'redirected to http://127.0.0.1/x: 127.0.0.1 is a loopback address',
  ],
];
for (const [args, start] of lines) {
  test(`refusal: ${start}`, () =>
    assert.equal(new AddressRefusedError(...args).message, `${start}; fetching from it needs --allow-private-urls`));
}

describe('URLs with credentials', () => {
  for (const [url, refused, shown] of <[string, boolean, string][]>[
    ['https://example.com/a.png', false, 'https://example.com/a.png'],
    ['https://user@example.com/a.png', true, 'https://user@example.com/a.png'],
    ['https://user:pw@example.com/a.png', true, 'https://user:***@example.com/a.png'],
    ['https://:pw@example.com/a.png', true, 'https://:***@example.com/a.png'],
    ['https://example.com/a.png?user=x&password=y', false, 'https://example.com/a.png?user=x&password=y'],
  ]) {
    test(`${url}: ${refused ? 'refused' : 'fetched'}, shown as ${shown}`, () => {
      assert.equal(credentialsIn(new URL(url)) !== undefined, refused);
      assert.equal(shownUrl(new URL(url)), shown);
    });
  }
});

test('checkedLookup through the system resolver: localhost (in every hosts file) answers loopback, refused', async () => {
  const lookup = checkedLookup({ allowPrivate: false });
  const err = await new Promise<unknown>((resolve) =>
    (lookup as unknown as (h: string, o: object, cb: (e: unknown) => void) => void)('localhost', { all: true }, resolve),
  );
  assert.ok(err instanceof Error, String(err));
  assert.match(err.message, /^(127\.0\.0\.1|::1) is (loopback)$/);
});
