import fc from 'fast-check';
import { parseTrustEntry, TrustEntryError } from './trust-entry.js';
import { parseTrustList, TrustList } from './trust-list.js';

/** Runs `fn` and returns the TrustEntryError it throws; fails the test when it throws nothing or something else. */
function trustEntryErrorOf(fn: () => unknown): TrustEntryError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TrustEntryError);
    return error as TrustEntryError;
  }
  throw new Error('expected a TrustEntryError, nothing was thrown');
}

describe('parseTrustEntry / parseTrustList: accepted entries', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1/32'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.168.1.0/24', '192.168.1.0/24'],
    ['  172.16.0.0/12  ', '172.16.0.0/12'],
    ['::1', '::1/128'],
    ['fd00::/8', 'fd00::/8'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1/128'],
    ['::ffff:10.0.0.2', '10.0.0.2/32'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
  ])('accepts %j as %s', (entry, canonical) => {
    const range = parseTrustEntry(entry);
    expect(range.text).toBe(canonical);
    expect(parseTrustList([entry]).describe()).toEqual([canonical]);
  });

  it('collapses duplicate entries to one canonical range', () => {
    expect(parseTrustList(['10.0.0.1', '10.0.0.1/32', '::ffff:10.0.0.1']).describe()).toEqual(['10.0.0.1/32']);
  });

  it('an IPv4 CIDR matches addresses inside it only', () => {
    const list = parseTrustList(['10.0.0.0/8']);
    expect(list.isTrustedPeer('10.0.0.1')).toBe(true);
    expect(list.isTrustedPeer('10.255.255.255')).toBe(true);
    expect(list.isTrustedPeer('11.0.0.0')).toBe(false);
    expect(list.isTrustedPeer('9.255.255.255')).toBe(false);
  });

  it('a bare IPv4 entry means /32', () => {
    const list = parseTrustList(['10.0.0.2']);
    expect(list.isTrustedPeer('10.0.0.2')).toBe(true);
    expect(list.isTrustedPeer('10.0.0.3')).toBe(false);
    expect(list.isTrustedPeer('10.0.0.1')).toBe(false);
  });

  it('a bare IPv6 entry means /128: ::1 does not match ::2', () => {
    const list = parseTrustList(['::1']);
    expect(list.describe()).toEqual(['::1/128']);
    expect(list.isTrustedPeer('::1')).toBe(true);
    expect(list.isTrustedPeer('::2')).toBe(false);
    expect(list.isTrustedPeer('::')).toBe(false);
  });

  it('an IPv6 CIDR matches addresses inside it only', () => {
    const list = parseTrustList(['fd00:1234::/32']);
    expect(list.isTrustedPeer('fd00:1234::1')).toBe(true);
    expect(list.isTrustedPeer('fd00:1234:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(list.isTrustedPeer('fd00:1235::1')).toBe(false);
  });

  it('an IPv4-mapped entry matches the peer as plain IPv4 and as ::ffff:a.b.c.d', () => {
    const list = parseTrustList(['::ffff:10.0.0.2']);
    expect(list.isTrustedPeer('10.0.0.2')).toBe(true);
    expect(list.isTrustedPeer('::ffff:10.0.0.2')).toBe(true);
    expect(list.isTrustedPeer('10.0.0.3')).toBe(false);
    expect(list.isTrustedPeer('::ffff:10.0.0.3')).toBe(false);
  });

  it('peers arriving as ::ffff:a.b.c.d on dual-stack sockets match IPv4 entries', () => {
    const list = parseTrustList(['10.0.0.0/8']);
    expect(list.isTrustedPeer('::ffff:10.0.0.2')).toBe(true);
    expect(list.isTrustedPeer('::ffff:a00:2')).toBe(true);
    expect(list.isTrustedPeer('::ffff:11.0.0.2')).toBe(false);
  });

  it('IPv4 entries never match IPv6 peers and IPv6 entries never match IPv4 peers', () => {
    expect(parseTrustList(['10.0.0.0/8']).isTrustedPeer('a00::2')).toBe(false);
    expect(parseTrustList(['::/8']).isTrustedPeer('0.0.0.1')).toBe(false);
  });

  it('matches when any one of several entries matches', () => {
    const list = parseTrustList(['10.0.0.1', 'fd00::/8']);
    expect(list.isTrustedPeer('10.0.0.1')).toBe(true);
    expect(list.isTrustedPeer('fd12::1')).toBe(true);
    expect(list.isTrustedPeer('10.0.0.2')).toBe(false);
    expect(list.isTrustedPeer('fe00::1')).toBe(false);
  });
});

