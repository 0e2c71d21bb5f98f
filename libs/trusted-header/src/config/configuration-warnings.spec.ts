import { configurationWarnings } from './configuration-warnings.js';
import { resolveTrustedHeaderOptions } from './resolve-options.js';
import type { TrustedHeaderOptions } from './trusted-header-options.js';

const NO_LISTENER = { listener: null };
const codesOf = (options: TrustedHeaderOptions, runtime: Parameters<typeof configurationWarnings>[1] = NO_LISTENER) =>
  configurationWarnings(resolveTrustedHeaderOptions(options), runtime).map((warning) => warning.code);

describe('configurationWarnings', () => {
  it('has nothing to say about the defaults', () => {
    expect(codesOf({})).toEqual([]);
  });

  it('warns of a trust list wider than one host per proxy, naming the ranges', () => {
    expect(codesOf({ trustedIps: ['10.0.0.7', '2001:db8::1'] })).toEqual([]);
    const [warning] = configurationWarnings(
      resolveTrustedHeaderOptions({ trustedIps: ['10.0.0.7', '10.1.0.0/24', 'fd00::/64'] }),
      NO_LISTENER,
    );
    expect(warning).toEqual({ code: 'trust_list_wide', message: expect.stringContaining('10.1.0.0/24, fd00::/64') });
    expect(warning!.message).not.toContain('10.0.0.7');
    expect(codesOf({ trustedIps: ['::/127'] })).toEqual(['trust_list_wide']);
  });

  it('warns once per profile that trusts a range', () => {
    const codes = codesOf({
      proxies: [
        { name: 'a', trustedIps: ['10.0.0.0/24'] },
        { name: 'b', trustedIps: ['10.0.1.1'], userHeader: 'X-B-User' },
        { name: 'c', trustedIps: ['10.0.2.0/31'], userHeader: 'X-C-User' },
      ],
    });
    expect(codes).toEqual(['trust_list_wide', 'trust_list_wide']);
  });

  it('warns of a session cookie without Secure, only when sessions are on', () => {
    expect(codesOf({ session: 'persistent', sessionCookieSecure: false })).toEqual(['session_cookie_not_secure']);
    expect(codesOf({ session: 'persistent' })).toEqual([]);
  });

  it('warns of a cache TTL above five minutes', () => {
    expect(codesOf({ syncTtlSeconds: 300 })).toEqual([]);
    expect(codesOf({ syncTtlSeconds: 600 })).toEqual(['sync_ttl_long']);
    const [warning] = configurationWarnings(resolveTrustedHeaderOptions({ syncTtlSeconds: 600 }), NO_LISTENER);
    expect(warning!.message).toContain('600 s');
  });

  it('warns of a change listener that is not connected, not of one that is or of none', () => {
    expect(codesOf({}, { listener: { connected: false } })).toEqual(['listener_not_connected']);
    expect(codesOf({}, { listener: { connected: true } })).toEqual([]);
  });

  it('warns when unknown users are created and no proxy group makes admins', () => {
    expect(codesOf({ createUnknownUser: true })).toEqual(['no_admin_groups']);
    expect(codesOf({ createUnknownUser: true, adminGroups: ['idp-admins'] })).toEqual([]);
    expect(codesOf({ createUnknownUser: false })).toEqual([]);
  });

  it('warns when the cross-site check is off', () => {
    expect(codesOf({ csrfCheck: false })).toEqual(['cross_site_check_off']);
  });
});
