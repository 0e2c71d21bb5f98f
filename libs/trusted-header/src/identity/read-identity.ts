import { ANONYMOUS, ANONYMOUS_WITHOUT_USER } from './identity.js';
import type { IdentityResult, IdentityRules } from './identity.js';
import { compileHeaderNameMatcher, HEADER_NAME_TOKEN, twinKey, type HeaderNameMatcher } from './header-names.js';
import { decodeHeaderValue, trimAsciiWhitespace } from './header-value.js';
import { identityFromValues } from './identity-values.js';
import { ParsedIdentities } from './parsed-identities.js';
import { loadUnicodeSecurityData } from './unicode-security.js';

type Role = 'user' | 'email' | 'name' | 'groups' | 'subject';
const ROLES = ['user', 'email', 'name', 'groups'] as const;
/** Position of the stable-subject header among the values, when one is configured. */
const SUBJECT = 4;

/** Reads the identity from a request's raw header list (`IncomingMessage.rawHeaders`: name, value, ...). */
export type IdentityReader = (rawHeaders: readonly string[]) => IdentityResult;

function rolesOf(rules: IdentityRules): readonly Role[] {
  return rules.subject === null ? ROLES : [...ROLES, 'subject'];
}

function headerOf(rules: IdentityRules, role: Role): string {
  return role === 'subject' ? rules.subject!.header : rules.headers[role];
}

function reject(reason: Extract<IdentityResult, { kind: 'rejected' }>['reason'], detail: string): IdentityResult {
  return { kind: 'rejected', reason, detail };
}

/**
 * Compiles the rules once into a reader used on every request. The reader works on raw headers, not on
 * `req.headers`: Node joins repeated unknown headers into `"alice, admin"`, which would hide a duplicate and
 * let a second line smuggle a user in. Identity comes from header lines only, never from trailers, query
 * strings, cookies or bodies.
 */
