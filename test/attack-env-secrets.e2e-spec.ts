import { TrustedHeaderConfigError, trustedHeaderOptionsFromEnv } from 'nestjs-trusted-header';

/**
 * THREATS 10: a shared secret is never printed, in logs or startup errors. An operator who misspells the
 * variable (singular SECRET, a missing S, an old name) puts the secret under a name the library does not know;
 * the startup error for the unknown name must not quote its value.
 */
const SECRET = 'Zq7v' + '0123456789abcdef0123456789abcdef0123456789abcdef';

describe('a misspelt secret variable is refused without printing the secret', () => {
  it.each(['AUTH_PROXY_SHARED_SECRET', 'AUTH_PROXY_SHARED_SECRETS_OLD', 'AUTH_PROXY_SECRET', 'AUTH_PROXY_JWT_SECRET'])(
    '%s',
    (name) => {
      let error: unknown;
      try {
        trustedHeaderOptionsFromEnv({ [name]: SECRET } as NodeJS.ProcessEnv);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TrustedHeaderConfigError);
      expect((error as Error).message).toContain(name);
      expect((error as Error).message).not.toContain(SECRET);
      expect(JSON.stringify((error as TrustedHeaderConfigError).value ?? null)).not.toContain(SECRET);
    },
  );
});
