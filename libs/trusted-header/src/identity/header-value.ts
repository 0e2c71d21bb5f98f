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
 * Removes spaces and tabs (what HTTP calls optional whitespace) at both ends, and nothing else. String.trim()
 * also strips Unicode spaces (U+00A0, U+3000): `ops\u00a0` would become `ops` and receive that group's rights.
 */
export function trimAsciiWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 0x20 || value.charCodeAt(start) === 0x09)) start += 1;
  while (end > start && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end -= 1;
  return start === 0 && end === value.length ? value : value.slice(start, end);
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
 * Values a misconfigured proxy sends instead of an identity: empty values printed as text by the usual runtimes
 * (JavaScript's `null` and `undefined`, C's `(null)`, Go's `<nil>`, a log format's `-`) and templates left
 * unexpanded (`{user}`, `${remote_user}`, `$remote_user`, `%{REMOTE_USER}e`, `{http.auth.user.id}`). Words that
 * are also people's names (`Nan`, `Nil`, `None`) are not placeholders: refusing them would lock real people out.
 */
const PLACEHOLDER_WORDS = new Set(['null', 'undefined', '(null)', '<nil>', '-']);
const TEMPLATE = /[{}]|^\$[A-Za-z_]|^%[A-Za-z{]/;

export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER_WORDS.has(value.toLowerCase()) || TEMPLATE.test(value);
}
