import { TrustedHeaderConfigError } from './config-error.js';
import { trustedHeaderOptionsFromEnv } from './env.js';
import { resolveTrustedHeaderOptions } from './resolve-options.js';

/** Returns the TrustedHeaderConfigError thrown for `env`; fails when none is thrown. */
function envErrorOf(env: NodeJS.ProcessEnv): TrustedHeaderConfigError {
  try {
    trustedHeaderOptionsFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(TrustedHeaderConfigError);
    return error as TrustedHeaderConfigError;
  }
  throw new Error(`expected a TrustedHeaderConfigError for ${JSON.stringify(env)}`);
}

/** Asserts that the message names the variable and shows the bad value. */
function expectNames(error: TrustedHeaderConfigError, variable: string, value: string): void {
  expect(error.setting).toBe(variable);
  expect(error.message).toContain(`${variable}=${JSON.stringify(value)}`);
}

describe('trustedHeaderOptionsFromEnv: valid environments', () => {
  it('an empty environment gives {} and resolves to the defaults', () => {
    const options = trustedHeaderOptionsFromEnv({});
    expect(options).toEqual({});
    const resolved = resolveTrustedHeaderOptions(options);
    expect(resolved.profiles[0]!.trust!.describe()).toEqual(['127.0.0.1/32', '::1/128']);
    expect(resolved.profiles[0]!.identity.headers.user).toBe('Remote-User');
    expect(resolved.createUnknownUser).toBe(false);
  });

  it('ignores variables outside the AUTH_PROXY_ namespace', () => {
    expect(trustedHeaderOptionsFromEnv({ PATH: '/bin', AUTH_PROXY: 'x', auth_proxy_trusted_ips: '*' })).toEqual({});
  });

  it('reads every setting', () => {
    const options = trustedHeaderOptionsFromEnv({
      AUTH_PROXY_TRUSTED_IPS: '10.0.0.1, fd00::/8',
      AUTH_PROXY_PRESET: 'Authentik',
      AUTH_PROXY_HEADER: 'X-User',
      AUTH_PROXY_USER_EMAIL_HEADER: 'X-Email',
      AUTH_PROXY_USER_NAME_HEADER: 'X-Name',
      AUTH_PROXY_USER_GROUPS_HEADER: 'X-Groups',
      AUTH_PROXY_GROUPS_SEPARATOR: ';',
      AUTH_PROXY_CREATE_UNKNOWN_USER: 'true',
      AUTH_PROXY_ADMIN_GROUPS: 'a, b',
      AUTH_PROXY_ADMIN_LOCAL_GROUP: 'root',
      AUTH_PROXY_CASE_FOLD_USERNAME: 'off',
      AUTH_PROXY_SYNC_TTL_SECONDS: '30',
      AUTH_PROXY_CACHE_MAX_ENTRIES: ' 500 ',
      AUTH_PROXY_DB_TIMEOUT_MS: '1000',
      AUTH_PROXY_MAX_GROUPS: '7',
      AUTH_PROXY_UNTRUSTED_WARNING_INTERVAL_SECONDS: '0',
    });
    expect(options).toEqual({
      trustedIps: ['10.0.0.1', 'fd00::/8'],
      preset: 'authentik',
      userHeader: 'X-User',
      emailHeader: 'X-Email',
      nameHeader: 'X-Name',
      groupsHeader: 'X-Groups',
      groupsSeparator: ';',
      createUnknownUser: true,
      adminGroups: ['a', 'b'],
      adminLocalGroup: 'root',
      caseFoldUsername: false,
      syncTtlSeconds: 30,
      cacheMaxEntries: 500,
      databaseTimeoutMs: 1000,
      maxGroups: 7,
      untrustedWarningIntervalSeconds: 0,
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['YES', true],
    [' on ', true],
    ['false', false],
    ['0', false],
    ['No', false],
    ['off', false],
  ])('AUTH_PROXY_CREATE_UNKNOWN_USER=%j is %p', (value, expected) => {
    expect(trustedHeaderOptionsFromEnv({ AUTH_PROXY_CREATE_UNKNOWN_USER: value })).toEqual({
      createUnknownUser: expected,
    });
  });

  it("AUTH_PROXY_ADMIN_GROUPS='a, b' gives ['a', 'b']", () => {
    expect(trustedHeaderOptionsFromEnv({ AUTH_PROXY_ADMIN_GROUPS: 'a, b' }).adminGroups).toEqual(['a', 'b']);
  });

  it('an empty AUTH_PROXY_ADMIN_GROUPS means none (it is the one list that may be empty)', () => {
    expect(trustedHeaderOptionsFromEnv({ AUTH_PROXY_ADMIN_GROUPS: '' })).toEqual({});
    expect(trustedHeaderOptionsFromEnv({ AUTH_PROXY_ADMIN_GROUPS: '  ' })).toEqual({});
  });

  it('the preset is applied by resolve and a variable overrides it', () => {
    const options = trustedHeaderOptionsFromEnv({ AUTH_PROXY_PRESET: 'authentik', AUTH_PROXY_GROUPS_SEPARATOR: ',' });
    const resolved = resolveTrustedHeaderOptions(options);
    expect(resolved.profiles[0]!.identity.headers.user).toBe('X-authentik-username');
    expect(resolved.profiles[0]!.identity.groupsSeparator).toBe(',');
  });

  it('accepts the CGI form of a header name', () => {
    const options = trustedHeaderOptionsFromEnv({ AUTH_PROXY_HEADER: 'HTTP_X_REMOTE_USER' });
    expect(resolveTrustedHeaderOptions(options).profiles[0]!.identity.headers.user).toBe('X-Remote-User');
  });
});

describe('trustedHeaderOptionsFromEnv: rejected environments name the variable and the value', () => {
  it("AUTH_PROXY_TRUSTED_IPS='' is rejected", () => {
    const error = envErrorOf({ AUTH_PROXY_TRUSTED_IPS: '' });
    expectNames(error, 'AUTH_PROXY_TRUSTED_IPS', '');
    expect(error.problem).toMatch(/is empty/);
  });

  it("AUTH_PROXY_TRUSTED_IPS='0.0.0.0/0,10.0.0.1' is rejected, naming the bad entry", () => {
    const error = envErrorOf({ AUTH_PROXY_TRUSTED_IPS: '0.0.0.0/0,10.0.0.1' });
    expectNames(error, 'AUTH_PROXY_TRUSTED_IPS', '0.0.0.0/0');
    expect(error.problem).toMatch(/matches every address/);
  });

  it.each([
    ['*', '*'],
    ['10.0.0.1,*', '*'],
    ['10.1', '10.1'],
    ['10.0.0.1,', ''],
    ['10.0.0.1, proxy.local', 'proxy.local'],
  ])('AUTH_PROXY_TRUSTED_IPS=%j is rejected, naming %j', (value, entry) => {
    expectNames(envErrorOf({ AUTH_PROXY_TRUSTED_IPS: value }), 'AUTH_PROXY_TRUSTED_IPS', entry);
  });

  it('AUTH_PROXY_PRESET=nope is rejected', () => {
    const error = envErrorOf({ AUTH_PROXY_PRESET: 'nope' });
    expectNames(error, 'AUTH_PROXY_PRESET', 'nope');
    expect(error.problem).toContain('authelia, authentik, oauth2-proxy');
  });

  it.each(['maybe', 'enabled', '2', 'y'])('AUTH_PROXY_CREATE_UNKNOWN_USER=%j is rejected', (value) => {
    const error = envErrorOf({ AUTH_PROXY_CREATE_UNKNOWN_USER: value });
    expectNames(error, 'AUTH_PROXY_CREATE_UNKNOWN_USER', value);
    expect(error.problem).toBe('must be true or false');
  });

  it('AUTH_PROXY_CREATE_UNKNOWN_USER=true is accepted', () => {
    expect(trustedHeaderOptionsFromEnv({ AUTH_PROXY_CREATE_UNKNOWN_USER: 'true' })).toEqual({
      createUnknownUser: true,
    });
  });

  it.each(['Cookie', 'Authorization', 'Host', 'HTTP_COOKIE'])('AUTH_PROXY_HEADER=%s is rejected', (value) => {
    const error = envErrorOf({ AUTH_PROXY_HEADER: value });
    expectNames(error, 'AUTH_PROXY_HEADER', value);
    expect(error.problem).toMatch(/standard HTTP header/);
  });

  it('AUTH_PROXY_HEADER=Bad Header is rejected', () => {
    expectNames(envErrorOf({ AUTH_PROXY_HEADER: 'Bad Header' }), 'AUTH_PROXY_HEADER', 'Bad Header');
  });

  it('a header clash names both variables', () => {
    const error = envErrorOf({ AUTH_PROXY_USER_EMAIL_HEADER: 'remote_user' });
    expectNames(error, 'AUTH_PROXY_USER_EMAIL_HEADER', 'remote_user');
    expect(error.problem).toBe('is the same header as AUTH_PROXY_HEADER');
  });

  it('an unknown AUTH_PROXY_ variable (typo AUTH_PROXY_TRUSTED_IP) is rejected, its value not shown', () => {
    const error = envErrorOf({ AUTH_PROXY_TRUSTED_IP: '10.0.0.1' });
    expectNames(error, 'AUTH_PROXY_TRUSTED_IP', '<not shown>');
    expect(error.message).not.toContain('10.0.0.1');
    expect(error.problem).toContain('is not a known setting');
    expect(error.problem).toContain('AUTH_PROXY_TRUSTED_IPS');
  });

  it('an unknown variable is rejected even next to valid ones', () => {
    expect(envErrorOf({ AUTH_PROXY_TRUSTED_IPS: '10.0.0.1', AUTH_PROXY_HEADERS: 'X-User' }).setting).toBe(
      'AUTH_PROXY_HEADERS',
    );
  });

  it.each([
    ['AUTH_PROXY_MAX_GROUPS', '-1', /whole number/],
    ['AUTH_PROXY_MAX_GROUPS', '1.5', /whole number/],
    ['AUTH_PROXY_MAX_GROUPS', '1e3', /whole number/],
    ['AUTH_PROXY_MAX_GROUPS', 'ten', /whole number/],
    ['AUTH_PROXY_MAX_GROUPS', '0', /must be an integer from 1 to 10000/],
    ['AUTH_PROXY_DB_TIMEOUT_MS', '10', /must be an integer from 50 to 600000/],
    ['AUTH_PROXY_SYNC_TTL_SECONDS', '99999999999', /whole number/],
    ['AUTH_PROXY_SESSION', 'on', /must be off or persistent/],
    ['AUTH_PROXY_SESSION', 'true', /must be off or persistent/],
    ['AUTH_PROXY_SESSION', 'persistant', /must be off or persistent/],
    ['AUTH_PROXY_SESSION_IDLE_SECONDS', '59', /must be an integer from 60 to /],
    ['AUTH_PROXY_SESSION_IDLE_SECONDS', '0', /must be an integer from 60 to /],
    ['AUTH_PROXY_SESSION_IDLE_SECONDS', '8h', /whole number/],
    ['AUTH_PROXY_SESSION_IDLE_SECONDS', '-60', /whole number/],
    ['AUTH_PROXY_SESSION_MAX_SECONDS', '59', /must be an integer from 60 to /],
    ['AUTH_PROXY_SESSION_MAX_SECONDS', '99999999999', /whole number/],
    ['AUTH_PROXY_SESSION_COOKIE_SECURE', 'maybe', /must be true or false/],
    ['AUTH_PROXY_CSRF_CHECK', 'disabled', /must be true or false/],
    ['AUTH_PROXY_SESSION_COOKIE', 'my session', /must be a cookie name/],
    ['AUTH_PROXY_SESSION_COOKIE', 'a;b', /must be a cookie name/],
    ['AUTH_PROXY_SESSION_COOKIE', 'a=b', /must be a cookie name/],
    ['AUTH_PROXY_LOGOUT_PATH', 'auth/logout', /must be a path/],
    ['AUTH_PROXY_LOGOUT_PATH', '/', /must be a path/],
    ['AUTH_PROXY_LOGOUT_PATH', '/auth/', /must be a path/],
    ['AUTH_PROXY_LOGOUT_PATH', '/auth/log%20out', /must be a path/],
  ])('%s=%j is rejected', (variable, value, problem) => {
    const error = envErrorOf({ [variable]: value });
    expect(error.setting).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(value);
    expect(error.problem).toMatch(problem);
  });

  it.each([
    'AUTH_PROXY_PRESET',
    'AUTH_PROXY_HEADER',
    'AUTH_PROXY_USER_GROUPS_HEADER',
    'AUTH_PROXY_GROUPS_SEPARATOR',
    'AUTH_PROXY_CREATE_UNKNOWN_USER',
    'AUTH_PROXY_MAX_GROUPS',
    'AUTH_PROXY_ADMIN_LOCAL_GROUP',
    'AUTH_PROXY_SESSION',
    'AUTH_PROXY_SESSION_IDLE_SECONDS',
    'AUTH_PROXY_SESSION_COOKIE',
    'AUTH_PROXY_SESSION_COOKIE_SECURE',
    'AUTH_PROXY_LOGOUT_URL',
    'AUTH_PROXY_CSRF_CHECK',
  ])('an empty %s is rejected rather than silently defaulted', (variable) => {
    const error = envErrorOf({ [variable]: '' });
    expectNames(error, variable, '');
    expect(error.problem).toMatch(/is empty; unset it to use the default/);
  });

  it('takes AUTH_PROXY_GROUPS_SEPARATOR verbatim: a space is a valid separator, an empty value is not', () => {
    expect(trustedHeaderOptionsFromEnv({ AUTH_PROXY_GROUPS_SEPARATOR: ' ' })).toEqual({ groupsSeparator: ' ' });
    expect(trustedHeaderOptionsFromEnv({ AUTH_PROXY_GROUPS_SEPARATOR: '|' })).toEqual({ groupsSeparator: '|' });
    expectNames(envErrorOf({ AUTH_PROXY_GROUPS_SEPARATOR: '' }), 'AUTH_PROXY_GROUPS_SEPARATOR', '');
    expectNames(envErrorOf({ AUTH_PROXY_GROUPS_SEPARATOR: '\t' }), 'AUTH_PROXY_GROUPS_SEPARATOR', '\t');
  });

  it("AUTH_PROXY_ADMIN_GROUPS='a,,b' is rejected", () => {
    expectNames(envErrorOf({ AUTH_PROXY_ADMIN_GROUPS: 'a,,b' }), 'AUTH_PROXY_ADMIN_GROUPS', '');
  });
});

describe('trustedHeaderOptionsFromEnv: sessions, logout and the cross-site check', () => {
  it('reads every session, logout and cross-site variable', () => {
    const options = trustedHeaderOptionsFromEnv({
      AUTH_PROXY_SESSION: ' Persistent ',
      AUTH_PROXY_SESSION_IDLE_SECONDS: '600',
      AUTH_PROXY_SESSION_MAX_SECONDS: '86400',
      AUTH_PROXY_SESSION_COOKIE: 'app_session',
      AUTH_PROXY_SESSION_COOKIE_SECURE: 'false',
      AUTH_PROXY_LOGOUT_PATH: '/logout',
      AUTH_PROXY_LOGOUT_URL: 'https://auth.example.com/logout?rd=https%3A%2F%2Fapp.example.com',
      AUTH_PROXY_CSRF_CHECK: 'off',
      AUTH_PROXY_ALLOWED_ORIGINS: 'https://ui.example.com, https://admin.example.com:8443',
    });
    expect(options).toEqual({
      session: 'persistent',
      sessionIdleSeconds: 600,
      sessionMaxSeconds: 86_400,
      sessionCookie: 'app_session',
      sessionCookieSecure: false,
      logoutPath: '/logout',
      logoutUrl: 'https://auth.example.com/logout?rd=https%3A%2F%2Fapp.example.com',
      csrfCheck: false,
      allowedOrigins: ['https://ui.example.com', 'https://admin.example.com:8443'],
    });
    const resolved = resolveTrustedHeaderOptions(options);
    expect(resolved.session).toEqual({
      idleMs: 600_000,
      maxMs: 86_400_000,
      cookieName: 'app_session',
      cookieSecure: false,
    });
    expect(resolved.logout).toEqual({
      path: '/logout',
      redirectTo: 'https://auth.example.com/logout?rd=https%3A%2F%2Fapp.example.com',
    });
    expect(resolved.csrf.enabled).toBe(false);
    expect([...resolved.csrf.allowedOrigins]).toEqual(['https://ui.example.com', 'https://admin.example.com:8443']);
  });

  it('AUTH_PROXY_SESSION=off is the default: no session, no logout route, the cross-site check on', () => {
    const resolved = resolveTrustedHeaderOptions(trustedHeaderOptionsFromEnv({ AUTH_PROXY_SESSION: 'off' }));
    expect(resolved.session).toBeNull();
    expect(resolved.logout).toBeNull();
    expect(resolved.csrf.enabled).toBe(true);
    expect(resolved.csrf.allowedOrigins.size).toBe(0);
  });

  it('AUTH_PROXY_SESSION_COOKIE_SECURE=false drops the __Host- prefix of the default name', () => {
    const resolved = resolveTrustedHeaderOptions(
      trustedHeaderOptionsFromEnv({ AUTH_PROXY_SESSION: 'persistent', AUTH_PROXY_SESSION_COOKIE_SECURE: '0' }),
    );
    expect(resolved.session).toMatchObject({ cookieName: 'trusted_header_session', cookieSecure: false });
  });

  it.each(['__Host-session', '__Secure-session'])(
    'AUTH_PROXY_SESSION_COOKIE=%s with AUTH_PROXY_SESSION_COOKIE_SECURE=false is a startup error',
    (name) => {
      const error = envErrorOf({
        AUTH_PROXY_SESSION: 'persistent',
        AUTH_PROXY_SESSION_COOKIE: name,
        AUTH_PROXY_SESSION_COOKIE_SECURE: 'false',
      });
      expectNames(error, 'AUTH_PROXY_SESSION_COOKIE', name);
      expect(error.problem).toMatch(/Secure/);
    },
  );

  it.each([
    '//evil.example',
    '//evil.example/logout',
    '/\\evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
    'JAVASCRIPT:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'ftp://auth.example.com/logout',
    'https://user:secret@auth.example.com/logout',
    'https://user@auth.example.com/logout',
    'https:// evil.example',
    'https://auth.example.com/logout\r\nSet-Cookie: x=1',
    'https://auth.example.com/\u0000',
    'auth.example.com/logout',
    'logout',
  ])('AUTH_PROXY_LOGOUT_URL=%j is rejected', (value) => {
    const error = envErrorOf({ AUTH_PROXY_LOGOUT_URL: value });
    expect(error.setting).toBe('AUTH_PROXY_LOGOUT_URL');
    expect(error.problem).toMatch(/absolute http\(s\) URL without credentials/);
  });

  it.each(['https://auth.example.com/logout', 'http://localhost:9091/logout?rd=x', '/oauth2/sign_out'])(
    'AUTH_PROXY_LOGOUT_URL=%j is accepted as written',
    (value) => {
      const resolved = resolveTrustedHeaderOptions(trustedHeaderOptionsFromEnv({ AUTH_PROXY_LOGOUT_URL: value }));
      expect(resolved.logout).toEqual({ path: '/auth/logout', redirectTo: value });
      expect(resolved.session).toBeNull();
    },
  );

  it.each([
    ['https://ui.example.com/app', 'https://ui.example.com/app'],
    ['https://ui.example.com?x=1', 'https://ui.example.com?x=1'],
    ['https://ui.example.com#x', 'https://ui.example.com#x'],
    ['ui.example.com', 'ui.example.com'],
    ['*', '*'],
    ['null', 'null'],
    ['https://user@ui.example.com', 'https://user@ui.example.com'],
    ['ftp://ui.example.com', 'ftp://ui.example.com'],
    ['https://ok.example.com, https://ui.example.com/path', 'https://ui.example.com/path'],
    ['https://ui.example.com/a/', 'https://ui.example.com/a/'],
  ])('AUTH_PROXY_ALLOWED_ORIGINS=%j is rejected, naming %j', (value, entry) => {
    const error = envErrorOf({ AUTH_PROXY_ALLOWED_ORIGINS: value });
    expectNames(error, 'AUTH_PROXY_ALLOWED_ORIGINS', entry);
    expect(error.problem).toMatch(/no path/);
  });

  it('AUTH_PROXY_ALLOWED_ORIGINS are kept in the form browsers send in Origin', () => {
    const resolved = resolveTrustedHeaderOptions(
      trustedHeaderOptionsFromEnv({
        AUTH_PROXY_ALLOWED_ORIGINS: 'https://UI.Example.com:443/, http://ops.example.com:8080',
      }),
    );
    expect([...resolved.csrf.allowedOrigins]).toEqual(['https://ui.example.com', 'http://ops.example.com:8080']);
  });
});
