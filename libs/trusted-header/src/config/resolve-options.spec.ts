import { TrustedHeaderConfigError } from './config-error.js';
import { resolveTrustedHeaderOptions } from './resolve-options.js';
import type { TrustedHeaderOptions } from './trusted-header-options.js';

/** Returns the TrustedHeaderConfigError thrown by resolving `options`; fails when none is thrown. */
function configErrorOf(options: unknown): TrustedHeaderConfigError {
  try {
    resolveTrustedHeaderOptions(options as TrustedHeaderOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(TrustedHeaderConfigError);
    return error as TrustedHeaderConfigError;
  }
  throw new Error(`expected a TrustedHeaderConfigError for ${JSON.stringify(options)}`);
}

describe('resolveTrustedHeaderOptions: defaults', () => {
  const resolved = resolveTrustedHeaderOptions();

  it('trusts only the loopback addresses', () => {
    expect(resolved.profiles[0]!.trust!.describe()).toEqual(['127.0.0.1/32', '::1/128']);
    expect(resolved.profiles[0]!.trust!.isTrustedPeer('127.0.0.1')).toBe(true);
    expect(resolved.profiles[0]!.trust!.isTrustedPeer('::1')).toBe(true);
    expect(resolved.profiles[0]!.trust!.isTrustedPeer('::ffff:127.0.0.1')).toBe(true);
    expect(resolved.profiles[0]!.trust!.isTrustedPeer('127.0.0.2')).toBe(false);
    expect(resolved.profiles[0]!.trust!.isTrustedPeer('10.0.0.1')).toBe(false);
  });

  it('uses the Remote-* headers, "," separator and safe settings', () => {
    expect(resolved.profiles[0]!.preset).toBeNull();
    expect(resolved.profiles[0]!.identity).toEqual({
      headers: { user: 'Remote-User', email: 'Remote-Email', name: 'Remote-Name', groups: 'Remote-Groups' },
      groupsSeparator: ',',
      maxGroups: 100,
      caseFoldUsername: true,
      subject: null,
    });
    expect(resolved.createUnknownUser).toBe(false);
    expect(resolved.adminGroups).toEqual([]);
    expect(resolved.adminLocalGroup).toBe('admin');
    expect(resolved.syncTtlMs).toBe(60_000);
    expect(resolved.cacheMaxEntries).toBe(10_000);
    expect(resolved.databaseTimeoutMs).toBe(2_000);
    expect(resolved.untrustedWarningIntervalMs).toBe(60_000);
  });

  it('an empty options object gives the same result as no options', () => {
    const fromEmpty = resolveTrustedHeaderOptions({});
    const describe = (options: typeof resolved) => ({
      ...options,
      profiles: options.profiles.map((profile) => ({ ...profile, trust: profile.trust!.describe() })),
    });
    expect(describe(fromEmpty)).toEqual(describe(resolved));
  });
});

describe('resolveTrustedHeaderOptions: presets', () => {
  it('authelia uses Remote-* and ","', () => {
    const resolved = resolveTrustedHeaderOptions({ preset: 'authelia' });
    expect(resolved.profiles[0]!.preset).toBe('authelia');
    expect(resolved.profiles[0]!.identity.headers).toEqual({
      user: 'Remote-User',
      email: 'Remote-Email',
      name: 'Remote-Name',
      groups: 'Remote-Groups',
    });
    expect(resolved.profiles[0]!.identity.groupsSeparator).toBe(',');
  });

  it('authentik uses X-authentik-* and "|"', () => {
    const resolved = resolveTrustedHeaderOptions({ preset: 'authentik' });
    expect(resolved.profiles[0]!.preset).toBe('authentik');
    expect(resolved.profiles[0]!.identity.headers).toEqual({
      user: 'X-authentik-username',
      email: 'X-authentik-email',
      name: 'X-authentik-name',
      groups: 'X-authentik-groups',
    });
    expect(resolved.profiles[0]!.identity.groupsSeparator).toBe('|');
  });

  it('oauth2-proxy uses X-Forwarded-* and ","', () => {
    const resolved = resolveTrustedHeaderOptions({ preset: 'oauth2-proxy' });
    expect(resolved.profiles[0]!.identity.headers).toEqual({
      user: 'X-Forwarded-User',
      email: 'X-Forwarded-Email',
      name: 'X-Forwarded-Preferred-Username',
      groups: 'X-Forwarded-Groups',
    });
    expect(resolved.profiles[0]!.identity.groupsSeparator).toBe(',');
  });

  it('a field overrides its preset value and leaves the rest of the preset in force', () => {
    const resolved = resolveTrustedHeaderOptions({
      preset: 'authentik',
      userHeader: 'X-Custom-User',
      groupsSeparator: ';',
    });
    expect(resolved.profiles[0]!.identity.headers).toEqual({
      user: 'X-Custom-User',
      email: 'X-authentik-email',
      name: 'X-authentik-name',
      groups: 'X-authentik-groups',
    });
    expect(resolved.profiles[0]!.identity.groupsSeparator).toBe(';');
  });

  it.each(['nope', 'Authelia', '', 'toString', '__proto__', 42])('rejects the unknown preset %j', (preset) => {
    const error = configErrorOf({ preset });
    expect(error.setting).toBe('option preset');
    expect(error.value).toBe(preset);
    expect(error.message).toContain(`option preset=${JSON.stringify(preset)}`);
    expect(error.message).toContain('authelia, authentik, oauth2-proxy');
  });
});

describe('resolveTrustedHeaderOptions: trusted IPs', () => {
  it('accepts a custom list and canonicalises it', () => {
    const resolved = resolveTrustedHeaderOptions({ trustedIps: ['10.0.0.0/8', '::ffff:192.168.0.1', 'fd00::/8'] });
    expect(resolved.profiles[0]!.trust!.describe()).toEqual(['10.0.0.0/8', '192.168.0.1/32', 'fd00::/8']);
  });

  it.each([
    [[], [], /is empty/],
    [['*'], '*', /wildcard/],
    [['0.0.0.0/0'], '0.0.0.0/0', /matches every address/],
    [['::/0'], '::/0', /matches every address/],
    [['10.1'], '10.1', /not an IP address/],
    [['010.0.0.1'], '010.0.0.1', /not an IP address/],
    [['1.2.3.4/33'], '1.2.3.4/33', /invalid prefix length/],
    [['proxy.example.com'], 'proxy.example.com', /host names are not accepted/],
    [['127.0.0.1', '10.0.0.1/8'], '10.0.0.1/8', /host bits/],
    [['127.0.0.1', ''], '', /is empty/],
    [['127.0.0.1', 42], 42, /is not a string/],
    ['10.0.0.1', '10.0.0.1', /is empty/],
  ])('rejects trustedIps %j, naming the option and the bad value', (trustedIps, badValue, problem) => {
    const error = configErrorOf({ trustedIps });
    expect(error.setting).toBe('option trustedIps');
    expect(error.value).toEqual(badValue);
    expect(error.problem).toMatch(problem);
    expect(error.message).toBe(
      `Invalid trusted-header configuration: option trustedIps=${JSON.stringify(badValue)} ${error.problem}`,
    );
  });
});

describe('resolveTrustedHeaderOptions: header names', () => {
  it.each([
    ['Authorization', /standard HTTP header/],
    ['authorization', /standard HTTP header/],
    ['Host', /standard HTTP header/],
    ['Cookie', /standard HTTP header/],
    ['X-Forwarded-For', /standard HTTP header/],
    ['Connection', /standard HTTP header/],
    ['HTTP_AUTHORIZATION', /standard HTTP header/],
    ['Bad Header', /not a valid HTTP header name/],
    ['Remote-User:', /not a valid HTTP header name/],
    ['Remote-Üser', /not a valid HTTP header name/],
    ['', /is empty/],
    ['   ', /is empty/],
  ])('rejects userHeader %j', (userHeader, problem) => {
    const error = configErrorOf({ userHeader });
    expect(error.setting).toBe('option userHeader');
    expect(error.value).toBe(userHeader);
    expect(error.problem).toMatch(problem);
    expect(error.message).toContain(`option userHeader=${JSON.stringify(userHeader)}`);
  });

  it.each(['emailHeader', 'nameHeader', 'groupsHeader'] as const)('rejects Cookie as %s too', (key) => {
    const error = configErrorOf({ [key]: 'Cookie' });
    expect(error.setting).toBe(`option ${key}`);
    expect(error.value).toBe('Cookie');
  });

  it('rejects a non-string header name', () => {
    expect(configErrorOf({ userHeader: 42 }).problem).toBe('is empty');
  });

  it.each([
    [{ emailHeader: 'Remote-User' }, 'option emailHeader', 'Remote-User', 'option userHeader'],
    [{ emailHeader: 'remote-user' }, 'option emailHeader', 'remote-user', 'option userHeader'],
    [{ groupsHeader: 'Remote_User' }, 'option groupsHeader', 'Remote_User', 'option userHeader'],
    [{ nameHeader: 'Remote.Email' }, 'option nameHeader', 'Remote.Email', 'option emailHeader'],
    [{ userHeader: 'X-A', groupsHeader: 'x_a' }, 'option groupsHeader', 'x_a', 'option userHeader'],
    [
      { preset: 'authentik', groupsHeader: 'X_authentik_username' },
      'option groupsHeader',
      'X_authentik_username',
      'option userHeader',
    ],
  ])('rejects two roles on one header (%j)', (options, setting, value, clash) => {
    const error = configErrorOf(options);
    expect(error.setting).toBe(setting);
    expect(error.value).toBe(value);
    expect(error.problem).toBe(`is the same header as ${clash}`);
  });

  it('turns the CGI spelling HTTP_X_REMOTE_USER into X-Remote-User', () => {
    const resolved = resolveTrustedHeaderOptions({
      userHeader: 'HTTP_X_REMOTE_USER',
      groupsHeader: 'HTTP_REMOTE_GROUPS',
    });
    expect(resolved.profiles[0]!.identity.headers.user).toBe('X-Remote-User');
    expect(resolved.profiles[0]!.identity.headers.groups).toBe('Remote-Groups');
  });

  it('trims header names', () => {
    expect(resolveTrustedHeaderOptions({ userHeader: '  X-User  ' }).profiles[0]!.identity.headers.user).toBe('X-User');
  });

  it('rejects the CGI spelling of the default user header for another role', () => {
    const error = configErrorOf({ emailHeader: 'HTTP_REMOTE_USER' });
    expect(error.setting).toBe('option emailHeader');
    expect(error.problem).toBe('is the same header as option userHeader');
  });

  // Forbidden headers are compared in twin form, like every other header rule: `X_Forwarded_For` is
  // X-Forwarded-For to servers that fold `_` into `-`.
  it.each(['X_Forwarded_For', 'Proxy.Authorization', 'set_cookie'])(
    'rejects %j, a twin spelling of a forbidden header',
    (userHeader) => {
      expect(configErrorOf({ userHeader }).problem).toMatch(/standard HTTP header/);
    },
  );
});

describe('resolveTrustedHeaderOptions: other settings', () => {
  it('accepts valid overrides', () => {
    const resolved = resolveTrustedHeaderOptions({
      createUnknownUser: true,
      caseFoldUsername: false,
      maxGroups: 5,
      syncTtlSeconds: 0,
      cacheMaxEntries: 0,
      databaseTimeoutMs: 50,
      untrustedWarningIntervalSeconds: 86_400,
      adminGroups: [' ops ', 'E\u0301quipe', 'ops\u00a0'],
      adminLocalGroup: ' root ',
    });
    expect(resolved.createUnknownUser).toBe(true);
    expect(resolved.profiles[0]!.identity.caseFoldUsername).toBe(false);
    expect(resolved.profiles[0]!.identity.maxGroups).toBe(5);
    expect(resolved.syncTtlMs).toBe(0);
    expect(resolved.cacheMaxEntries).toBe(0);
    expect(resolved.databaseTimeoutMs).toBe(50);
    expect(resolved.untrustedWarningIntervalMs).toBe(86_400_000);
    // Exact, like asserted groups: spaces trimmed, nothing normalised, Unicode spaces kept.
    expect(resolved.adminGroups).toEqual(['ops', 'E\u0301quipe', 'ops\u00a0']);
    expect(resolved.adminLocalGroup).toBe('root');
  });

  it.each([
    ['maxGroups', 0],
    ['maxGroups', 10_001],
    ['maxGroups', 1.5],
    ['maxGroups', -1],
    ['maxGroups', Number.NaN],
    ['maxGroups', '10'],
    ['databaseTimeoutMs', 49],
    ['databaseTimeoutMs', 600_001],
    ['syncTtlSeconds', -1],
    ['syncTtlSeconds', Infinity],
    ['cacheMaxEntries', 10_000_001],
    ['untrustedWarningIntervalSeconds', 86_401],
  ])('rejects %s=%p', (key, value) => {
    const error = configErrorOf({ [key]: value });
    expect(error.setting).toBe(`option ${key}`);
    expect(error.value).toBe(value);
    expect(error.problem).toMatch(/^must be an integer from \d+ to \d+$/);
  });

  it.each([
    ['createUnknownUser', 'true'],
    ['createUnknownUser', 1],
    ['caseFoldUsername', 'no'],
  ])('rejects the non-boolean %s=%p', (key, value) => {
    const error = configErrorOf({ [key]: value });
    expect(error.setting).toBe(`option ${key}`);
    expect(error.problem).toBe('must be true or false');
  });

  it('accepts a space as groupsSeparator (taken verbatim)', () => {
    expect(resolveTrustedHeaderOptions({ groupsSeparator: ' ' }).profiles[0]!.identity.groupsSeparator).toBe(' ');
  });

  it.each(['', '         ', '\t', '\u200b'])('rejects the groupsSeparator %j', (groupsSeparator) => {
    const error = configErrorOf({ groupsSeparator });
    expect(error.setting).toBe('option groupsSeparator');
    expect(error.value).toBe(groupsSeparator);
  });

  it.each([[['ok', '']], [['ok', ' ']], [['a\u200bdmin']]])('rejects adminGroups %j', (adminGroups) => {
    expect(configErrorOf({ adminGroups }).setting).toBe('option adminGroups');
  });

  it.each(['', ' ', 'ad\u0000min'])('rejects adminLocalGroup %j', (adminLocalGroup) => {
    expect(configErrorOf({ adminLocalGroup }).setting).toBe('option adminLocalGroup');
  });

  it('uses the given labels in errors (environment variable names)', () => {
    const labels = Object.fromEntries(
      [
        'trustedIps',
        'preset',
        'userHeader',
        'emailHeader',
        'nameHeader',
        'groupsHeader',
        'groupsSeparator',
        'createUnknownUser',
        'adminGroups',
        'adminLocalGroup',
        'caseFoldUsername',
        'syncTtlSeconds',
        'cacheMaxEntries',
        'databaseTimeoutMs',
        'maxGroups',
        'untrustedWarningIntervalSeconds',
      ].map((k) => [k, `LABEL_${k}`]),
    ) as Parameters<typeof resolveTrustedHeaderOptions>[1];
    expect(() => resolveTrustedHeaderOptions({ trustedIps: ['*'] }, labels)).toThrow('LABEL_trustedIps="*"');
  });
});

describe('resolveTrustedHeaderOptions: sessions, logout and the cross-site check', () => {
  it('defaults: sessions off, no logout route, the cross-site check on with no extra origins', () => {
    const resolved = resolveTrustedHeaderOptions();
    expect(resolved.session).toBeNull();
    expect(resolved.logout).toBeNull();
    expect(resolved.csrf.enabled).toBe(true);
    expect([...resolved.csrf.allowedOrigins]).toEqual([]);
  });

  it("session: 'persistent' gives the documented defaults and the logout route without a target (204)", () => {
    const resolved = resolveTrustedHeaderOptions({ session: 'persistent' });
    expect(resolved.session).toEqual({
      idleMs: 28_800_000,
      maxMs: 604_800_000,
      cookieName: '__Host-trusted_header_session',
      cookieSecure: true,
    });
    expect(resolved.logout).toEqual({ path: '/auth/logout', redirectTo: null });
  });

  it('a logout URL alone registers the logout route; sessions stay off', () => {
    const resolved = resolveTrustedHeaderOptions({ logoutUrl: '/oauth2/sign_out', logoutPath: '/bye' });
    expect(resolved.session).toBeNull();
    expect(resolved.logout).toEqual({ path: '/bye', redirectTo: '/oauth2/sign_out' });
  });

  it('with Secure off the default name loses __Host-; a custom name without a prefix is kept', () => {
    expect(resolveTrustedHeaderOptions({ session: 'persistent', sessionCookieSecure: false }).session).toMatchObject({
      cookieName: 'trusted_header_session',
      cookieSecure: false,
    });
    expect(
      resolveTrustedHeaderOptions({ session: 'persistent', sessionCookieSecure: false, sessionCookie: 'sid' }).session,
    ).toMatchObject({ cookieName: 'sid', cookieSecure: false });
    expect(resolveTrustedHeaderOptions({ session: 'persistent', sessionCookie: '__Secure-sid' }).session).toMatchObject(
      {
        cookieName: '__Secure-sid',
        cookieSecure: true,
      },
    );
  });

  it.each(['__Host-sid', '__Secure-sid', '__Host-trusted_header_session'])(
    'rejects the custom name %j with Secure off (browsers would drop the cookie)',
    (sessionCookie) => {
      const error = configErrorOf({ session: 'persistent', sessionCookieSecure: false, sessionCookie });
      expect(error.setting).toBe('option sessionCookie');
      expect(error.value).toBe(sessionCookie);
    },
  );

  it.each([
    ['session', 'on', /must be off or persistent/],
    ['session', true, /must be off or persistent/],
    ['sessionIdleSeconds', 59, /must be an integer from 60 to \d+/],
    ['sessionIdleSeconds', 60.5, /must be an integer from 60 to \d+/],
    ['sessionIdleSeconds', '600', /must be an integer from 60 to \d+/],
    ['sessionMaxSeconds', 59, /must be an integer from 60 to \d+/],
    ['sessionMaxSeconds', 31_536_001, /must be an integer from 60 to \d+/],
    ['sessionCookieSecure', 'false', /must be true or false/],
    ['csrfCheck', 0, /must be true or false/],
    ['sessionCookie', '', /must be a cookie name/],
    ['sessionCookie', 'a b', /must be a cookie name/],
    ['sessionCookie', 'x'.repeat(129), /must be a cookie name/],
    ['logoutPath', '/auth/logout/', /must be a path/],
    ['logoutPath', '//auth', /must be a path/],
    ['logoutPath', '/auth?x', /must be a path/],
    ['logoutUrl', '//evil.example', /absolute http\(s\) URL without credentials/],
    ['logoutUrl', 'javascript:alert(1)', /absolute http\(s\) URL without credentials/],
    ['logoutUrl', 'https://admin:hunter2@auth.example.com/logout', /absolute http\(s\) URL without credentials/],
    ['logoutUrl', '', /absolute http\(s\) URL without credentials/],
    ['logoutUrl', 42, /absolute http\(s\) URL without credentials/],
    ['allowedOrigins', 'https://ui.example.com', /must be a list of origins/],
    ['allowedOrigins', ['https://ui.example.com/path'], /no path/],
    ['allowedOrigins', [42], /no path/],
  ])('rejects %s=%j', (key, value, problem) => {
    const error = configErrorOf({ session: 'persistent', [key]: value });
    expect(error.setting).toBe(`option ${key}`);
    expect(error.problem).toMatch(problem);
  });

  it('names the bad entry of allowedOrigins', () => {
    const error = configErrorOf({ allowedOrigins: ['https://ok.example.com', 'https://ui.example.com/app'] });
    expect(error.value).toBe('https://ui.example.com/app');
  });
});
