/** Far above any proxy's assertion; a bound so a hostile header cannot make us decode megabytes. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** RFC 7515 base64url: no padding, nothing else. */
const SEGMENT = /^[A-Za-z0-9_-]+$/;
/** AWS ALB pads each segment; only a correct trailing `=` or `==` is allowed beyond the strict form. */
const PADDED_SEGMENT = /^[A-Za-z0-9_-]+={0,2}$/;

export interface TokenParts {
  /** The bytes that were signed: the header and payload segments exactly as received. */
  readonly signingInput: string;
  readonly payloadSegment: string;
  readonly signatureSegment: string;
  readonly header: Readonly<Record<string, unknown>>;
}

export type TokenReading =
  | { readonly kind: 'parts'; readonly parts: TokenParts }
  | { readonly kind: 'invalid'; readonly code: string; readonly detail: string };

const malformed = (detail: string): TokenReading => ({ kind: 'invalid', code: 'ERR_JWS_INVALID', detail });

/**
 * Splits a compact JWS and decodes its protected header, refusing every shape a strict decoder would refuse:
 * lenient base64 decoders skip whitespace, accept `=` anywhere and mix alphabets, and a check that lets one of
 * those through turns two spellings of a token into two different answers. `padded` admits AWS ALB's padding,
 * and only that.
 */
export function readToken(token: string, padded: boolean): TokenReading {
  if (token.length > MAX_TOKEN_LENGTH) {
    return { kind: 'invalid', code: 'ERR_TOKEN_TOO_LONG', detail: 'the token is longer than any proxy sends' };
  }
  const segments = token.split('.');
  if (segments.length !== 3) return malformed('the token is not three dot-separated segments');
  if (!segments.every((segment) => isSegment(segment, padded))) {
    return malformed('the token is not base64url encoded');
  }
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];
  const header = decodeJsonObject(headerSegment);
  if (header === null) return malformed('the token header is not a JSON object');
  return {
    kind: 'parts',
    parts: { signingInput: `${headerSegment}.${payloadSegment}`, payloadSegment, signatureSegment, header },
  };
}

function isSegment(segment: string, padded: boolean): boolean {
  if (SEGMENT.test(segment)) return segment.length % 4 !== 1 && isCanonical(segment);
  if (!padded || !PADDED_SEGMENT.test(segment) || segment.length % 4 !== 0) return false;
  return isCanonical(segment.replace(/=+$/, ''));
}

/**
 * Whether the segment is the one spelling of its bytes: the bits of the last character that carry no data are
 * zero (RFC 4648, 3.5), which holds exactly when decoding and encoding again gives it back. Decoders ignore
 * those bits, so without this check one signature had 16 spellings (4 spare bits) that all verified: 16 tokens,
 * 16 cache entries, and anything that recognises a token by its text (a list of refused tokens) would miss 15.
 * (An ECDSA signature keeps a second valid value of its own, (r, n - s): docs/security.md.)
 */
function isCanonical(data: string): boolean {
  return Buffer.from(data, 'base64url').toString('base64url') === data;
}

/** A segment already checked by `readToken`, decoded as a JSON object; null for anything else. */
export function decodeJsonObject(segment: string): Record<string, unknown> | null {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url'));
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
