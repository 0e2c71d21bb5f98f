import { importSPKI, type CryptoKey, type JWSHeaderParameters } from 'jose';
import { LRUCache } from 'lru-cache';
import type { MaybePromise } from '../../common/maybe-promise.js';
import { fetchKeyText, KeyFetchError, monotonicMs, type KeyFetchSettings } from './key-fetch.js';
import { NO_MATCHING_KEY, type KeyLookup, type KeySource } from './key-source.js';

/** AWS names its keys with UUIDs; anything outside this shape is refused before it reaches a URL. */
const KID = /^[A-Za-z0-9-]{1,128}$/;
const MAX_PEM_BYTES = 16 * 1024;
/** A kid names one immutable key; a few are live at a time, so a small bound keeps every real one. */
const MAX_KEYS = 32;

/**
 * AWS ALB's keys: one PEM per `kid`, at `<baseUrl><kid>`. Fetched keys are kept per kid. Fetches for kids not
 * yet known share one cooldown, whatever the kid: a stream of forged kids costs at most one fetch per
 * cooldown, at the price of a genuinely new kid waiting out the rest of a cooldown another kid started.
 */
export class AlbKeySet implements KeySource {
  private readonly keys = new LRUCache<string, CryptoKey>({ max: MAX_KEYS });
  private readonly inFlight = new Map<string, Promise<KeyLookup>>();
  private attemptedAt = -Infinity;
  /** The last fetch could not reach the endpoint: a kid we could not ask about is an outage, not a verdict. */
  private lastUnreachable: KeyFetchError | null = null;

  constructor(
    private readonly baseUrl: URL,
    private readonly settings: KeyFetchSettings,
  ) {}

  /** Nothing to load ahead: which keys are needed is known only from the tokens. */
  warmUp(): Promise<string | null> {
    return Promise.resolve(null);
  }

  keyFor(header: Readonly<JWSHeaderParameters>): MaybePromise<KeyLookup> {
    const kid = header.kid;
    // The kid becomes part of a URL: a `/`, `..`, `?` or `%` in it would point the fetch somewhere else.
    if (typeof kid !== 'string' || !KID.test(kid)) {
      return { kind: 'invalid', code: 'ERR_ALB_KID_INVALID', detail: 'the token kid is not a key identifier' };
    }
    const key = this.keys.get(kid);
    if (key !== undefined) return { kind: 'key', key };
    const pending = this.inFlight.get(kid);
    if (pending !== undefined) return pending;
    if (monotonicMs() - this.attemptedAt < this.settings.fetchCooldownMs) return this.coolingDown();
    return this.fetchKey(kid);
  }

  private coolingDown(): KeyLookup {
    if (this.lastUnreachable !== null) {
      return { kind: 'keys_unavailable', detail: this.lastUnreachable.message };
    }
    return { kind: 'invalid', code: NO_MATCHING_KEY, detail: 'no key is known for the token kid' };
  }

  private fetchKey(kid: string): Promise<KeyLookup> {
    this.attemptedAt = monotonicMs();
    const pending = this.download(kid).finally(() => this.inFlight.delete(kid));
    this.inFlight.set(kid, pending);
    return pending;
  }

  private async download(kid: string): Promise<KeyLookup> {
    let pem: string;
    try {
      pem = await fetchKeyText(`${this.baseUrl.href}${kid}`, {
        timeoutMs: this.settings.fetchTimeoutMs,
        maxBytes: MAX_PEM_BYTES,
        accept: 'application/x-pem-file, text/plain',
      });
    } catch (error) {
      const failure =
        error instanceof KeyFetchError
          ? error
          : new KeyFetchError('the key could not be fetched', false, { cause: error });
      this.lastUnreachable = failure.answered ? null : failure;
      if (!failure.answered) return { kind: 'keys_unavailable', detail: failure.message };
      return { kind: 'invalid', code: NO_MATCHING_KEY, detail: `no key for this kid: ${failure.message}` };
    }
    this.lastUnreachable = null;
    try {
      const key = await importSPKI(pem.trim(), 'ES256');
      this.keys.set(kid, key);
      return { kind: 'key', key };
    } catch {
      return { kind: 'invalid', code: 'ERR_ALB_KEY_INVALID', detail: 'the key served for this kid is not a P-256 key' };
    }
  }
}
