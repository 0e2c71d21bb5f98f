import type { RejectionReason } from '../errors/rejection-reason.js';

/** An identity asserted by a trusted proxy, validated and canonicalised. */
export interface Identity {
  /** The account key: Unicode-normalised and, by default, case-folded. */
  readonly username: string;
  readonly email: string | null;
  readonly displayName: string | null;
  /** External (proxy) groups: trimmed, deduplicated, sorted. */
  readonly groups: readonly string[];
  /**
   * The identity provider's stable key for the person, where the proxy gives one (AUTH_PROXY_USER_ID_HEADER or a
   * verified assertion's `sub`): the account is then keyed on it, and the username is an attribute that follows
   * renames. Absent (undefined) when no subject is configured.
   */
  readonly subject?: IdentitySubject;
}

/** A stable subject and the namespace it is unique in (the profile's name, or the assertion's issuer). */
export interface IdentitySubject {
  readonly issuer: string;
  readonly id: string;
}

/** Header names as configured (display form, e.g. `Remote-User`). */
export interface IdentityHeaderNames {
  readonly user: string;
  readonly email: string;
  readonly name: string;
  readonly groups: string;
}

export interface IdentityRules {
  readonly headers: IdentityHeaderNames;
  /** The stable-subject header and the namespace its values are unique in (the profile's name); null: none. */
  readonly subject: { readonly header: string; readonly issuer: string } | null;
  readonly groupsSeparator: string;
  readonly maxGroups: number;
  readonly caseFoldUsername: boolean;
}

export type IdentityResult =
  | { readonly kind: 'identity'; readonly identity: Identity }
  | {
      readonly kind: 'anonymous';
      /** No user header, but other identity headers (email, name, groups): an assertion of nobody in particular. */
      readonly withoutUser?: true;
    }
  | { readonly kind: 'rejected'; readonly reason: RejectionReason; readonly detail: string };

export const MAX_USERNAME_LENGTH = 255;
export const MAX_EMAIL_LENGTH = 254;
export const MAX_DISPLAY_NAME_LENGTH = 256;
export const MAX_GROUP_NAME_LENGTH = 256;

/** The one anonymous result: frozen and shared, as it carries nothing per request. */
export const ANONYMOUS: IdentityResult = Object.freeze({ kind: 'anonymous' });

/**
 * Anonymous too, but with email, display-name or groups headers and no user header. Without a session it is
 * no login like any anonymous request; beside a session cookie it is refused rather than answered as the
 * session's user with the groups of its last login (the proxy may just have asserted other groups).
 */
export const ANONYMOUS_WITHOUT_USER: IdentityResult = Object.freeze({ kind: 'anonymous', withoutUser: true });
