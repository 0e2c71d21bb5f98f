import { parseAddressStrict, unmapIPv4 } from './parse-address.js';
import { parseTrustEntry, TrustEntryError, type TrustRange } from './trust-entry.js';

/** Bound on the per-list memo of peer decisions; a proxy fleet is small, a flood of peers must not grow it. */
const PEER_MEMO_LIMIT = 1024;

/**
 * The set of proxies allowed to assert identity. Decisions depend on the TCP peer address only: never on
 * X-Forwarded-For or any other header (Home Assistant #14345).
 */
export class TrustList {
  private readonly memo = new Map<string, boolean>();

  constructor(readonly ranges: readonly TrustRange[]) {
    if (ranges.length === 0) throw new TrustEntryError('', 'trust list is empty; no peer could ever log in');
  }

  /** Canonical entries, for startup logs. */
  describe(): string[] {
    return this.ranges.map((range) => range.text);
  }

  /**
   * Whether the socket peer is a trusted proxy. `undefined` (a socket already closed) and anything that is not
   * an IP address are untrusted.
   */
  isTrustedPeer(peerAddress: string | undefined): boolean {
    if (!peerAddress) return false;
    const known = this.memo.get(peerAddress);
    if (known !== undefined) return known;
    const trusted = this.matches(peerAddress);
    if (this.memo.size >= PEER_MEMO_LIMIT) this.memo.clear();
    this.memo.set(peerAddress, trusted);
    return trusted;
  }

  private matches(peerAddress: string): boolean {
    const parsed = parseAddressStrict(peerAddress);
    if (!parsed) return false;
    // Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; they are matched against IPv4 entries.
    const peer = unmapIPv4(parsed);
    const kind = peer.kind();
    return this.ranges.some((range) => range.kind === kind && peer.match(range.network, range.prefixLength));
  }
}

/** Parses every entry; the first bad one throws a TrustEntryError naming it. Duplicates are collapsed. */
export function parseTrustList(entries: readonly string[]): TrustList {
  const byText = new Map<string, TrustRange>();
  for (const entry of entries) {
    const range = parseTrustEntry(entry);
    byText.set(range.text, range);
  }
  return new TrustList([...byText.values()]);
}