describe('parseTrustEntry / parseTrustList: rejected entries', () => {
  it.each([
    ['', /is empty/],
    ['   ', /is empty/],
    ['*', /wildcard/],
    ['any', /wildcard/],
    ['0/0', /wildcard/],
    ['0.0.0.0/0', /matches every address/],
    ['::/0', /matches every address/],
    ['::ffff:0.0.0.0/96', /matches every address/],
    ['::ffff:0:0/95', /prefix shorter than \/96/],
    ['010.0.0.1', /not an IP address/],
    ['10.1', /not an IP address/],
    ['0xa.0.0.1', /not an IP address/],
    ['167772161', /not an IP address/],
    ['1.2.3.4/33', /invalid prefix length \(0-32 expected\)/],
    ['::1/129', /invalid prefix length \(0-128 expected\)/],
    ['10.0.0.1/8', /host bits set; did you mean 10\.0\.0\.0\/8\?/],
    ['fd00::1/8', /host bits set; did you mean fd00::\/8\?/],
    ['localhost', /host names are not accepted/],
    ['proxy.example.com', /host names are not accepted/],
    ['1.2.3.4/', /invalid prefix length/],
    ['1.2.3.4/08', /invalid prefix length/],
    ['1.2.3.4/-1', /invalid prefix length/],
    ['1.2.3.4/ 8', /invalid prefix length/],
    ['fe80::1%eth0', /zone index/],
    ['1.2.3.4/24/1', /not an IP address or CIDR range/],
    ['1.2.3.256', /not an IP address/],
    ['fd00::g', /not a valid IPv6 address/],
    // Ranges that together trust everyone without saying /0.
    ['0.0.0.0/1', /too broad/],
    ['128.0.0.0/1', /too broad/],
    ['::/1', /too broad/],
    ['8000::/1', /too broad/],
    ['10.0.0.0/7', /too broad/],
    ['::ffff:10.0.0.0/103', /too broad/],
  ])('rejects %j, naming the entry', (entry, problem) => {
    const error = trustEntryErrorOf(() => parseTrustEntry(entry));
    expect(error.entry).toBe(entry);
    expect(error.problem).toMatch(problem);
    expect(error.message).toContain(JSON.stringify(entry));
    // The list parser surfaces the same error, even when the bad entry follows good ones.
    const fromList = trustEntryErrorOf(() => parseTrustList(['127.0.0.1', entry]));
    expect(fromList.entry).toBe(entry);
    expect(fromList.problem).toBe(error.problem);
  });

  it('parseTrustList([]) throws: an empty list would lock everyone out or invite a permissive fallback', () => {
    const error = trustEntryErrorOf(() => parseTrustList([]));
    expect(error.problem).toMatch(/trust list is empty/);
  });

  it('new TrustList([]) throws too', () => {
    expect(() => new TrustList([])).toThrow(TrustEntryError);
  });

  // The IPv4 tail of an IPv6 address obeys the same four-part-decimal rule as bare IPv4: `::ffff:010.0.0.1`
  // is as ambiguous as `010.0.0.1` (octal 8.0.0.1 to inet_aton-style tools).
  it.each(['::ffff:010.0.0.1', '::ffff:0xa.0.0.1', '::ffff:10.0.0.01'])(
    'rejects the ambiguous IPv4 tail in %j like the bare IPv4 form',
    (entry) => {
      expect(() => parseTrustEntry(entry)).toThrow(TrustEntryError);
    },
  );
});

