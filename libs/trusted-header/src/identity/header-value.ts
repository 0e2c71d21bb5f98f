/**
 * Header-value decoding and character rules.
 *
 * Node's HTTP parser hands header values over as latin1: one char per byte. Proxies send UTF-8, so the bytes
 * are decoded explicitly and strictly; a value that is not valid UTF-8 is rejected rather than guessed at.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });
const NON_ASCII = /[^\x00-\x7f]/;
const BEYOND_LATIN1 = /[^\x00-\xff]/;

/** Returns the decoded value, or null when the bytes are not valid UTF-8. */
export function decodeHeaderValue(raw: string): string | null {
  if (!NON_ASCII.test(raw)) return raw;
  // A char above 0xFF cannot come from the wire; whoever built this request did not send bytes: fail closed.
  if (BEYOND_LATIN1.test(raw)) return null;
  try {
    return utf8.decode(Buffer.from(raw, 'latin1'));
  } catch {
    return null;
  }
}

/**
 * Control (Cc), format (Cf: zero-width, bidi overrides and isolates, soft hyphen), surrogate, private-use and
 * unassigned characters, plus the default-ignorable ones outside those categories (combining grapheme
 * joiner, variation selectors, Hangul fillers) and the blank braille pattern. They make two different strings
 * look alike or reorder what an admin sees.
 */
const INVISIBLE_OR_CONTROL = /[\p{C}\p{Default_Ignorable_Code_Point}\u2800]/u;

export function hasInvisibleOrControlCharacter(value: string): boolean {
  return INVISIBLE_OR_CONTROL.test(value);
}

/**
 * Values a misconfigured proxy sends instead of an identity: unset variables printed as text, and templates
 * left unexpanded (`{user}`, `${remote_user}`, `$remote_user`, `%{REMOTE_USER}e`, `{http.auth.user.id}`).
 */
const PLACEHOLDER_WORDS = new Set(['null', 'undefined', 'none', 'nil', '(null)', '<nil>', '-', 'nan', 'unknown']);
const TEMPLATE = /[{}]|^\$[A-Za-z_]|^%[A-Za-z{]/;

export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER_WORDS.has(value.toLowerCase()) || TEMPLATE.test(value);
}
