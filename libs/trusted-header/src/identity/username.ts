import { hasInvisibleOrControlCharacter, isPlaceholder } from './header-value.js';
import { MAX_USERNAME_LENGTH } from './identity.js';

export type UsernameResult =
  | { readonly ok: true; readonly username: string }
  | { readonly ok: false; readonly tooLong: boolean; readonly problem: string };

const CONFUSABLE_SCRIPTS = [/\p{Script=Latin}/u, /\p{Script=Greek}/u, /\p{Script=Cyrillic}/u];
const WHITESPACE_OTHER_THAN_SPACE = /[^\S ]/u;

/**
 * Turns an asserted username into the account key.
 *
 * The key is NFC, then (by default) lower-cased, so `Admin` and `admin` are one account. Characters that a
 * later normalisation or case mapping would turn into other letters are rejected rather than folded: fullwidth
 * `ａｄｍｉｎ` and modifier letters `ᴬᴰᴹᴵᴺ` (NFKC changes them), dotless `admın`, long `ſ` and `ß` (upper-casing
 * maps them to ASCII). Folding them would hand `admin`'s account to whoever can register a look-alike name
 * upstream (Django CVE-2019-19844). Mixing Latin, Greek and Cyrillic letters in one name is rejected for the
 * same reason (`аdmin` with a Cyrillic `а`).
 */
export function canonicaliseUsername(value: string, caseFold: boolean): UsernameResult {
  if (value.trim() === '') return { ok: false, tooLong: false, problem: 'is empty' };
  if ([...value].length > MAX_USERNAME_LENGTH) {
    return { ok: false, tooLong: true, problem: `is longer than ${MAX_USERNAME_LENGTH} characters` };
  }
  if (hasInvisibleOrControlCharacter(value)) {
    return { ok: false, tooLong: false, problem: 'contains a control, zero-width or bidi character' };
  }
  if (value !== value.trim() || WHITESPACE_OTHER_THAN_SPACE.test(value)) {
    return { ok: false, tooLong: false, problem: 'has leading, trailing or non-space whitespace' };
  }
  if (isPlaceholder(value)) return { ok: false, tooLong: false, problem: 'is a placeholder, not a user' };

  const nfc = value.normalize('NFC');
  if (nfc.normalize('NFKC') !== nfc) {
    return { ok: false, tooLong: false, problem: 'contains compatibility characters (fullwidth, superscript, ligature)' };
  }
  const lower = nfc.toLowerCase();
  if (nfc.toUpperCase().toLowerCase() !== lower) {
    return { ok: false, tooLong: false, problem: 'contains a letter whose case mapping is ambiguous (such as dotless i)' };
  }
  if (CONFUSABLE_SCRIPTS.filter((script) => script.test(nfc)).length > 1) {
    return { ok: false, tooLong: false, problem: 'mixes Latin, Greek or Cyrillic letters' };
  }
  return { ok: true, username: caseFold ? lower.normalize('NFC') : nfc };
}