export function compileIdentityReader(rules: IdentityRules): IdentityReader {
  loadUnicodeSecurityData();
  const { exact, twins, twinLengths } = indexHeaderNames(rules);
  const roles = rolesOf(rules);
  // With a configured name such as X_Remote_User, the plain X-Remote-User is its twin: every name is checked.
  const namesHaveSeparators = roles.some((role) => hasTwinSeparator(headerOf(rules, role).toLowerCase()));
  const relevant = relevantNameFilter([...twinLengths, CONNECTION.length], [...exact.keys(), CONNECTION]);
  // The spellings a proxy really sends (as configured, or lower-cased as HTTP/2 and some proxies send them),
  // by length and compared with ===: a Map lookup would hash each request's freshly parsed name.
  const spellings = new SpellingsByLength();
  for (const [index, role] of roles.entries()) spellings.add(headerOf(rules, role), index);
  for (const [name, index] of exact) spellings.add(name, index);
  spellings.add('Connection', CONNECTION_ROLE);
  spellings.add(CONNECTION, CONNECTION_ROLE);
  const parsed = new ParsedIdentities();
  const subject = rules.subject ?? undefined;
  const isTwinLength = lengthTable(twinLengths);
  const shortestName = Math.min(...twinLengths);

  return (rawHeaders) => {
    // Locals rather than one array kept across calls: a header value stored into a long-lived array costs a
    // write barrier per store.
    let user: string | undefined;
    let email: string | undefined;
    let displayName: string | undefined;
    let groups: string | undefined;
    let subjectValue: string | undefined;
    let hopByHop: Role | undefined;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (!relevant(name)) continue;
      let role = spellings.find(name);
      if (role === undefined) {
        const lower = name.toLowerCase();
        role = exact.get(lower) ?? (lower === CONNECTION ? CONNECTION_ROLE : undefined);
        if (role === undefined) {
          const twinOf = twinImitatedBy(lower);
          if (twinOf !== undefined) return reject('header_twin', `Header ${name} imitates ${headerOf(rules, twinOf)}`);
          continue;
        }
      }
      if (role === CONNECTION_ROLE) {
        hopByHop ??= namedIdentityHeader(rawHeaders[i + 1]!);
        continue;
      }
      const value = rawHeaders[i + 1]!;
      let seen: string | undefined;
      switch (role) {
        case 0:
          seen = user;
          user = value;
          break;
        case 1:
          seen = email;
          email = value;
          break;
        case 2:
          seen = displayName;
          displayName = value;
          break;
        case 3:
          seen = groups;
          groups = value;
          break;
        case SUBJECT:
          seen = subjectValue;
          subjectValue = value;
          break;
      }
      if (seen !== undefined) {
        return reject('duplicate_header', `Header ${headerOf(rules, roles[role]!)} appears more than once`);
      }
    }
    // Traefik CVE-2021-32813: naming a header in Connection makes a hop drop it, so a proxy's own identity
    // header could be stripped and a client's copy let through further along. Reported after the scan, so a
    // duplicate or twin found later in the header list takes precedence, whatever the order of the lines.
    if (hopByHop !== undefined) {
      return reject('hop_by_hop_header', `Connection names the identity header ${headerOf(rules, hopByHop)}`);
    }
    if (user === undefined) {
      // The stable id alone asserts somebody too: beside a session cookie it must not pass for that session's user.
      return email === undefined && displayName === undefined && groups === undefined && subjectValue === undefined
        ? ANONYMOUS
        : ANONYMOUS_WITHOUT_USER;
    }
    // With a stable subject the parse depends on it too: it joins the username as the memo's key (a header
    // value cannot contain a line feed, so the two cannot run together).
    const key = subject === undefined ? user : subjectValue === undefined ? undefined : `${user}\n${subjectValue}`;
    if (key === undefined) {
      return reject(
        'missing_identity',
        `Header ${subject!.header} (the user's stable id) is required with ${rules.headers.user}`,
      );
    }
    let result = parsed.get(key, email, displayName, groups);
    if (result === undefined) {
      result = buildIdentity({ user, email, name: displayName, groups, subject: subjectValue }, rules);
      parsed.set(key, email, displayName, groups, result);
    }
    return result;
  };

  /** The identity header a lower-cased name that is not one of them imitates, if any. */
  function twinImitatedBy(lower: string): Role | undefined {
    if (!isTwinLength(lower.length) || !(namesHaveSeparators || hasTwinSeparator(lower))) return undefined;
    return twins.get(twinKey(lower));
  }

  /**
   * The identity header (or twin of one) a Connection value names, if any. Most values name none, and most are
   * one token (`keep-alive`, `close`): that case allocates nothing.
   */
  function namedIdentityHeader(value: string): Role | undefined {
    // Shorter than every identity header name: no token of it can be one (`keep-alive`, `close`).
    if (value.length < shortestName) return undefined;
    if (!value.includes(',')) return identityHeaderNamed(value);
    for (const part of value.split(',')) {
      const twinOf = identityHeaderNamed(part);
      if (twinOf !== undefined) return twinOf;
    }
    return undefined;
  }

  function identityHeaderNamed(part: string): Role | undefined {
    const token = isTrimmed(part) ? part : part.trim();
    return isTwinLength(token.length) ? twins.get(twinKey(token)) : undefined;
  }
}

const CONNECTION = 'connection';
/** What `SpellingsByLength` answers for a Connection header, beside the identity headers' positions. */
const CONNECTION_ROLE = -1;

/**
 * Whether a header name can matter at all: only names as long as an identity header (its twins have the same
 * length) or as `connection` can, and only if their first letter (case folded) is the first letter of one of
 * those names, or a separator where that name begins with one (a twin may swap `-`, `_` and `.`). The others
 * (host, accept, cookie, authorization, ...) are passed over without being lower-cased; lower-casing never
 * changes the length of a name that could still match, as header names are ASCII tokens. Tables indexed by
 * length and by character code rather than Sets: a Set lookup hashes its key on every request.
 */
function relevantNameFilter(lengths: readonly number[], names: readonly string[]): (name: string) => boolean {
  const hasLength = lengthTable(lengths);
  const byInitial = new Uint8Array(128);
  for (const name of names) {
    const separator = '-_.'.includes(name[0]!);
    for (const initial of separator ? ['-', '_', '.'] : [name[0]!]) byInitial[initial.charCodeAt(0) | 0x20] = 1;
  }
  return (name) => {
    const initial = name.charCodeAt(0) | 0x20;
    return hasLength(name.length) && initial < 128 && byInitial[initial] === 1;
  };
}

