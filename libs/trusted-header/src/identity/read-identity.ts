import { ANONYMOUS, ANONYMOUS_WITHOUT_USER } from './identity.js';
import type { IdentityResult, IdentityRules } from './identity.js';
import { compileHeaderNameMatcher, twinKey, type HeaderNameMatcher } from './header-names.js';
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
  // Only names as long as an identity header (its twins have the same length) or as `connection` can matter;
  // the others (host, accept, cookie, ...) are skipped without being lower-cased. Lower-casing never changes
  // the length of a name that could still match: header names are ASCII tokens.
  const relevantLengths = new Set([...twinLengths, 'connection'.length]);
  // With a configured name such as X_Remote_User, the plain X-Remote-User is its twin: every name is checked.
  const roles = rolesOf(rules);
  const namesHaveSeparators = roles.some((role) => hasTwinSeparator(headerOf(rules, role).toLowerCase()));
  // The first letter (case folded) of every name that can matter, so that a name of a relevant length such as
  // `Authorization` is passed over without being lower-cased. A twin shares its first letter with the name it
  // imitates unless that is a separator, which any separator can stand for.
  const initials = new Set<number>();
  for (const name of [...exact.keys(), 'connection']) {
    const first = name.charCodeAt(0);
    for (const code of '-_.'.includes(name[0]!) ? ['-', '_', '.'].map((c) => c.charCodeAt(0)) : [first]) {
      initials.add(code | 0x20);
    }
  }
  // The configured spelling as well: a proxy sends the names as configured, found without lower-casing them.
  const spelled = new Map(exact);
  for (const [index, role] of roles.entries()) spelled.set(headerOf(rules, role), index);
  const parsed = new ParsedIdentities();
  const subject = rules.subject ?? undefined;
  // By position in ROLES, refilled on each call: the reader runs to completion without calling out, so one
  // array serves every request.
  const values: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined];

  return (rawHeaders) => {
    values.fill(undefined);
    let hopByHop: Role | undefined;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (!relevantLengths.has(name.length) || !initials.has(name.charCodeAt(0) | 0x20)) continue;
      let role = spelled.get(name);
      if (role === undefined) {
        const lower = name.toLowerCase();
        role = exact.get(lower);
        if (role === undefined) {
          if (lower === 'connection') {
            hopByHop ??= namedIdentityHeader(rawHeaders[i + 1]!);
          } else if (twinLengths.has(lower.length) && (namesHaveSeparators || hasTwinSeparator(lower))) {
            const twinOf = twins.get(twinKey(lower));
            if (twinOf !== undefined) {
              return reject('header_twin', `Header ${name} imitates ${headerOf(rules, twinOf)}`);
            }
          }
          continue;
        }
      }
      if (values[role] !== undefined) {
        return reject('duplicate_header', `Header ${headerOf(rules, roles[role]!)} appears more than once`);
      }
      values[role] = rawHeaders[i + 1]!;
    }
    // Traefik CVE-2021-32813: naming a header in Connection makes a hop drop it, so a proxy's own identity
    // header could be stripped and a client's copy let through further along. Reported after the scan, so a
    // duplicate or twin found later in the header list takes precedence, whatever the order of the lines.
    if (hopByHop !== undefined) {
      return reject('hop_by_hop_header', `Connection names the identity header ${headerOf(rules, hopByHop)}`);
    }
    const user = values[0];
    const email = values[1];
    const displayName = values[2];
    const groups = values[3];
    if (user === undefined) {
      // The stable id alone asserts somebody too: beside a session cookie it must not pass for that session's user.
      return email === undefined && displayName === undefined && groups === undefined && values[SUBJECT] === undefined
        ? ANONYMOUS
        : ANONYMOUS_WITHOUT_USER;
    }
    // With a stable subject the parse depends on it too: it joins the username as the memo's key (a header
    // value cannot contain a line feed, so the two cannot run together).
    const key =
      subject === undefined ? user : values[SUBJECT] === undefined ? undefined : `${user}\n${values[SUBJECT]}`;
    if (key === undefined) {
      return reject(
        'missing_identity',
        `Header ${subject!.header} (the user's stable id) is required with ${rules.headers.user}`,
      );
    }
    let result = parsed.get(key, email, displayName, groups);
    if (result === undefined) {
      result = buildIdentity({ user, email, name: displayName, groups, subject: values[SUBJECT] }, rules);
      parsed.set(key, email, displayName, groups, result);
    }
    return result;
  };

  /** The identity header (or twin of one) a Connection value names, if any. Most values name none. */
  function namedIdentityHeader(value: string): Role | undefined {
    for (const part of value.includes(',') ? value.split(',') : [value]) {
      const token = part.trim();
      if (!twinLengths.has(token.length)) continue;
      const twinOf = twins.get(twinKey(token));
      if (twinOf !== undefined) return twinOf;
    }
    return undefined;
  }
}

interface HeaderNameIndex {
  /** Lower-cased identity header name -> its position in ROLES. */
  readonly exact: ReadonlyMap<string, number>;
  readonly twins: ReadonlyMap<string, Role>;
  /** A twin has the same length as the name it imitates; checking the length first keeps the common case cheap. */
  readonly twinLengths: ReadonlySet<number>;
}

function indexHeaderNames(rules: IdentityRules): HeaderNameIndex {
  const exact = new Map<string, number>();
  const twins = new Map<string, Role>();
  for (const [index, role] of rolesOf(rules).entries()) {
    exact.set(headerOf(rules, role).toLowerCase(), index);
    twins.set(twinKey(headerOf(rules, role)), role);
  }
  return { exact, twins, twinLengths: new Set([...twins.keys()].map((key) => key.length)) };
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
