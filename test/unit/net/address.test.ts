// The address rule for fetched image URLs: every spelling of a host, one line per case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressRange, hostVerdict } from '../../../src/net/address.ts';

// [URL as the user wrote it, what its host is: 'public', a range word, 'name' (resolved later) or 'local: …']
const urls: [string, string][] = [
  ['http://127.0.0.1/a.png', 'loopback'],
  ['http://127.255.255.254/', 'loopback'],
  ['http://2130706433/', 'loopback'],
  ['http://0177.0.0.1/', 'loopback'],
  ['http://0x7f.1/', 'loopback'],
  ['http://0x7f000001/', 'loopback'],
  ['http://127.1/', 'loopback'],
  ['http://127.0.1/', 'loopback'],
  ['http://127.0.0.1./', 'loopback'],
  ['http://0.0.0.0/', 'unspecified'],
  ['http://0/', 'unspecified'],
  ['http://[::]/', 'unspecified'],
  ['http://[::1]/', 'loopback'],
  ['http://[0:0:0:0:0:0:0:1]/', 'loopback'],
  ['http://[::ffff:127.0.0.1]/', 'IPv4-mapped loopback (127.0.0.1)'],
  ['http://[::ffff:7f00:1]/', 'IPv4-mapped loopback (127.0.0.1)'],
  ['http://[::ffff:0:7f00:1]/', 'IPv4-mapped loopback (127.0.0.1)'],
  ['http://[::ffff:169.254.169.254]/', 'IPv4-mapped link-local (169.254.169.254)'],
  ['http://[::ffff:10.0.0.1]/', 'IPv4-mapped private (10.0.0.1)'],
  ['http://[::ffff:8.8.8.8]/', 'public'],
  ['http://[::127.0.0.1]/', 'IPv4-compatible (127.0.0.1)'],
  ['http://[::8.8.8.8]/', 'IPv4-compatible (8.8.8.8)'],
  ['http://[64:ff9b::7f00:1]/', 'NAT64 loopback (127.0.0.1)'],
  ['http://[64:ff9b::a9fe:a9fe]/', 'NAT64 link-local (169.254.169.254)'],
  ['http://[64:ff9b::808:808]/', 'public'],
  ['http://[64:ff9b:1::a00:1]/', 'local-use NAT64'],
  ['http://10.0.0.1/', 'private'],
  ['http://10.255.255.255/', 'private'],
  ['http://172.16.0.1/', 'private'],
  ['http://172.31.255.255/', 'private'],
  ['http://172.32.0.1/', 'public'],
  ['http://192.168.1.1/', 'private'],
  ['http://100.64.0.1/', 'carrier-grade NAT'],
  ['http://100.127.255.255/', 'carrier-grade NAT'],
  ['http://100.128.0.1/', 'public'],
  ['http://169.254.169.254/latest/meta-data/', 'link-local'],
  ['http://[fe80::1]/', 'link-local'],
  ['http://[febf::1]/', 'link-local'],
  ['http://[fec0::1]/', 'site-local'],
  ['http://[fc00::1]/', 'unique-local'],
  ['http://[fd00::1]/', 'unique-local'],
  ['http://[fd00:ec2::254]/', 'unique-local'],
  ['http://224.0.0.1/', 'multicast'],
  ['http://239.255.255.250/', 'multicast'],
  ['http://[ff02::1]/', 'multicast'],
  ['http://255.255.255.255/', 'broadcast'],
  ['http://240.0.0.1/', 'reserved'],
  ['http://192.0.2.1/', 'reserved'],
  ['http://198.18.0.1/', 'reserved'],
  ['http://[2001:db8::1]/', 'reserved'],
  ['http://[2002:7f00:1::]/', 'special-purpose (6to4)'],
  ['http://[100::1]/', 'special-purpose (discard)'],
  ['http://[1000::1]/', 'non-global'],
  ['http://8.8.8.8/', 'public'],
  ['http://1.1.1.1:8080/x.jpg', 'public'],
  ['http://[2606:4700:4700::1111]/', 'public'],
  ['https://[2a00:1450:4001:82a::200e]/', 'public'],
  ['http://localhost/', 'local: localhost'],
  ['http://LOCALHOST./', 'local: localhost'],
  ['http://img.localhost/', 'local: localhost'],
  ['http://printer.local/', 'local: an mDNS .local name'],
  ['http://metadata.google.internal/', 'local: a private-use .internal name'],
  ['http://nas.home.arpa/', 'local: a home.arpa name'],
  ['http://intranet/', 'local: a name without a dot (a local-network host)'],
  ['http://images.example.com/a.png', 'name'],
  ['http://127.0.0.1.nip.io/', 'name'],
];

for (const [input, expected] of urls) {
  test(`${input} → ${expected}`, () => {
    const v = hostVerdict(new URL(input));
    const got = v.kind === 'address' ? (v.range ?? 'public') : v.kind === 'local-name' ? `local: ${v.why}` : 'name';
    assert.equal(got, expected);
  });
}

// Addresses as a resolver answers them (no brackets, any case).
const answers: [string, string | null][] = [
  ['127.0.0.53', 'loopback'],
  ['::1', 'loopback'],
  ['::FFFF:A9FE:A9FE', 'IPv4-mapped link-local (169.254.169.254)'],
  ['FD12:3456::1', 'unique-local'],
  ['93.184.216.34', null],
  ['2606:2800:220:1:248:1893:25c8:1946', null],
];
for (const [address, expected] of answers) {
  test(`resolved ${address} → ${expected ?? 'public'}`, () => assert.equal(addressRange(address), expected));
}
