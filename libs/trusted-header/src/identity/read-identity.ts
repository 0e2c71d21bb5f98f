import {
  ANONYMOUS,
  ANONYMOUS_WITHOUT_USER,
  MAX_DISPLAY_NAME_LENGTH,
  MAX_EMAIL_LENGTH,
  MAX_GROUP_NAME_LENGTH,
} from './identity.js';
import type { IdentityResult, IdentityRules } from './identity.js';
import { twinKey } from './header-names.js';
import {
  decodeHeaderValue,
  hasInvisibleOrControlCharacter,
  isPlaceholder,
  trimAsciiWhitespace,
} from './header-value.js';
import { ParsedIdentities } from './parsed-identities.js';
import { canonicaliseUsername, hasUnstableCodePoint } from './username.js';
import { loadUnicodeSecurityData } from './unicode-security.js';

type Role = 'user' | 'email' | 'name' | 'groups';
const ROLES: readonly Role[] = ['user', 'email', 'name', 'groups'];

/** Reads the identity from a request's raw header list (`IncomingMessage.rawHeaders`: name, value, ...). */
export type IdentityReader = (rawHeaders: readonly string[]) => IdentityResult;

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/u;

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
  const namesHaveSeparators = ROLES.some((role) => hasTwinSeparator(rules.headers[role].toLowerCase()));
  const parsed = new ParsedIdentities();

  return (rawHeaders) => {
    // By position in ROLES: a small array is cheaper per request than an object keyed by role.
    const values: (string | undefined)[] = [undefined, undefined, undefined, undefined];
    let hopByHop: Role | undefined;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (!relevantLengths.has(name.length)) continue;
      const lower = name.toLowerCase();
      const role = exact.get(lower);
      if (role !== undefined) {
        if (values[role] !== undefined) {
          return reject('duplicate_header', `Header ${rules.headers[ROLES[role]!]} appears more than once`);
        }
        values[role] = rawHeaders[i + 1]!;
      } else if (lower === 'connection') {
        hopByHop ??= namedIdentityHeader(rawHeaders[i + 1]!);
      } else if (twinLengths.has(lower.length) && (namesHaveSeparators || hasTwinSeparator(lower))) {
        const twinOf = twins.get(twinKey(lower));
        if (twinOf !== undefined) {
          return reject('header_twin', `Header ${rawHeaders[i]} imitates ${rules.headers[twinOf]}`);
        }
      }
    }
    // Traefik CVE-2021-32813: naming a header in Connection makes a hop drop it, so a proxy's own identity
    // header could be stripped and a client's copy let through further along. Reported after the scan, so a
    // duplicate or twin found later in the header list takes precedence, whatever the order of the lines.
    if (hopByHop !== undefined) {
      return reject('hop_by_hop_header', `Connection names the identity header ${rules.headers[hopByHop]}`);
    }
    const [user, email, displayName, groups] = values;
    if (user === undefined) {
      return email === undefined && displayName === undefined && groups === undefined
        ? ANONYMOUS
        : ANONYMOUS_WITHOUT_USER;
    }
    let result = parsed.get(user, email, displayName, groups);
    if (result === undefined) {
      result = buildIdentity({ user, email, name: displayName, groups }, rules);
      parsed.set(user, email, displayName, groups, result);
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
  for (const [index, role] of ROLES.entries()) {
    exact.set(rules.headers[role].toLowerCase(), index);
    twins.set(twinKey(rules.headers[role]), role);
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
export function compileIdentityHeaderMatcher(rules: IdentityRules): (headerName: string) => boolean {
  const { twins, twinLengths } = indexHeaderNames(rules);
  return (headerName) => twinLengths.has(headerName.length) && twins.has(twinKey(headerName));
}

function buildIdentity(values: Partial<Record<Role, string>>, rules: IdentityRules): IdentityResult {
  const decoded: Partial<Record<Role, string>> = {};
  for (const role of ROLES) {
    const raw = values[role];
    if (raw === undefined) continue;
    const text = decodeHeaderValue(raw);
    if (text === null) {
      return reject('invalid_header_encoding', `Header ${rules.headers[role]} is not valid UTF-8`);
    }
    decoded[role] = text;
  }

  const username = canonicaliseUsername(decoded.user!, rules.caseFoldUsername);
  if (!username.ok) {
    return reject(username.tooLong ? 'value_too_long' : 'invalid_username', `Username ${username.problem}`);
  }

  // Lengths are checked on the stored form: lower-casing can lengthen a value. An absent or empty email or
  // display name is null: it leaves what is stored as it is.
  let email: string | null = null;
  const emailText = trimAsciiWhitespace(decoded.email ?? '');
  if (emailText !== '') {
    const normalised = emailText.normalize('NFC').toLowerCase();
    if ([...normalised].length > MAX_EMAIL_LENGTH) {
      return reject('value_too_long', `Email is longer than ${MAX_EMAIL_LENGTH} characters`);
    }
    // An email is unique among users: a spelling that normalisation or case mapping would fold into another
    // address (Kelvin sign, fullwidth, dotless i) is refused, never stored as the address it imitates.
    if (
      hasInvisibleOrControlCharacter(emailText) ||
      isPlaceholder(emailText) ||
      !EMAIL_SHAPE.test(normalised) ||
      hasUnstableCodePoint(emailText) ||
      normalised.toUpperCase().toLowerCase() !== normalised
    ) {
      return reject('invalid_email', `Header ${rules.headers.email} is not an email address`);
    }
    email = normalised;
  }

  let displayName: string | null = null;
  const nameText = decoded.name?.trim() ?? '';
  if (nameText !== '') {
    displayName = nameText.normalize('NFC');
    if ([...displayName].length > MAX_DISPLAY_NAME_LENGTH) {
      return reject('value_too_long', `Display name is longer than ${MAX_DISPLAY_NAME_LENGTH} characters`);
    }
    if (hasInvisibleOrControlCharacter(nameText) || isPlaceholder(nameText)) {
      return reject('invalid_display_name', `Header ${rules.headers.name} contains a placeholder or control character`);
    }
  }

  // Group names are matched exactly, like usernames: only spaces and tabs around separators are trimmed, and
  // nothing is normalised, so `ops\u00a0`, `\u3000ops` or a Kelvin-sign `K` never match `ops` or `K`.
  const groups = new Set<string>();
  const groupsText = decoded.groups ?? '';
  if (isPlaceholder(trimAsciiWhitespace(groupsText))) {
    return reject('invalid_groups', `Header ${rules.headers.groups} is a placeholder`);
  }
  for (const part of groupsText.split(rules.groupsSeparator)) {
    const group = trimAsciiWhitespace(part);
    if (group === '') continue;
    if ([...group].length > MAX_GROUP_NAME_LENGTH) {
      return reject('value_too_long', `A group name is longer than ${MAX_GROUP_NAME_LENGTH} characters`);
    }
    if (hasInvisibleOrControlCharacter(group)) {
      return reject('invalid_groups', `Header ${rules.headers.groups} contains a control or invisible character`);
    }
    groups.add(group);
    if (groups.size > rules.maxGroups) {
      return reject('too_many_groups', `More than ${rules.maxGroups} groups asserted`);
    }
  }

  return Object.freeze({
    kind: 'identity',
    identity: Object.freeze({
      username: username.username,
      email,
      displayName,
      groups: Object.freeze([...groups].sort()),
    }),
  });
}
