import type { QueryRunner } from 'typeorm';
import { rowsOf } from './rows.js';

/**
 * SQL of the sync path. Written as SQL rather than through repositories because the guarantees live in the
 * statements themselves: INSERT ... ON CONFLICT DO NOTHING and SELECT ... FOR UPDATE are what make concurrent
 * first logins produce one row, and set-based membership updates keep one round-trip per step.
 */
export interface UserRow {
  id: string;
  username: string;
  email: string | null;
  display_name: string | null;
  disabled: boolean;
  sync_fingerprint: string | null;
  /** Both null, or both set (a CHECK says so). */
  subject_issuer: string | null;
  subject: string | null;
}

const USER_COLUMNS = 'id, username, email, display_name, disabled, sync_fingerprint, subject_issuer, subject';

/** Names of the unique indexes a racing login can run into. */
export const USERNAME_INDEX = 'auth_proxy_users_username_key';
export const SUBJECT_INDEX = 'auth_proxy_users_subject_key';
export const EMAIL_INDEX = 'auth_proxy_users_email_key';

/**
 * `forUpdate` takes FOR NO KEY UPDATE: it serialises syncs of one user without blocking the foreign-key checks
 * of rows that reference the user (grants, memberships, audit events), which would otherwise deadlock with
 * admin changes.
 */
export async function findUserByUsername(
  runner: QueryRunner,
  username: string,
  forUpdate = false,
): Promise<UserRow | undefined> {
  const rows: UserRow[] = await runner.query(
    `SELECT ${USER_COLUMNS} FROM auth_proxy_users WHERE username = $1${forUpdate ? ' FOR NO KEY UPDATE' : ''}`,
    [username],
  );
  return rows[0];
}

/** The account keyed on a stable subject; `forUpdate` as in findUserByUsername. */
export async function findUserBySubject(
  runner: QueryRunner,
  subject: { readonly issuer: string; readonly id: string },
  forUpdate = false,
): Promise<UserRow | undefined> {
  const rows: UserRow[] = await runner.query(
    `SELECT ${USER_COLUMNS} FROM auth_proxy_users
      WHERE subject_issuer = $1 AND subject = $2${forUpdate ? ' FOR NO KEY UPDATE' : ''}`,
    [subject.issuer, subject.id],
  );
  return rows[0];
}

/** A user by id with the external groups stored at its last sync (what a session, which has no headers, uses). */
export async function findUserWithExternalGroups(
  runner: QueryRunner,
  id: string,
): Promise<(UserRow & { external_groups: string[] }) | undefined> {
  const rows: (UserRow & { external_groups: string[] })[] = await runner.query(
    `SELECT ${USER_COLUMNS},
            ARRAY(SELECT external_group FROM auth_proxy_user_external_groups WHERE user_id = u.id ORDER BY external_group)
              AS external_groups
       FROM auth_proxy_users u WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/**
 * The row this call created, or undefined when a concurrent first login had created it (with a subject, a row
 * holding either the username or the subject makes it a no-op: the caller reads again to learn which).
 *
 * Only the id comes back: every other column of a new row is what was inserted or its column default (null;
 * `disabled` false), so the row is known without reading it. Rows this transaction inserted are as good as
 * locked: no other transaction sees them, or writes a row referencing them, before it commits.
 */
export async function insertUserIfAbsent(
  runner: QueryRunner,
  username: string,
  subject?: { readonly issuer: string; readonly id: string },
): Promise<UserRow | undefined> {
  const rows: { id: string }[] =
    subject === undefined
      ? await runner.query(
          `INSERT INTO auth_proxy_users (username) VALUES ($1) ON CONFLICT (username) DO NOTHING RETURNING id`,
          [username],
        )
      : await runner.query(
          `INSERT INTO auth_proxy_users (username, subject_issuer, subject) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING id`,
          [username, subject.issuer, subject.id],
        );
  if (rows.length === 0) return undefined;
  return {
    id: rows[0]!.id,
    username,
    email: null,
    display_name: null,
    disabled: false,
    sync_fingerprint: null,
    subject_issuer: subject?.issuer ?? null,
    subject: subject?.id ?? null,
  };
}

/** Keys a username-only account on a subject, once: a row that has one already is left alone (returns false). */
export async function adoptSubject(
  runner: QueryRunner,
  userId: string,
  subject: { readonly issuer: string; readonly id: string },
): Promise<boolean> {
  const rows = await rowsOf(
    runner,
    `UPDATE auth_proxy_users SET subject_issuer = $2, subject = $3, updated_at = now()
      WHERE id = $1 AND subject IS NULL RETURNING id`,
    [userId, subject.issuer, subject.id],
  );
  return rows.length > 0;
}

/** The username follows the identity provider; a unique violation says another account took it meanwhile. */
export async function renameUser(runner: QueryRunner, userId: string, username: string): Promise<void> {
  await runner.query(`UPDATE auth_proxy_users SET username = $2, updated_at = now() WHERE id = $1`, [userId, username]);
}

export async function isEmailHeldByAnotherUser(runner: QueryRunner, email: string, userId: string): Promise<boolean> {
  const rows: unknown[] = await runner.query(`SELECT 1 FROM auth_proxy_users WHERE email = $1 AND id <> $2 LIMIT 1`, [
    email,
    userId,
  ]);
  return rows.length > 0;
}

/**
 * Sets the synced attributes; returns the email now stored. With `emailUnlessHeld`, the email is set only when
 * no other user holds it (the stored one is kept otherwise): the check rides in the UPDATE itself, so a sync
 * that writes anyway spends no statement of its own on it. A holder that commits meanwhile still trips the
 * unique index (EMAIL_INDEX).
 */
export async function updateUserAttributes(
  runner: QueryRunner,
  userId: string,
  attributes: { email: string | null; emailUnlessHeld: boolean; displayName: string | null; fingerprint: string },
): Promise<string | null> {
  const rows = await rowsOf<{ email: string | null }>(
    runner,
    `UPDATE auth_proxy_users
        SET email = CASE
              WHEN $5::boolean
               AND EXISTS (SELECT 1 FROM auth_proxy_users other WHERE other.email = $2::varchar AND other.id <> $1)
              THEN email ELSE $2::varchar END,
            display_name = $3, sync_fingerprint = $4, synced_at = now(), updated_at = now()
      WHERE id = $1
     RETURNING email`,
    [userId, attributes.email, attributes.displayName, attributes.fingerprint, attributes.emailUnlessHeld],
  );
  return rows[0]!.email;
}

/**
 * Makes the stored external groups equal `groups`; returns what changed. `created`: the user was inserted by
 * this transaction, so it has no stored groups yet and there is nothing to delete.
 */
export async function replaceExternalGroups(
  runner: QueryRunner,
  userId: string,
  groups: readonly string[],
  created = false,
): Promise<{ added: string[]; removed: string[] }> {
  const removed: { external_group: string }[] = created
    ? []
    : await rowsOf(
        runner,
        `DELETE FROM auth_proxy_user_external_groups WHERE user_id = $1 AND NOT (external_group = ANY($2::varchar[]))
     RETURNING external_group`,
        [userId, groups],
      );
  let added: { external_group: string }[] = [];
  if (groups.length > 0) {
    added = await runner.query(
      `INSERT INTO auth_proxy_user_external_groups (user_id, external_group)
       SELECT $1, g FROM unnest($2::varchar[]) AS g
       ON CONFLICT DO NOTHING
       RETURNING external_group`,
      [userId, groups],
    );
  }
  const names = (rows: { external_group: string }[]) => rows.map((row) => row.external_group).sort();
  return { added: names(added), removed: names(removed) };
}
