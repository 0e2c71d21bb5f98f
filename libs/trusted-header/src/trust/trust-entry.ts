import ipaddr from 'ipaddr.js';
import { parseAddressStrict, unmapIPv4 } from './parse-address.js';

/** One parsed entry of the trust list: a network in its canonical form. */
export interface TrustRange {
  readonly kind: 'ipv4' | 'ipv6';
  readonly network: ipaddr.IPv4 | ipaddr.IPv6;
  readonly prefixLength: number;
  /** Canonical text, e.g. `10.0.0.0/8` or `fd00::/8`; used in logs. */
  readonly text: string;
}

/** A trust-list entry that cannot be used. `entry` is the text as given, `problem` says why. */
export class TrustEntryError extends Error {
  constructor(
    readonly entry: string,
    readonly problem: string,
  ) {
    super(`${JSON.stringify(entry)} ${problem}`);
    this.name = 'TrustEntryError';
  }
}

const MIN_PREFIX_LENGTH = 8;
const WILDCARDS = new Set(['*', 'any', 'all', '0/0']);
const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Parses one entry strictly (see parseAddressStrict): a trust list must mean one thing to everyone who reads
 * it (Gitea CVE-2026-20896, Grafana's empty whitelist: a permissive parser is a hole).
 */
export function parseTrustEntry(rawEntry: string): TrustRange {
  const entry = rawEntry.trim();
  if (entry === '') throw new TrustEntryError(rawEntry, 'is empty');
  if (WILDCARDS.has(entry.toLowerCase())) {
    throw new TrustEntryError(rawEntry, 'is a wildcard; list the addresses of your proxies instead');
  }
  const parts = entry.split('/');
  if (parts.length > 2) throw new TrustEntryError(rawEntry, 'is not an IP address or CIDR range');
  const [addressText, prefixText] = parts as [string, string | undefined];

  if (addressText.includes('%')) {
    throw new TrustEntryError(rawEntry, 'has an IPv6 zone index; zones are not supported in the trust list');
  }
  const parsed = parseAddressStrict(addressText);
  if (!parsed) {
    throw new TrustEntryError(
      rawEntry,
      addressText.includes(':')
        ? 'is not a valid IPv6 address'
        : 'is not an IP address or CIDR range (use four-part decimal IPv4 or IPv6; host names are not accepted)',
    );
  }
  let network: ipaddr.IPv4 | ipaddr.IPv6 = parsed;

  const maxPrefix = network.kind() === 'ipv4' ? 32 : 128;
  let prefixLength = maxPrefix;
  if (prefixText !== undefined) {
    if (!PREFIX.test(prefixText) || Number(prefixText) > maxPrefix) {
      throw new TrustEntryError(rawEntry, `has an invalid prefix length (0-${maxPrefix} expected)`);
    }
    prefixLength = Number(prefixText);
  }

  // Peers on dual-stack sockets arrive as ::ffff:a.b.c.d and are matched as IPv4, so an IPv4-mapped entry is
  // turned into the IPv4 range it denotes; otherwise it would silently never match.
  if (network instanceof ipaddr.IPv6 && network.isIPv4MappedAddress()) {
    if (prefixLength < 96) {
      throw new TrustEntryError(rawEntry, 'mixes IPv4-mapped addresses with a prefix shorter than /96');
    }
    network = unmapIPv4(network);
    prefixLength -= 96;
  }

  if (prefixLength === 0) {
    throw new TrustEntryError(rawEntry, 'matches every address; list the addresses of your proxies instead');
  }
  // A handful of /1../7 ranges covers everything just as well (0.0.0.0/1 + 128.0.0.0/1); no proxy fleet needs
  // more than a /8.
  if (prefixLength < MIN_PREFIX_LENGTH) {
    throw new TrustEntryError(
      rawEntry,
      `is too broad (prefixes shorter than /${MIN_PREFIX_LENGTH} are refused); list the addresses of your proxies instead`,
    );
  }

  const kind = network.kind();
  const networkAddress =
    kind === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${network.toString()}/${prefixLength}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${network.toString()}/${prefixLength}`);
  if (networkAddress.toString() !== network.toString()) {
    throw new TrustEntryError(
      rawEntry,
      `has host bits set; did you mean ${networkAddress.toString()}/${prefixLength}?`,
    );
  }
  return { kind, network, prefixLength, text: `${network.toString()}/${prefixLength}` };
}
