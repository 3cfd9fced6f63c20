// undiciParts: the agent and the request API from undici's own files, else from its index. Both
// ways send a real request to a server on 127.0.0.1, directly and through a proxy (CONNECT: the
// proxy agent's client needs the API undici's index puts on every dispatcher).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Importer, undiciParts } from '../../../src/undici.ts';
import { startProxy } from '../../helpers/proxy.ts';
import { sendJson, startServer, type TestServer } from '../../helpers/server.ts';

let server: TestServer;
before(async () => {
  server = await startServer((req, res) => sendJson(res, 200, { method: req.method, url: req.url }));
});
after(() => server.close());

const asked: string[] = [];
const real: Importer = (specifier) => {
  asked.push(specifier);
  return import(specifier);
};
// a later undici whose files are laid out otherwise: only its index is where it was
const moved: Importer = (specifier) => {
  asked.push(specifier);
  return specifier === 'undici'
    ? import('undici')
    : Promise.reject(Object.assign(new Error(`Cannot find module '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' }));
};

for (const [name, importer, loads] of [
  [
    "undici's files",
    real,
    ['undici/lib/dispatcher/env-http-proxy-agent.js', 'undici/lib/dispatcher/dispatcher.js', 'undici/lib/api/index.js'],
  ],
  [
    'another layout: its index',
    moved,
    ['undici/lib/dispatcher/env-http-proxy-agent.js', 'undici/lib/dispatcher/dispatcher.js', 'undici/lib/api/index.js', 'undici'],
  ],
] as const) {
  test(`undiciParts from ${name}: requests directly and through a proxy, path and query kept`, async () => {
    asked.length = 0;
    const u = await undiciParts(importer);
    assert.deepEqual(asked, loads);
    const proxy = await startProxy();
    const direct = new u.EnvHttpProxyAgent();
    const proxied = new u.EnvHttpProxyAgent({ httpProxy: proxy.url, noProxy: '' });
    try {
      for (const dispatcher of [direct, proxied]) {
        const res = await u.request(new URL(`${server.url}/v1/models?x=1`), { method: 'POST', body: '{}', dispatcher });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(await res.body.json(), { method: 'POST', url: '/v1/models?x=1' });
      }
      assert.deepEqual(proxy.seen, [{ method: 'CONNECT', target: new URL(server.url).host }]);
    } finally {
      await Promise.all([direct.close(), proxied.close(), proxy.close()]);
    }
  });
}
