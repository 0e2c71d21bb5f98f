import type { Logger } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { UnknownUserError, UsernameTakenError } from '../errors/domain-errors.js';
import type { Identity } from '../identity/identity.js';
import { PROXY_ACTOR, type AuditEntry, type AuditEventType } from '../persistence/audit.js';
import {
  adoptSubject,
  findUserBySubject,
  findUserByUsername,
  insertUserIfAbsent,
  renameUser,
  type UserRow,
} from '../persistence/user-sync.queries.js';
import { needsUsernameLookup, resolveAccount, type AccountResolution } from './account-resolution.js';

/** The account a sync writes, locked for the rest of its transaction. */
export interface LockedAccount {
  readonly user: UserRow;
  /** Whether locking it created it, keyed it on the subject or renamed it. */
  readonly changed: boolean;
  /** Whether locking it created it. */
  readonly created?: boolean;
  /** A username whose logins without a subject may be cached as this account: they must read again. */
  readonly staleUsername?: string;
  /**
   * The audit events of what locking changed (created, subject adopted, renamed), for the caller to record in
   * the same transaction, before the events of its own changes. None for a disabled account, which is returned
   * unchanged.
   */
  readonly events: readonly AuditEntry[];
}

export interface AccountContext {
  readonly createUnknownUser: boolean;
  readonly logger: Logger;
  /**
   * A read made just before the transaction found no account for the identity: the first round inserts at
   * once instead of reading again under the lock first (a miss locks nothing). An insert that does nothing
   * reads the row another login created, under the lock, as after any such insert.
   */
  readonly expectNew?: boolean;
}

/**
 * Which account the identity logs in as (account-resolution.ts). `forUpdate` locks the account keyed on the
 * subject, or, when there is none, the account holding the username; another account holding the username a
 * rename wants is only read, so two users swapping names cannot deadlock (the unique index settles that race).
 */
export async function readAccount(
  runner: QueryRunner,
  identity: Identity,
  forUpdate: boolean,
): Promise<AccountResolution<UserRow>> {
  const bySubject = identity.subject && (await findUserBySubject(runner, identity.subject, forUpdate));
  const byUsername = needsUsernameLookup(identity, bySubject)
    ? await findUserByUsername(runner, identity.username, forUpdate && bySubject === undefined)
    : undefined;
  return resolveAccount(identity, bySubject, byUsername);
}

/** The refusal of a username another account holds, logged with both accounts' ids (never their emails). */
export function usernameTaken(
  identity: Identity,
  { account, holder }: { readonly account: UserRow | undefined; readonly holder: UserRow },
  logger: Logger,
): UsernameTakenError {
  const name = JSON.stringify(identity.username);
  const { subject } = identity;
  logger.warn(
    account !== undefined
      ? `username_taken: account ${account.id} is called ${name} at the identity provider, a username account ` +
          `${holder.id} holds; neither account is changed`
      : subject !== undefined
        ? `username_taken: ${name} is held by account ${holder.id}, keyed on another subject; no account for ` +
          `subject ${JSON.stringify(subject.id)} of ${JSON.stringify(subject.issuer)}`
        : `username_taken: ${name} asserted without a subject; account ${holder.id} is keyed on one`,
  );
  return new UsernameTakenError();
}

/**
 * Inside the sync's transaction: the account, locked, and created, keyed on the subject or renamed as the
 * resolution says. A disabled account is returned as it is, without any change. Throws UnknownUserError and
 * UsernameTakenError; a unique violation means another login claimed the username or subject meanwhile, and the
 * caller retries the transaction.
 */
export async function lockAccount(
  runner: QueryRunner,
  identity: Identity,
  context: AccountContext,
): Promise<LockedAccount> {
  // A second round only after an insert that did nothing: another login created the row and has committed.
  for (let round = 1; round <= 2; round += 1) {
    const resolution: AccountResolution<UserRow> =
      round === 1 && context.expectNew === true ? { kind: 'create' } : await readAccount(runner, identity, true);
    if (resolution.kind === 'taken') {
      if (resolution.account?.disabled) return { user: resolution.account, changed: false, events: [] };
      throw usernameTaken(identity, resolution, context.logger);
    }
    if (resolution.kind === 'create') {
      if (!context.createUnknownUser) throw new UnknownUserError();
      const user = await insertUserIfAbsent(runner, identity.username, identity.subject);
      if (!user) continue;
      context.logger.log(`user_created: ${JSON.stringify(identity.username)}`);
      return { user, changed: true, created: true, events: [event(user, 'user_created', subjectDetails(identity))] };
    }
    const { account } = resolution;
    if (account.disabled || resolution.kind === 'account') return { user: account, changed: false, events: [] };
    const subject = identity.subject!;
    if (resolution.kind === 'adopt') {
      // The row is locked and had no subject when read under the lock, so this sets it.
      await adoptSubject(runner, account.id, subject);
      context.logger.log(`subject_adopted: account ${account.id} (${JSON.stringify(account.username)})`);
      return {
        user: { ...account, subject_issuer: subject.issuer, subject: subject.id },
        changed: true,
        staleUsername: account.username,
        events: [event(account, 'subject_adopted', subjectDetails(identity))],
      };
    }
    await renameUser(runner, account.id, identity.username);
    const renamed = { ...account, username: identity.username };
    context.logger.log(
      `user_renamed: account ${account.id} ${JSON.stringify(account.username)} -> ${JSON.stringify(identity.username)}`,
    );
    return {
      user: renamed,
      changed: true,
      staleUsername: account.username,
      events: [event(renamed, 'user_renamed', { from: account.username, to: identity.username })],
    };
  }
  throw new Error(`user ${JSON.stringify(identity.username)} vanished during its first login`);
}

function subjectDetails({ subject }: Identity): Record<string, unknown> {
  return subject === undefined ? {} : { subject: { issuer: subject.issuer, id: subject.id } };
}

function event(user: UserRow, type: AuditEventType, details: Record<string, unknown>): AuditEntry {
  return { type, actorType: 'proxy', actor: PROXY_ACTOR, userId: user.id, username: user.username, details };
}
