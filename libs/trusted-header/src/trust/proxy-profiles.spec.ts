import type { Socket } from 'node:net';
import { resolveTrustedHeaderOptions } from '../config/resolve-options.js';
import type { TrustedHeaderOptions } from '../config/trusted-header-options.js';
import { compileProfileSelector, type ProfileSelector, type TrustEvidence } from './proxy-profiles.js';
import { compileSharedSecretCheck } from './shared-secret.js';

const S1 = 'x'.repeat(32);
const S2 = 'y'.repeat(48);

function request(peer: string, rawHeaders: string[] = []): TrustEvidence {
  return { socket: { remoteAddress: peer } as Socket, rawHeaders };
}

/** The profile a request is accepted through, with its peer read as the inspector reads it. */
function selectOf(selector: ProfileSelector, evidence: TrustEvidence): number {
  return selector.select(evidence, evidence.socket?.remoteAddress);
}

/** The evidence and its peer, read as the inspector reads it. */
function evidenceAndPeer(evidence: TrustEvidence): [TrustEvidence, string | undefined] {
  return [evidence, evidence.socket?.remoteAddress];
}

function selectorFor(options: TrustedHeaderOptions) {
  return compileProfileSelector(resolveTrustedHeaderOptions(options).profiles);
}

describe('compileSharedSecretCheck', () => {
  const matches = compileSharedSecretCheck({ header: 'X-Proxy-Secret', secrets: [S1, S2] });

  it('accepts each configured secret (a rotation) and nothing else', () => {
    expect(matches(S1)).toBe(true);
    expect(matches(S2)).toBe(true);
    expect(matches('x'.repeat(31) + 'z')).toBe(false);
    expect(matches(S1.slice(1))).toBe(false);
    expect(matches(`${S1} `)).toBe(false);
    expect(matches(undefined)).toBe(false);
  });

  it('never throws on any length, empty or huge', () => {
    for (const guess of ['', 'x', 'x'.repeat(100_000), '\u00e9'.repeat(32)]) expect(matches(guess)).toBe(false);
  });
});

describe('compileProfileSelector', () => {
  it('trusts by address alone with the default profile', () => {
    const selector = selectorFor({});
    expect(selectOf(selector, request('127.0.0.1'))).toBe(0);
    expect(selectOf(selector, request('127.0.0.2'))).toBe(-1);
    expect(selector.explain(...evidenceAndPeer(request('127.0.0.2')))).toEqual([
      expect.objectContaining({ profile: 'default', check: 'peer_not_trusted' }),
    ]);
  });

  it('needs the secret, exactly once, from any peer when it is the proof', () => {
    const selector = selectorFor({ sharedSecrets: [S1] });
    expect(selectOf(selector, request('203.0.113.9', ['X-Proxy-Secret', S1]))).toBe(0);
    expect(selectOf(selector, request('203.0.113.9', ['x-proxy-secret', S1]))).toBe(0);
    expect(selectOf(selector, request('203.0.113.9', ['X-Proxy-Secret', 'y'.repeat(32)]))).toBe(-1);
    expect(selectOf(selector, request('203.0.113.9', ['X-Proxy-Secret', S1, 'X-Proxy-Secret', S1]))).toBe(-1);
    expect(selectOf(selector, request('203.0.113.9', ['X_Proxy_Secret', S1]))).toBe(-1);
    expect(selectOf(selector, request('203.0.113.9'))).toBe(-1);
    expect(selector.explain(...evidenceAndPeer(request('203.0.113.9', ['X-Proxy-Secret', 'nope'])))).toEqual([
      expect.objectContaining({ check: 'secret_mismatch' }),
    ]);
  });

  it('needs both the address and the secret when a profile names both', () => {
    const selector = selectorFor({ sharedSecrets: [S1], trustedIps: ['10.0.0.5'] });
    expect(selectOf(selector, request('10.0.0.5', ['X-Proxy-Secret', S1]))).toBe(0);
    expect(selectOf(selector, request('10.0.0.6', ['X-Proxy-Secret', S1]))).toBe(-1);
    expect(selectOf(selector, request('10.0.0.5'))).toBe(-1);
  });

  it('takes the first profile whose every check passes, in the order written', () => {
    const selector = selectorFor({
      proxies: [
        { name: 'edge', sharedSecrets: [S1], userHeader: 'X-Edge-User' },
        { name: 'lan', trustedIps: ['10.0.0.0/24'] },
      ],
    });
    expect(selectOf(selector, request('10.0.0.7', ['X-Proxy-Secret', S1]))).toBe(0);
    expect(selectOf(selector, request('10.0.0.7'))).toBe(1);
    expect(selectOf(selector, request('10.0.0.7', ['X-Proxy-Secret', 'z'.repeat(32)]))).toBe(1);
    expect(selectOf(selector, request('192.0.2.1', ['X-Proxy-Secret', 'z'.repeat(32)]))).toBe(-1);
    expect(
      selector.explain(...evidenceAndPeer(request('192.0.2.1'))).map((refusal) => [refusal.profile, refusal.check]),
    ).toEqual([
      ['edge', 'secret_mismatch'],
      ['lan', 'peer_not_trusted'],
    ]);
  });
});
