// Network failures in words: one line per case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { networkWords, statusLabel } from '../../../src/net/words.ts';

describe('networkWords', () => {
  const cases: [string, string, string][] = [
    ['ECONNREFUSED', '', 'connection refused'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND h', 'host not found'],
    ['EAI_AGAIN', '', 'name lookup failed, DNS may be down'],
    ['ECONNRESET', '', 'the server closed the connection'],
    ['UND_ERR_SOCKET', 'other side closed', 'the server closed the connection'],
    ['ENETUNREACH', '', 'network unreachable'],
    ['UND_ERR_CONNECT_TIMEOUT', '', 'connection timed out'],
    ['CERT_HAS_EXPIRED', '', 'its TLS certificate has expired'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', '', 'its TLS certificate is self-signed'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', '', 'its TLS certificate is for another host name'],
    [
      'EPROTO',
      'write EPROTO …:error:0A00010B:SSL routines::wrong version number',
      'it does not speak TLS here, maybe http:// not https://',
    ],
    ['EPROTO', 'write EPROTO something else', 'the TLS handshake failed'],
    ['E_SOMETHING_NEW', '', 'E_SOMETHING_NEW'],
  ];
  for (const [code, message, words] of cases)
    it(`${code}${message ? ` (${message.slice(0, 30)})` : ''} → ${words}`, () => assert.equal(networkWords(code, message), words));
});

describe('statusLabel', () => {
  const cases: [number, string][] = [
    [404, 'HTTP 404 Not Found'],
    [503, 'HTTP 503 Service Unavailable'],
    [418, 'HTTP 418'],
  ];
  for (const [status, label] of cases) it(`${status} → ${label}`, () => assert.equal(statusLabel(status), label));
});