describe('TrustList.isTrustedPeer: peers that are not addresses', () => {
  const list = parseTrustList(['127.0.0.1', '::1', '10.0.0.0/8']);

  it.each([undefined, '', 'garbage', 'localhost', '10.0.0.1 ', ' 10.0.0.1', '10.0.0.1:443', 'fe80::1%eth0', '::1%lo'])(
    'treats %j as untrusted',
    (peer) => {
      expect(list.isTrustedPeer(peer)).toBe(false);
      // Asking twice (memoised path) gives the same answer.
      expect(list.isTrustedPeer(peer)).toBe(false);
    },
  );

  // Only ::ffff:a.b.c.d is IPv4 on a dual-stack socket; ::a.b.c.d (IPv4-compatible, which Node prints for the
  // IPv6 peer ::a00:2) is an IPv6 address and must not pass for the IPv4 proxy.
  it('does not treat the IPv4-compatible IPv6 peer ::10.0.0.2 (= ::a00:2) as the IPv4 proxy 10.0.0.2', () => {
    expect(parseTrustList(['10.0.0.2']).isTrustedPeer('::10.0.0.2')).toBe(false);
  });

  // Same root cause on the entry side: `::10.0.0.2` is the IPv6 address ::a00:2, but the entry is read as 10.0.0.2.
  it('reads the entry ::10.0.0.2 as the IPv6 address ::a00:2, not as IPv4 10.0.0.2', () => {
    expect(parseTrustEntry('::10.0.0.2').text).toBe('::a00:2/128');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Independent oracle: addresses as BigInt, no ipaddr.js.
// ---------------------------------------------------------------------------------------------------------------

type Family = 4 | 6;
interface Address {
  readonly family: Family;
  readonly value: bigint;
}

const V4_BITS = 32;
const V6_BITS = 128;
const MAPPED_PREFIX = 0xffffn; // ::ffff:0:0/96 -> bits 32..47 are ffff, bits 48..127 zero

function bitsOf(family: Family): number {
  return family === 4 ? V4_BITS : V6_BITS;
}

function mask(family: Family, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  if (prefix === 0) return 0n;
  return ((1n << BigInt(prefix)) - 1n) << (bits - BigInt(prefix));
}

function parseDottedQuad(text: string): bigint {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`oracle: not a dotted quad: ${text}`);
  return parts.reduce((acc, part) => {
    const n = Number(part);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || n > 255) throw new Error(`oracle: bad octet ${part}`);
    return (acc << 8n) | BigInt(n);
  }, 0n);
}

/**
 * The oracle accepts only the forms the generators produce: dotted quad, `::ffff:a.b.c.d` and full uncompressed
 * IPv6 (eight groups of four hex digits). An IPv6 value inside ::ffff:0:0/96 is an IPv4 address (dual stack).
 */
function oracleAddress(text: string): Address {
  if (text.startsWith('::ffff:') && text.includes('.')) {
    return { family: 4, value: parseDottedQuad(text.slice('::ffff:'.length)) };
  }
  if (!text.includes(':')) return { family: 4, value: parseDottedQuad(text) };
  const groups = text.split(':');
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{4}$/.test(g))) {
    throw new Error(`oracle: not a full IPv6 address: ${text}`);
  }
  const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (value >> 32n === MAPPED_PREFIX) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

interface OracleNetwork {
  readonly family: Family;
  readonly value: bigint;
  readonly prefix: number;
}

/** The network an entry denotes, or null when the entry must be rejected. */
function oracleEntry(text: string): OracleNetwork | null {
  const [addressText, prefixText] = text.split('/') as [string, string | undefined];
  const isV6Text = addressText.includes(':');
  const textBits = isV6Text ? V6_BITS : V4_BITS;
  let prefix = prefixText === undefined ? textBits : Number(prefixText);
  if (prefix > textBits) return null;
  const address = oracleAddress(addressText);
  if (isV6Text && address.family === 4) {
    // An IPv4-mapped entry denotes the IPv4 range; shorter than /96 would mix IPv4 and IPv6 space.
    if (prefix < 96) return null;
    prefix -= 96;
  }
  if (prefix < 8) return null; // /0 matches every address; shorter than /8 is refused as too broad
  const hostBits = address.value & ((1n << BigInt(bitsOf(address.family) - prefix)) - 1n);
  if (hostBits !== 0n) return null;
  return { family: address.family, value: address.value, prefix };
}

function oracleTrusts(network: OracleNetwork, peerText: string): boolean {
  const peer = oracleAddress(peerText);
  if (peer.family !== network.family) return false;
  return (peer.value & mask(peer.family, network.prefix)) === network.value;
}

// --- formatting --------------------------------------------------------------------------------------------------

function formatV4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join('.');
}

function formatV6Full(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n)
    groups.push(((value >> shift) & 0xffffn).toString(16).padStart(4, '0'));
  return groups.join(':');
}

/** An IPv4 value as a peer string, either plain or the way a dual-stack socket reports it. */
function formatV4Peer(value: bigint, mapped: boolean): string {
  return mapped ? `::ffff:${formatV4(value)}` : formatV4(value);
}

// --- generators --------------------------------------------------------------------------------------------------

const v4Value = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n });
const v6Value = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((groups) => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n));

interface GeneratedNetwork {
  readonly family: Family;
  readonly value: bigint; // network address (host bits off)
  readonly prefix: number; // in the family's own bits
  readonly entry: string;
}

const v4Network: fc.Arbitrary<GeneratedNetwork> = fc
  .tuple(v4Value, fc.integer({ min: 8, max: 32 }), fc.boolean())
  .map(([value, prefix, bare]) => {
    const network = value & mask(4, prefix);
    const entry = prefix === 32 && bare ? formatV4(network) : `${formatV4(network)}/${prefix}`;
    return { family: 4 as const, value: network, prefix, entry };
  });

