import { hasInvisibleOrControlCharacter, isPlaceholder } from './header-value.js';
import { MAX_USERNAME_LENGTH } from './identity.js';
import { asciiLookalike, mixedScripts } from './unicode-security.js';

export type UsernameResult =
  | { readonly ok: true; readonly username: string }
  | { readonly ok: false; readonly tooLong: boolean; readonly problem: string };

type Problem = Extract<UsernameResult, { ok: false }>;

const WHITESPACE_OTHER_THAN_SPACE = /[^\S ]/u;

function problem(text: string, tooLong = false): Problem {
  return { ok: false, tooLong, problem: text };
}

/** A code point that normalisation on its own turns into something else (NFC singletons, NFKC forms). */
export function hasUnstableCodePoint(value: string): boolean {
  for (const codePoint of value) {
    if (codePoint.normalize('NFKC') !== codePoint) return true;
  }
  return false;
}

/** The rules a username must meet, checked on what was asserted and again on the account key derived from it. */
function checkUsername(value: string): Problem | null {
  if (value.trim() === '') return problem('is empty');
  if ([...value].length > MAX_USERNAME_LENGTH) return problem(`is longer than ${MAX_USERNAME_LENGTH} characters`, true);
  if (hasInvisibleOrControlCharacter(value))
    return problem('contains a control, zero-width, bidi or invisible character');
  if (value !== value.trim() || WHITESPACE_OTHER_THAN_SPACE.test(value)) {
    return problem('has leading, trailing or non-space whitespace');
  }
  if (isPlaceholder(value)) return problem('is a placeholder, not a user');
  // HTTP stacks and proxies join repeated header lines with ", ": such a name cannot be told from two assertions.
  if (value.includes(',')) return problem('contains a comma');
  if (hasUnstableCodePoint(value)) {
    return problem('contains compatibility or singleton characters (fullwidth, superscript, ligature, Kelvin sign)');
  }
  const nfc = value.normalize('NFC');
  if (nfc.toUpperCase().toLowerCase() !== nfc.toLowerCase()) {
    return problem('contains a letter whose case mapping is ambiguous (such as dotless i or sharp s)');
  }
  const mixed = mixedScripts(nfc);
  if (mixed !== null) return problem(`mixes scripts (${mixed.join(', ')})`);
  // Both cases: whether a name imitates an ASCII one must not depend on how it was capitalised (`Ꝯ` imitates
  // `9`, its lower case `ꝯ` nothing), or `Admin` and `admin` could land on different sides of the rule.
  const lookalike = asciiLookalike(nfc.toLowerCase()) ?? asciiLookalike(nfc.toUpperCase());
  if (lookalike !== null) return problem(`imitates the name ${JSON.stringify(lookalike)} with look-alike letters`);
  return null;
}

/**
 * Turns an asserted username into the account key.
 *
 * The key is NFC, then (by default) lower-cased, so `Admin` and `admin` are one account. Characters that a
 * normalisation or case mapping would turn into other letters are rejected rather than folded: fullwidth
 * `ａｄｍｉｎ`, modifier letters `ᴬᴰᴹᴵᴺ` and the Kelvin sign (NFKC changes them), dotless `admın`, long `ſ` and
 * `ß` (upper-casing maps them to ASCII). Folding them would hand `admin`'s account to whoever can register a
 * look-alike name upstream (Django CVE-2019-19844). For the same reason, by Unicode's own data (UTS #39): names
 * mixing scripts (`аdmin` with a Cyrillic `а`, `rօօt` with Armenian `օ`, `Ꭺdmin` with Cherokee `Ꭺ`; Latin with
 * Han, kana, Bopomofo or Hangul is allowed) and non-ASCII names whose confusable skeleton is ASCII (Cyrillic
 * `рор` imitating `pop`) are rejected. A comma is rejected too: repeated header lines arrive joined by commas. The key itself must pass the same rules and map
 * to itself, so lower-casing can neither lengthen a name past the limit nor produce a placeholder.
 */
export function canonicaliseUsername(value: string, caseFold: boolean): UsernameResult {
  const asserted = checkUsername(value);
  if (asserted) return asserted;
  const nfc = value.normalize('NFC');
  const key = caseFold ? nfc.toLowerCase().normalize('NFC') : nfc;
  if (key !== value) {
    const derived = checkUsername(key);
    if (derived) return { ...derived, problem: `becomes a name that ${derived.problem}` };
    const again = caseFold ? key.toLowerCase().normalize('NFC') : key;
    if (again !== key) return problem('does not map to a stable account name');
  }
  return { ok: true, username: key };
}
