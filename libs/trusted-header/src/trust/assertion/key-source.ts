import type { CryptoKey, JWSHeaderParameters } from 'jose';
import type { MaybePromise } from '../../common/maybe-promise.js';

/** The key a token names, or why there is none: a verdict on the token, or an outage of the key endpoint. */
export type KeyLookup =
  | { readonly kind: 'key'; readonly key: CryptoKey }
  | { readonly kind: 'invalid'; readonly code: string; readonly detail: string }
  | { readonly kind: 'keys_unavailable'; readonly detail: string };

export interface KeySource {
  /** The key for a token with this protected header (`alg` already checked against the pinned list). */
  keyFor(header: Readonly<JWSHeaderParameters>): MaybePromise<KeyLookup>;
  /**
   * Loads what can be loaded before the first token: null once loaded (or when nothing can be), else why not.
   * Never rejects, and a failure starts no cooldown: the first token asks again.
   */
  warmUp(): Promise<string | null>;
}

export const NO_MATCHING_KEY = 'ERR_JWKS_NO_MATCHING_KEY';

/** A failed key step as a lookup outcome; jose's errors carry a stable `code`, anything else gets ours. */
export function lookupFailure(error: unknown, fallbackCode: string, detail: string): KeyLookup {
  const code = (error as { code?: unknown } | null)?.code;
  return { kind: 'invalid', code: typeof code === 'string' ? code : fallbackCode, detail };
}
