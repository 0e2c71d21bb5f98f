import type { RejectionReason } from './rejection-reason.js';

/**
 * A refusal decided below the HTTP layer (sync, persistence, admin services). It carries the reason code only;
 * the strategy and the admin API map it to a status in one place (errors/http-mapping.ts). An error that
 * wraps another keeps it as `cause`, so the log can show what really went wrong.
 */
export class TrustedHeaderError extends Error {
  constructor(
    readonly reason: RejectionReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The user does not exist and creating unknown users is off. */
export class UnknownUserError extends TrustedHeaderError {
  constructor() {
    super('unknown_user', 'Unknown user');
  }
}

/** The account exists and is disabled. */
export class UserDisabledError extends TrustedHeaderError {
  constructor() {
    super('user_disabled', 'This account is disabled');
  }
}

/**
 * The asserted username belongs to another account than the one the identity is keyed on: another person at the
 * identity provider (another subject) holds it, or an account keyed on a subject is reached without one. Never
 * resolved by merging the accounts or by handing one to whoever asserts its name.
 */
export class UsernameTakenError extends TrustedHeaderError {
  constructor() {
    super('username_taken', 'This username belongs to another account');
  }
}

/** A session cookie that names no live session: unknown, revoked, expired, malformed or sent twice. */
export class InvalidSessionError extends TrustedHeaderError {
  constructor(detail: string) {
    super('invalid_session', detail);
  }
}

/** An unsafe request authenticated by headers or a session, sent from another site. */
export class CrossSiteRequestError extends TrustedHeaderError {
  constructor(detail: string) {
    super('cross_site_request', detail);
  }
}

/** The database failed or did not answer in time; `cause` holds what happened. */
export class DatabaseUnavailableError extends TrustedHeaderError {
  constructor(options?: ErrorOptions) {
    super('database_unavailable', 'The user database is unavailable; try again shortly', options);
  }
}

/** Something an admin named does not exist. */
export class NotFoundError extends TrustedHeaderError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}

/** An admin change that contradicts what is stored (a duplicate, disabling oneself). */
export class ConflictError extends TrustedHeaderError {
  constructor(message: string, options?: ErrorOptions) {
    super('conflict', message, options);
  }
}
