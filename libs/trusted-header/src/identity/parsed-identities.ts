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
  private readonly byUser = new Map<string, Entry[]>();
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
    const entries = this.byUser.get(user);
    if (entries === undefined) return undefined;
    for (const entry of entries) {
      if (entry.email === email && entry.name === name && entry.groups === groups) return entry.result;
    }
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
    let entries = this.byUser.get(user);
    if (entries === undefined || entries.length >= this.perUser) {
      this.size -= entries?.length ?? 0;
      entries = [];
      this.byUser.set(user, entries);
    }
    entries.push({ email, name, groups, result });
    this.size += 1;
  }
}
