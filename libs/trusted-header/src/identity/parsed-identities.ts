import type { IdentityResult } from './identity.js';

interface Entry {
  readonly email: string | undefined;
  readonly name: string | undefined;
  readonly groups: string | undefined;
  readonly result: IdentityResult;
}

/**
 * Remembers the outcome of parsing each distinct set of identity header values, so the same few identities
 * arriving again and again are decoded, normalised and checked once. Entries are found by the raw username
 * value, then compared value by value: no combined key is built and hashed per request.
 *
 * Bounded: at most `limit` entries in all (then it starts over) and `perUser` per username value (then that
 * user's entries start over), so a flood of distinct values costs neither unbounded memory nor long scans.
 */
export class ParsedIdentities {
  /** A user's one entry is stored as itself (most users have one), several in an array of exactly their number. */
  private readonly byUser = new Map<string, Entry | readonly Entry[]>();
  private size = 0;

  constructor(
    private readonly limit = 4096,
    private readonly perUser = 8,
  ) {}

  get(
    user: string,
    email: string | undefined,
    name: string | undefined,
    groups: string | undefined,
  ): IdentityResult | undefined {
    const found = this.byUser.get(user);
    if (found === undefined) return undefined;
    if (!isMany(found)) return matches(found, email, name, groups) ? found.result : undefined;
    for (const entry of found) if (matches(entry, email, name, groups)) return entry.result;
    return undefined;
  }

  set(
    user: string,
    email: string | undefined,
    name: string | undefined,
    groups: string | undefined,
    result: IdentityResult,
  ): void {
    if (this.size >= this.limit) {
      this.byUser.clear();
      this.size = 0;
    }
    const found = this.byUser.get(user);
    const entries = found === undefined ? [] : entriesOf(found);
    const kept = entries.length >= this.perUser ? [] : entries;
    this.size -= entries.length - kept.length;
    const entry: Entry = { email, name, groups, result };
    // concat: an array of exactly the length needed (a spread or `push` would make room for 17).
    this.byUser.set(user, kept.length === 0 ? entry : kept.concat(entry));
    this.size += 1;
  }
}

/** Array.isArray does not narrow a readonly array type. */
function isMany(found: Entry | readonly Entry[]): found is readonly Entry[] {
  return Array.isArray(found);
}

const entriesOf = (found: Entry | readonly Entry[]): readonly Entry[] => (isMany(found) ? found : [found]);

function matches(entry: Entry, email: string | undefined, name: string | undefined, groups: string | undefined) {
  return entry.email === email && entry.name === name && entry.groups === groups;
}