const v6Network: fc.Arbitrary<GeneratedNetwork> = fc
  .tuple(v6Value, fc.integer({ min: 8, max: 128 }), fc.boolean())
  .map(([value, prefix, bare]) => {
    const network = value & mask(6, prefix);
    const entry = prefix === 128 && bare ? formatV6Full(network) : `${formatV6Full(network)}/${prefix}`;
    return { family: 6 as const, value: network, prefix, entry };
  })
  // The chance of landing inside ::ffff:0:0/96 is negligible; the mapped generator below covers that space.
  .filter((network) => oracleEntry(network.entry) !== null && oracleEntry(network.entry)!.family === 6);

/** IPv4 ranges written as IPv4-mapped IPv6 entries, in dotted or full-hex form. */
const mappedNetwork: fc.Arbitrary<GeneratedNetwork> = fc
  .tuple(v4Value, fc.integer({ min: 8, max: 32 }), fc.boolean())
  .map(([value, prefix, dotted]) => {
    const network = value & mask(4, prefix);
    const address = dotted ? `::ffff:${formatV4(network)}` : formatV6Full((MAPPED_PREFIX << 32n) | network);
    return { family: 4 as const, value: network, prefix, entry: `${address}/${prefix + 96}` };
  });

const anyNetwork = fc.oneof(v4Network, v6Network, mappedNetwork);

/** Peers for a given network: inside it by construction, just outside it, or anywhere. */
function peerFor(network: GeneratedNetwork): fc.Arbitrary<string> {
  const bits = bitsOf(network.family);
  const hostMask = (1n << BigInt(bits - network.prefix)) - 1n;
  const familyValue = network.family === 4 ? v4Value : v6Value;
  const format = (value: bigint, mapped: boolean): string =>
    network.family === 4 ? formatV4Peer(value, mapped) : formatV6Full(value);
  const inside = fc
    .tuple(familyValue, fc.boolean())
    .map(([r, mapped]) => format(network.value | (r & hostMask), mapped));
  const outside = fc
    .tuple(familyValue, fc.integer({ min: 0, max: network.prefix - 1 }), fc.boolean())
    .map(([r, bit, mapped]) => {
      // flip one bit of the network part: guaranteed outside
      const flipped = (network.value | (r & hostMask)) ^ (1n << BigInt(bits - 1 - bit));
      return format(flipped, mapped);
    });
  const anywhere = fc.oneof(
    fc.tuple(v4Value, fc.boolean()).map(([v, mapped]) => formatV4Peer(v, mapped)),
    v6Value.filter((v) => v >> 32n !== MAPPED_PREFIX).map(formatV6Full),
  );
  return fc.oneof(inside, outside, anywhere);
}

const networkAndPeer = anyNetwork.chain((network) => fc.tuple(fc.constant(network), peerFor(network)));