/** Whether `trim()` would return the string unchanged: it starts and ends with a visible ASCII character. */
function isTrimmed(text: string): boolean {
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  return first > 0x20 && first < 0x7f && last > 0x20 && last < 0x7f;
}

/** A membership test for small lengths, by table: a Set lookup hashes its key. */
function lengthTable(lengths: readonly number[]): (length: number) => boolean {
  const table = new Uint8Array(Math.max(0, ...lengths) + 1);
  for (const length of lengths) table[length] = 1;
  return (length) => length < table.length && table[length] === 1;
}

/** Exact header-name spellings by length, each with its position; found by comparing with === in a short list. */
class SpellingsByLength {
  private readonly byLength: { spelling: string; role: number }[][] = [];

  add(spelling: string, role: number): void {
    const list = (this.byLength[spelling.length] ??= []);
    if (!list.some((known) => known.spelling === spelling)) list.push({ spelling, role });
  }

  find(name: string): number | undefined {
    const list = this.byLength[name.length];
    if (list === undefined) return undefined;
    for (const known of list) if (known.spelling === name) return known.role;
    return undefined;
  }
}

interface HeaderNameIndex {
  /** Lower-cased identity header name -> its position in ROLES. */
  readonly exact: ReadonlyMap<string, number>;
  readonly twins: ReadonlyMap<string, Role>;
  /** A twin has the same length as the name it imitates; checking the length first keeps the common case cheap. */
  readonly twinLengths: readonly number[];
}

function indexHeaderNames(rules: IdentityRules): HeaderNameIndex {
  const exact = new Map<string, number>();
  const twins = new Map<string, Role>();
  for (const [index, role] of rolesOf(rules).entries()) {
    const name = headerOf(rules, role);
    // Option validation refuses such names already; rules built by hand (building blocks) are checked here, as
    // the tables below assume ASCII token names, one per header.
    if (!HEADER_NAME_TOKEN.test(name) || twinKey(name) === CONNECTION) {
      throw new Error(`Identity header name ${JSON.stringify(name)} is not one a proxy can send as its own header`);
    }
    const clash = twins.get(twinKey(name));
    if (clash !== undefined) throw new Error(`Identity headers ${headerOf(rules, clash)} and ${name} are one header`);
    exact.set(name.toLowerCase(), index);
    twins.set(twinKey(name), role);
  }
  return { exact, twins, twinLengths: [...new Set([...twins.keys()].map((key) => key.length))] };
}

/**
 * When no identity header name has a `_` or `.`, a name that is not one of them can only be a twin if it has a
 * `_` or `.` itself: otherwise its twin key is the name. This spares the common case (`Authorization` is as
 * long as `Remote-Groups`) the twin-key rewrite.
 */
function hasTwinSeparator(lowerName: string): boolean {
  return lowerName.includes('_') || lowerName.includes('.');
}

/**
 * Whether a header name is an identity header or a twin of one: what must be removed from requests of
 * untrusted peers so no controller, logger or downstream call can mistake it for an asserted identity.
 */
export function compileIdentityHeaderMatcher(rules: IdentityRules): HeaderNameMatcher {
  return compileHeaderNameMatcher(rolesOf(rules).map((role) => headerOf(rules, role)))!;
}

function buildIdentity(raw: Partial<Record<Role, string>> & { user: string }, rules: IdentityRules): IdentityResult {
  const decoded: Partial<Record<Role, string>> = {};
  for (const role of rolesOf(rules)) {
    const value = raw[role];
    if (value === undefined) continue;
    const text = decodeHeaderValue(value);
    if (text === null) {
      return reject('invalid_header_encoding', `Header ${headerOf(rules, role)} is not valid UTF-8`);
    }
    decoded[role] = text;
  }
  const { headers } = rules;
  return identityFromValues(
    {
      user: decoded.user!,
      email: decoded.email,
      name: decoded.name,
      groups: decoded.groups,
      subject:
        decoded.subject === undefined
          ? undefined
          : { issuer: rules.subject!.issuer, id: trimAsciiWhitespace(decoded.subject) },
    },
    rules,
    {
      user: `Header ${headers.user}`,
      email: `Header ${headers.email}`,
      name: `Header ${headers.name}`,
      groups: `Header ${headers.groups}`,
    },
  );
}
