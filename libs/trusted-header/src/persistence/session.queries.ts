import type { QueryRunner } from 'typeorm';
import { rowsOf } from './rows.js';

/** A session as the login path needs it, with its user's `disabled` flag. Times in epoch milliseconds. */
export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  readonly username: string;
  readonly userDisabled: boolean;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly expiresAt: number;
  readonly revokedAt: number | null;
  readonly revokedReason: string | null;
}

/** Why a session was ended; stored in revoked_reason and written to the audit trail. */
export type SessionEndReason = 'logout' | 'admin' | 'user_disabled' | 'replaced';

const RECORD = `s.id, s.user_id AS "userId", u.username, u.disabled AS "userDisabled",
  (extract(epoch FROM s.created_at) * 1000)::float8 AS "createdAt",
  (extract(epoch FROM s.last_seen_at) * 1000)::float8 AS "lastSeenAt",
  (extract(epoch FROM s.expires_at) * 1000)::float8 AS "expiresAt",
  (extract(epoch FROM s.revoked_at) * 1000)::float8 AS "revokedAt",
  s.revoked_reason AS "revokedReason"`;

export async function findSessionByTokenHash(
  runner: QueryRunner,
  tokenHash: string,
): Promise<SessionRecord | undefined> {
  const [row] = await rowsOf<SessionRecord>(
    runner,
    `SELECT ${RECORD} FROM auth_proxy_sessions s JOIN auth_proxy_users u ON u.id = s.user_id WHERE s.token_hash = $1`,
    [tokenHash],
  );
  return row;
}

/**
 * Starts a session of an enabled user; undefined when the user is disabled (or gone) by now. The user's row is
 * share-locked: a disabling under way (which locks the row to update it) is waited for and then seen, and one
 * that comes after waits for this session to commit, so that its revocation of the user's sessions includes it.
 * Without the lock a login racing the disabling could leave a live session behind, back in force once the user
 * is enabled again.
 */
export async function insertSession(
  runner: QueryRunner,
  session: { tokenHash: string; userId: string; maxSeconds: number; userAgent: string | null; peer: string | null },
): Promise<SessionRecord | undefined> {
  const [row] = await rowsOf<SessionRecord>(
    runner,
    `WITH s AS (
       INSERT INTO auth_proxy_sessions (token_hash, user_id, expires_at, user_agent, peer)
       SELECT $1, u.id, now() + make_interval(secs => $3), $4, $5
         FROM auth_proxy_users u WHERE u.id = $2 AND NOT u.disabled FOR SHARE
       RETURNING *)
     SELECT ${RECORD} FROM s JOIN auth_proxy_users u ON u.id = s.user_id`,
    [session.tokenHash, session.userId, session.maxSeconds, session.userAgent, session.peer],
  );
  return row;
}

/** Ends one live session; returns whether this call ended it. */
export async function revokeSession(runner: QueryRunner, id: string, reason: SessionEndReason): Promise<boolean> {
  const rows = await rowsOf(
    runner,
    `UPDATE auth_proxy_sessions SET revoked_at = now(), revoked_reason = $2
      WHERE id = $1 AND revoked_at IS NULL RETURNING id`,
    [id, reason],
  );
  return rows.length > 0;
}

/** Ends every live session of a user; returns the ids ended. */
export async function revokeUserSessions(
  runner: QueryRunner,
  userId: string,
  reason: SessionEndReason,
): Promise<string[]> {
  const rows = await rowsOf<{ id: string }>(
    runner,
    `UPDATE auth_proxy_sessions SET revoked_at = now(), revoked_reason = $2
      WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id`,
    [userId, reason],
  );
  return rows.map((row) => row.id).sort();
}

/** Records use; a revoked session stays as it was revoked. */
export async function touchSession(runner: QueryRunner, id: string): Promise<void> {
  await runner.query(`UPDATE auth_proxy_sessions SET last_seen_at = now() WHERE id = $1 AND revoked_at IS NULL`, [id]);
}

/** Housekeeping at each login: the user's sessions that can never be used again are deleted. */
export async function deleteEndedSessions(runner: QueryRunner, userId: string, idleSeconds: number): Promise<void> {
  await runner.query(
    `DELETE FROM auth_proxy_sessions
      WHERE user_id = $1 AND (expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $2))`,
    [userId, idleSeconds],
  );
}