describe('TrustList: properties against a BigInt oracle', () => {
  it('the oracle agrees with hand-checked cases', () => {
    expect(oracleTrusts(oracleEntry('10.0.0.0/8')!, '10.1.2.3')).toBe(true);
    expect(oracleTrusts(oracleEntry('10.0.0.0/8')!, '::ffff:10.1.2.3')).toBe(true);
    expect(oracleTrusts(oracleEntry('10.0.0.0/8')!, '11.0.0.0')).toBe(false);
    expect(oracleEntry('10.0.0.1/8')).toBeNull();
    expect(oracleEntry('::ffff:0.0.0.0/96')).toBeNull();
    expect(oracleEntry('0000:0000:0000:0000:0000:0000:0000:0001')).toEqual({ family: 6, value: 1n, prefix: 128 });
    expect(oracleTrusts(oracleEntry('0000:0000:0000:0000:0000:0000:0000:0001')!, formatV6Full(2n))).toBe(false);
  });

  it('isTrustedPeer(peer) equals the oracle for generated networks and peers', () => {
    fc.assert(
      fc.property(networkAndPeer, ([network, peer]) => {
        const oracleNetwork = oracleEntry(network.entry);
        expect(oracleNetwork).toEqual({ family: network.family, value: network.value, prefix: network.prefix });
        const list = parseTrustList([network.entry]);
        expect(list.isTrustedPeer(peer)).toBe(oracleTrusts(oracleNetwork!, peer));
      }),
      { numRuns: 2000 },
    );
  });

  it('a peer built inside the network is always trusted, as plain and as ::ffff: form', () => {
    fc.assert(
      fc.property(fc.oneof(v4Network, mappedNetwork), v4Value, (network, r) => {
        const hostMask = (1n << BigInt(32 - network.prefix)) - 1n;
        const peer = network.value | (r & hostMask);
        const list = parseTrustList([network.entry]);
        expect(list.isTrustedPeer(formatV4(peer))).toBe(true);
        expect(list.isTrustedPeer(`::ffff:${formatV4(peer)}`)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary (address, prefix) entries are accepted exactly when the oracle accepts them', () => {
    const entry = fc.oneof(
      fc.tuple(v4Value, fc.integer({ min: 0, max: 32 })).map(([v, p]) => `${formatV4(v)}/${p}`),
      fc.tuple(v6Value, fc.integer({ min: 0, max: 128 })).map(([v, p]) => `${formatV6Full(v)}/${p}`),
      fc
        .tuple(v4Value, fc.integer({ min: 0, max: 128 }), fc.boolean())
        .map(([v, p, dotted]) => `${dotted ? `::ffff:${formatV4(v)}` : formatV6Full((MAPPED_PREFIX << 32n) | v)}/${p}`),
    );
    fc.assert(
      fc.property(entry, (text) => {
        const expected = oracleEntry(text);
        if (expected === null) {
          expect(trustEntryErrorOf(() => parseTrustEntry(text)).entry).toBe(text);
        } else {
          const range = parseTrustEntry(text);
          expect(range.kind).toBe(expected.family === 4 ? 'ipv4' : 'ipv6');
          expect(range.prefixLength).toBe(expected.prefix);
          expect(bigFromBytes(range)).toBe(expected.value);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('entries with host bits set are always rejected, naming the entry and the network meant', () => {
    const withHostBits = fc.oneof(
      fc
        .tuple(v4Value, fc.integer({ min: 8, max: 31 }))
        .filter(([v, p]) => (v & ~mask(4, p) & 0xffffffffn) !== 0n)
        .map(([v, p]) => ({ entry: `${formatV4(v)}/${p}`, meant: `${formatV4(v & mask(4, p))}/${p}` })),
      fc
        .tuple(v6Value, fc.integer({ min: 8, max: 127 }))
        .filter(([v, p]) => v >> 32n !== MAPPED_PREFIX && (v & ((1n << BigInt(128 - p)) - 1n)) !== 0n)
        .map(([v, p]) => ({ entry: `${formatV6Full(v)}/${p}`, meant: null })),
    );
    fc.assert(
      fc.property(withHostBits, ({ entry, meant }) => {
        const error = trustEntryErrorOf(() => parseTrustList([entry]));
        expect(error.entry).toBe(entry);
        expect(error.problem).toMatch(/host bits set/);
        if (meant) expect(error.problem).toContain(`did you mean ${meant}?`);
      }),
      { numRuns: 1000 },
    );
  });

  it('the decision depends on the peer string only: repeated, reordered and memo-flushing queries agree', () => {
    fc.assert(
      fc.property(
        anyNetwork.chain((network) =>
          fc.tuple(fc.constant(network), fc.array(peerFor(network), { minLength: 1, maxLength: 30 })),
        ),
        fc.array(fc.string(), { maxLength: 10 }),
        ([network, peers], noise) => {
          const fresh = peers.map((peer) => parseTrustList([network.entry]).isTrustedPeer(peer));
          const shared = parseTrustList([network.entry]);
          for (const junk of noise) shared.isTrustedPeer(junk);
          const first = peers.map((peer) => shared.isTrustedPeer(peer));
          const again = [...peers]
            .reverse()
            .map((peer) => shared.isTrustedPeer(peer))
            .reverse();
          expect(first).toEqual(fresh);
          expect(again).toEqual(fresh);
          peers.forEach((peer, i) => expect(fresh[i]).toBe(oracleTrusts(oracleEntry(network.entry)!, peer)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers stay correct after the peer memo overflows and is cleared', () => {
    const list = parseTrustList(['10.0.0.0/24']);
    expect(list.isTrustedPeer('10.0.0.7')).toBe(true);
    expect(list.isTrustedPeer('10.0.1.7')).toBe(false);
    for (let i = 0; i < 3000; i++) list.isTrustedPeer(`192.168.${i >> 8}.${i & 0xff}`);
    expect(list.isTrustedPeer('10.0.0.7')).toBe(true);
    expect(list.isTrustedPeer('10.0.1.7')).toBe(false);
    expect((list as unknown as { memo: Map<string, boolean> }).memo.size).toBeLessThanOrEqual(1024);
  });
});

/** The network of a parsed range as BigInt, read from its bytes (not from ipaddr's formatting). */
function bigFromBytes(range: { network: { toByteArray(): number[] } }): bigint {
  return range.network.toByteArray().reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}
