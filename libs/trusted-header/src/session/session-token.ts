import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, base64url without padding: 43 characters. */
const TOKEN_BYTES = 32;
const TOKEN_LENGTH = 43;
/** Base64url's alphabet, by character code: 1 for a character a token may hold. */
const TOKEN_CHARACTERS = new Uint8Array(128);
for (const character of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') {
  TOKEN_CHARACTERS[character.charCodeAt(0)] = 1;
}

export function newSessionToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * Anything else (truncated, padded, re-encoded, garbage) is not looked up at all.
 *
 * Checked character by character rather than with `/^[A-Za-z0-9_-]{43}$/`: it runs on every request with a
 * session cookie, and the regular expression cost about 1,100 instructions there (docs/performance.md).
 */
export function isWellFormedSessionToken(value: string): boolean {
  if (value.length !== TOKEN_LENGTH) return false;
  for (let i = 0; i < TOKEN_LENGTH; i += 1) {
    const code = value.charCodeAt(i);
    if (code >= 128 || TOKEN_CHARACTERS[code] === 0) return false;
  }
  return true;
}

/**
 * What is stored and looked up: the token's SHA-256. The token has 256 bits of entropy, so a fast unsalted hash
 * is enough to make a copy of the table useless, and the lookup stays an index probe on equality.
 */
export function sessionTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
