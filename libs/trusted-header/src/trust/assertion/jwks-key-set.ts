import { createLocalJWKSet, errors, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { fetchKeyText, KeyFetchError, monotonicMs, type KeyFetchSettings } from './key-fetch.js';
import { lookupFailure, NO_MATCHING_KEY, type KeyLookup, type KeySource } from './key-source.js';

type LocalSet = ReturnType<typeof createLocalJWKSet>;

const MAX_JWKS_BYTES = 1024 * 1024;

/**
 * A JSON Web Key Set fetched over HTTP(S), held with jose's `createLocalJWKSet`.
 *
 * Not jose's `createRemoteJWKSet` (jose 6, `jwks/remote.js`): once its keys are older than `cacheMaxAge` it
 * refetches before every use and throws when that fetch fails, so an endpoint outage stops tokens signed with
 * keys it already holds; and its cooldown counts from the last successful fetch only, so while the endpoint is
 * down every token with a forged `kid` starts another fetch. Here the cooldown counts from the last attempt,
 * whatever its result, and old keys keep working until a fetch replaces them.
 *
 * The first fetch happens on the first token, or earlier through `warmUp()`. The local set refuses symmetric
 * algorithms and private keys by itself: a secret published in a key set would let anyone sign.
 */
export class JwksKeySet implements KeySource {
  private keys: LocalSet | null = null;
  private fetchedAt = -Infinity;
  private attemptedAt = -Infinity;
  /** Why the last attempt failed; null when it succeeded (or none was made). */
  private lastFailure: KeyFetchError | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly url: URL,
    private readonly settings: KeyFetchSettings,
  ) {}

  async warmUp(): Promise<string | null> {
    await this.refresh();
    if (this.keys !== null) return null;
    // The key endpoint may come up after the application (a proxy started later): the first token asks again
    // rather than waiting out a cooldown this attempt would have started.
    this.attemptedAt = -Infinity;
    return this.lastFailure?.message ?? 'the key set could not be loaded';
  }

  keyFor(header: Readonly<JWSHeaderParameters>): Promise<KeyLookup> {
    if (this.keys === null) return this.firstKeys(header);
    if (this.isStale() && this.mayFetch()) void this.refresh();
    return this.lookup(header, this.keys, true);
  }

  private async firstKeys(header: Readonly<JWSHeaderParameters>): Promise<KeyLookup> {
    if (this.inFlight !== null) await this.inFlight;
    else if (this.mayFetch()) await this.refresh();
    if (this.keys === null) return this.unavailable();
    return this.lookup(header, this.keys, false);
  }

  private async lookup(header: Readonly<JWSHeaderParameters>, keys: LocalSet, mayRefetch: boolean): Promise<KeyLookup> {
    try {
      return { kind: 'key', key: await keys(header) };
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) {
        return lookupFailure(error, NO_MATCHING_KEY, 'no usable key in the key set for this token');
      }
      // A new `kid` is how a key rotation shows up, and how a forged token tries to make us fetch: one fetch
      // per cooldown at most, shared by every caller waiting on it.
      if (mayRefetch && this.inFlight !== null) await this.inFlight;
      else if (mayRefetch && this.mayFetch()) await this.refresh();
      else return this.unknownKid();
      return this.lookup(header, this.keys ?? keys, false);
    }
  }

  private unknownKid(): KeyLookup {
    // While the endpoint is failing we cannot tell a rotated key from a forged one: an outage, not a verdict.
    if (this.lastFailure !== null) return this.unavailable();
    return { kind: 'invalid', code: NO_MATCHING_KEY, detail: 'the key set has no key with the token kid' };
  }

  private unavailable(): KeyLookup {
    const why = this.lastFailure?.message ?? 'the key set has not been fetched yet';
    return { kind: 'keys_unavailable', detail: why };
  }

  private isStale(): boolean {
    return monotonicMs() - this.fetchedAt > this.settings.keysMaxAgeMs;
  }

  private mayFetch(): boolean {
    return monotonicMs() - this.attemptedAt >= this.settings.fetchCooldownMs;
  }

  /** One fetch at a time; never rejects, the outcome is kept in `keys` and `lastFailure`. */
  private refresh(): Promise<void> {
    if (this.inFlight !== null) return this.inFlight;
    this.attemptedAt = monotonicMs();
    const attempt = this.fetchSet().then(
      (keys) => {
        this.keys = keys;
        this.fetchedAt = monotonicMs();
        this.lastFailure = null;
      },
      (error: unknown) => {
        this.lastFailure =
          error instanceof KeyFetchError
            ? error
            : new KeyFetchError('the key set could not be loaded', false, { cause: error });
      },
    );
    this.inFlight = attempt.finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async fetchSet(): Promise<LocalSet> {
    const text = await fetchKeyText(this.url.href, {
      timeoutMs: this.settings.fetchTimeoutMs,
      maxBytes: MAX_JWKS_BYTES,
      accept: 'application/jwk-set+json, application/json',
    });
    const where = this.url.host;
    try {
      return createLocalJWKSet(JSON.parse(text) as JSONWebKeySet);
    } catch (cause) {
      throw new KeyFetchError(`the key endpoint at ${where} did not send a JSON Web Key Set`, true, { cause });
    }
  }
}
