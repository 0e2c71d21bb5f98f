import { sharedGroupList } from '../common/group-lists.js';
import type { RejectionReason } from '../errors/rejection-reason.js';
import { hasInvisibleOrControlCharacter, isPlaceholder, trimAsciiWhitespace } from './header-value.js';
import {
  MAX_DISPLAY_NAME_LENGTH,
  MAX_EMAIL_LENGTH,
  MAX_GROUP_NAME_LENGTH,
  MAX_USERNAME_LENGTH,
  type Identity,
  type IdentityResult,
  type IdentityRules,
  type IdentitySubject,
} from './identity.js';
import { canonicaliseUsername, hasUnstableCodePoint } from './username.js';

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/u;

/** What a proxy asserted, as text: decoded header values or verified claims. */
export interface AssertedValues {
  readonly user: string;
  readonly email?: string;
  readonly name?: string;
  /** Joined by the separator (a header), or already a list (an array claim). */
  readonly groups?: string | readonly string[];
  readonly subject?: IdentitySubject;
}

/** Where each value came from, for messages: header names, or `claim email`. */
export interface ValueSources {
  readonly user: string;
  readonly email: string;
  readonly name: string;
  readonly groups: string;
}

function reject(reason: RejectionReason, detail: string): IdentityResult {
  return { kind: 'rejected', reason, detail };
}

/**
 * The one set of identity rules, whatever carried the values: username canonicalisation, bounds, look-alikes,
 * email shape, placeholders, exact group names. Headers and verified claims both go through it, so a signed
 * token is held to exactly what a header is.
 */
export function identityFromValues(
  values: AssertedValues,
  rules: IdentityRules,
  sources: ValueSources,
): IdentityResult {
  const username = canonicaliseUsername(values.user, rules.caseFoldUsername);
  if (!username.ok) {
    return reject(username.tooLong ? 'value_too_long' : 'invalid_username', `Username ${username.problem}`);
  }
  if (values.subject !== undefined) {
    const id = values.subject.id;
    if (trimAsciiWhitespace(id) === '' || [...id].length > MAX_USERNAME_LENGTH || hasInvisibleOrControlCharacter(id)) {
      return reject(
        'invalid_username',
        `The user id is empty, longer than ${MAX_USERNAME_LENGTH} characters or has control characters`,
      );
    }
  }

  // Lengths are checked on the stored form: lower-casing can lengthen a value. An absent or empty email or
  // display name is null: it leaves what is stored as it is.
  let email: string | null = null;
  const emailText = trimAsciiWhitespace(values.email ?? '');
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
      return reject('invalid_email', `${sources.email} is not an email address`);
    }
    email = normalised;
  }

  let displayName: string | null = null;
  const nameText = values.name?.trim() ?? '';
  if (nameText !== '') {
    displayName = nameText.normalize('NFC');
    if ([...displayName].length > MAX_DISPLAY_NAME_LENGTH) {
      return reject('value_too_long', `Display name is longer than ${MAX_DISPLAY_NAME_LENGTH} characters`);
    }
    if (hasInvisibleOrControlCharacter(nameText) || isPlaceholder(nameText)) {
      return reject('invalid_display_name', `${sources.name} contains a placeholder or control character`);
    }
  }

  // Group names are matched exactly, like usernames: only spaces and tabs around separators are trimmed, and
  // nothing is normalised, so `ops\u00a0`, `\u3000ops` or a Kelvin-sign `K` never match `ops` or `K`.
  const groups = new Set<string>();
  const groupsGiven = values.groups ?? '';
  if (typeof groupsGiven === 'string' && isPlaceholder(trimAsciiWhitespace(groupsGiven))) {
    return reject('invalid_groups', `${sources.groups} is a placeholder`);
  }
  const parts = typeof groupsGiven === 'string' ? groupsGiven.split(rules.groupsSeparator) : groupsGiven;
  for (const part of parts) {
    const group = trimAsciiWhitespace(part);
    if (group === '') continue;
    if ([...group].length > MAX_GROUP_NAME_LENGTH) {
      return reject('value_too_long', `A group name is longer than ${MAX_GROUP_NAME_LENGTH} characters`);
    }
    if (hasInvisibleOrControlCharacter(group)) {
      return reject('invalid_groups', `${sources.groups} contains a control or invisible character`);
    }
    groups.add(group);
    if (groups.size > rules.maxGroups) {
      return reject('too_many_groups', `More than ${rules.maxGroups} groups asserted`);
    }
  }

  // Without a subject, a literal of exactly four properties: a spread would give every cached identity a fifth slot.
  const identity: Identity = {
    username: username.username,
    email,
    displayName,
    groups: sharedGroupList([...groups].sort()),
  };
  return Object.freeze({
    kind: 'identity',
    identity: Object.freeze(
      values.subject === undefined ? identity : { ...identity, subject: Object.freeze({ ...values.subject }) },
    ),
  });
}
