import { TrustedHeaderConfigError } from './config-error.js';
import { trustedHeaderOptionsFromEnv } from './env.js';
import { maskedUrl, resolveTrustedHeaderOptions } from './resolve-options.js';

/** The error AUTH_PROXY_NOTIFY_URL=`value` gives at startup; fails when there is none. */
function envErrorOf(value: string): TrustedHeaderConfigError {
  try {
    trustedHeaderOptionsFromEnv({ AUTH_PROXY_NOTIFY_URL: value });
  } catch (error) {
    expect(error).toBeInstanceOf(TrustedHeaderConfigError);
    return error as TrustedHeaderConfigError;
  }
  throw new Error(`expected AUTH_PROXY_NOTIFY_URL=${value} to be refused`);
}

describe('AUTH_PROXY_NOTIFY_URL', () => {
  it('is off (the DataSource options) by default', () => {
    expect(resolveTrustedHeaderOptions().notifyUrl).toBeNull();
  });

  it.each(['postgres://app:pw@db.internal:5432/app', 'postgresql://db.internal/app?sslmode=require'])(
    'accepts %s',
    (url) => {
      expect(resolveTrustedHeaderOptions(trustedHeaderOptionsFromEnv({ AUTH_PROXY_NOTIFY_URL: url })).notifyUrl).toBe(
        url,
      );
      expect(resolveTrustedHeaderOptions({ notifyUrl: ` ${url} ` }).notifyUrl).toBe(url);
    },
  );

  it('refuses another scheme, naming the variable and masking the password', () => {
    const error = envErrorOf('mysql://app:s3cret-pw@db/app');
    expect(error.message).toContain('AUTH_PROXY_NOTIFY_URL');
    expect(error.message).toContain('postgres:// or postgresql://');
    expect(error.message).not.toContain('s3cret-pw');
  });

  it('refuses what is not a URL without showing it (it may hold a password)', () => {
    for (const value of ['app:s3cret-pw@db:5432/app', 'postgres://app:s3cret-pw@/app', 's3cret-pw']) {
      const error = envErrorOf(value);
      expect(error.message).toContain('AUTH_PROXY_NOTIFY_URL');
      expect(error.message).not.toContain('s3cret-pw');
    }
  });

  it('refuses a URL without a host, and a value that is no string', () => {
    const error = envErrorOf('postgres://app:s3cret-pw@:5432/app');
    expect(error.message).toMatch(/names no host|is not a URL/);
    expect(error.message).not.toContain('s3cret-pw');
    expect(envErrorOf('postgres:///app').message).toContain('names no host');
    expect(() => resolveTrustedHeaderOptions({ notifyUrl: 42 as unknown as string })).toThrow(
      /option notifyUrl="<not shown>" must be a postgres/,
    );
  });

  it('masks only the password', () => {
    expect(maskedUrl('postgres://app:pw@db:5432/app?sslmode=require')).toBe(
      'postgres://app:***@db:5432/app?sslmode=require',
    );
    expect(maskedUrl('postgres://db/app')).toBe('postgres://db/app');
  });
});
