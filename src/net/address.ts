// Which hosts an image URL may be fetched from: only public unicast addresses, unless the user
// opts in (--allow-private-urls). Pure: the fetch (fetch.ts) applies it to the URL's own host and
// to every address a name resolves to, on every redirect hop.
//
// Parsing and the special-purpose ranges are ipaddr.js's (the IANA registries, kept up to date
// there); what is decided here is which of them stay off limits and how embedded IPv4 addresses
// (IPv4-mapped, NAT64) are judged. Numeric spellings of IPv4 (2130706433, 0177.0.0.1, 0x7f.1,
// 127.1) need nothing here: the WHATWG URL parser turns them all into 127.0.0.1 first.
import ipaddr from 'ipaddr.js';

/** Words for ipaddr.js's range names, as the refusal says them. */
const RANGE_WORDS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  uniqueLocal: 'unique-local',
  deprecatedSiteLocal: 'site-local',
  reserved: 'reserved',
  benchmarking: 'benchmarking',
};

/**
 * What a literal IP address is: `null` when it is public unicast, else the kind that keeps it off
 * limits (`loopback`, `private`, `link-local`, `IPv4-mapped loopback`…). Not an address: throws.
 */
export function addressRange(ip: string): string | null {
  const addr = ipaddr.parse(ip.replace(/^\[(.*)\]$/, '$1'));
  if (addr.kind() === 'ipv4') {
    const range = (addr as ipaddr.IPv4).range();
    return range === 'unicast' ? null : (RANGE_WORDS[range] ?? `special-purpose (${range})`);
  }
  const v6 = addr as ipaddr.IPv6;
  const range = v6.range();
  // ::ffff:a.b.c.d and ::ffff:0:a.b.c.d reach the IPv4 host a.b.c.d: judge that one.
  if (range === 'ipv4Mapped' || range === 'rfc6145') {
    const inner = embeddedIPv4(v6);
    const innerRange = addressRange(inner);
    return innerRange === null ? null : `IPv4-mapped ${innerRange} (${inner})`;
  }
  // 64:ff9b::/96 is how an IPv6-only network with DNS64 reaches every IPv4 site: allowed when the
  // IPv4 address inside is public. The local-use prefix 64:ff9b:1::/48 has no fixed layout: refused.
  if (range === 'rfc6052') {
    if (!v6.match(ipaddr.IPv6.parse('64:ff9b::'), 96)) return 'local-use NAT64';
    const inner = embeddedIPv4(v6);
    const innerRange = addressRange(inner);
    return innerRange === null ? null : `NAT64 ${innerRange} (${inner})`;
  }
  if (range !== 'unicast') return RANGE_WORDS[range] ?? `special-purpose (${range})`;
  // Global unicast is 2000::/3; everything else unassigned is refused, including the deprecated
  // IPv4-compatible ::a.b.c.d, which some stacks still route to a.b.c.d.
  if (!v6.match(ipaddr.IPv6.parse('2000::'), 3)) {
    return v6.match(ipaddr.IPv6.parse('::'), 96) ? `IPv4-compatible (${embeddedIPv4(v6)})` : 'non-global';
  }
  return null;
}

function embeddedIPv4(v6: ipaddr.IPv6): string {
  const [hi = 0, lo = 0] = v6.parts.slice(6);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/**
 * Names that stand for the local machine or network whatever DNS says: refused before any look-up,
 * also when a proxy would resolve them. localhost (RFC 6761), mDNS .local (RFC 6762), .internal
 * (reserved for private use; cloud metadata: metadata.google.internal), home.arpa (RFC 8375), and a
 * name without a dot (an intranet host a resolver completes with its search domains).
 */
export function localName(hostname: string): string | null {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return 'localhost';
  if (name.endsWith('.local')) return 'an mDNS .local name';
  if (name === 'internal' || name.endsWith('.internal')) return 'a private-use .internal name';
  if (name === 'home.arpa' || name.endsWith('.home.arpa')) return 'a home.arpa name';
  if (!name.includes('.')) return 'a name without a dot (a local-network host)';
  return null;
}

/**
 * What the host of a URL is, before anything is resolved: a literal address (with its range,
 * null = public), a name that is local whatever DNS says, or a name to resolve and check.
 */
export type HostVerdict =
  | { kind: 'address'; address: string; range: string | null }
  | { kind: 'local-name'; name: string; why: string }
  | { kind: 'name'; name: string };

export function hostVerdict(url: URL): HostVerdict {
  const host = url.hostname;
  // The URL parser has already written every IPv4 spelling as a.b.c.d and IPv6 in brackets.
  if (host.startsWith('[') || ipaddr.IPv4.isValidFourPartDecimal(host)) {
    const address = host.replace(/^\[(.*)\]$/, '$1');
    return { kind: 'address', address, range: addressRange(address) };
  }
  const why = localName(host);
  return why ? { kind: 'local-name', name: host, why } : { kind: 'name', name: host };
}
