import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, base64url without padding: 43 characters. */
const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function newSessionToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Anything else (truncated, padded, re-encoded, garbage) is not looked up at all. */
export function isWellFormedSessionToken(value: string): boolean {
  return TOKEN_SHAPE.test(value);
}

/**
 * What is stored and looked up: the token's SHA-256. The token has 256 bits of entropy, so a fast unsalted hash
 * is enough to make a copy of the table useless, and the lookup stays an index probe on equality.
 */
export function sessionTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
