import ipaddr from 'ipaddr.js';

const FOUR_PART_DECIMAL = /^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$/;

/**
 * Parses an IP address strictly, in one meaning only.
 *
 * ipaddr.js (like inet_aton) accepts `10.1`, `010.0.0.1` (octal to some tools, decimal to others) and hex
 * parts, and it reads every IPv6 address with an embedded dotted quad as IPv4-mapped, so `::10.0.0.2`
 * (IPv4-compatible, which Node prints for the IPv6 peer ::a00:2) would pass for the IPv4 proxy 10.0.0.2.
 * Here IPv4 is four-part decimal only, an embedded dotted quad must be four-part decimal too, and only the
 * ::ffff:0:0/96 range is IPv4-mapped. Returns null for anything else (host names, zones, garbage).
 */
export function parseAddressStrict(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!text.includes(':')) {
    return FOUR_PART_DECIMAL.test(text) && ipaddr.IPv4.isValid(text) ? ipaddr.IPv4.parse(text) : null;
  }
  if (text.includes('%')) return null;
  let hexText = text;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const quad = text.slice(lastColon + 1);
    if (!FOUR_PART_DECIMAL.test(quad) || !ipaddr.IPv4.isValid(quad)) return null;
    const [a, b, c, d] = ipaddr.IPv4.parse(quad).octets as [number, number, number, number];
    hexText = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  if (!ipaddr.IPv6.isValid(hexText)) return null;
  const address = ipaddr.IPv6.parse(hexText);
  return address;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as dual-stack sockets report IPv4 peers) as IPv4. */
export function unmapIPv4(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}
