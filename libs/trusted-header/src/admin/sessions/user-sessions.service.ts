import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedTrustedHeaderOptions } from '../../config/trusted-header-options.js';
import { rowsOf } from '../../persistence/rows.js';
import { revokeSession, revokeUserSessions } from '../../persistence/session.queries.js';
import { TRUSTED_HEADER_OPTIONS } from '../../trusted-header.constants.js';
import { IDLE_PRECISION_MS } from '../../session/session-store.service.js';
import { AdminChanges } from '../admin-context.js';
import { notFound } from '../admin-errors.js';
import { lockUser } from '../users/lock-user.js';

/** A live session as the admin API shows it. The token is never shown: it is not stored. */
export interface SessionSummary {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  /** The absolute end (AUTH_PROXY_SESSION_MAX_SECONDS after creation). */
  expiresAt: string;
  /**
   * When it ends unless used before: AUTH_PROXY_SESSION_IDLE_SECONDS after last seen, plus the minute by which the
   * recorded last use may lag the real one.
   */
  idleExpiresAt: string;
  userAgent: string | null;
  /** The proxy's address that carried the login. */
  peer: string | null;
}

/** Most sessions listed for one user: logins start one each, and ended ones are deleted at the next login. */
const MAX_LISTED = 1000;

@Injectable()
export class UserSessionsService {
  constructor(
    private readonly changes: AdminChanges,
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
  ) {}

  private get idleSeconds(): number {
    return ((this.options.session?.idleMs ?? 0) + IDLE_PRECISION_MS) / 1000;
  }

  /** The user's live sessions, most recently used first. */
  async list(userId: string): Promise<SessionSummary[]> {
    const [user] = await this.changes.gate.query(`SELECT id FROM auth_proxy_users WHERE id = $1`, [userId]);
    if (!user) throw notFound('User');
    return this.changes.gate.query<SessionSummary>(
      `SELECT id, created_at AS "createdAt", last_seen_at AS "lastSeenAt", expires_at AS "expiresAt",
              LEAST(expires_at, last_seen_at + make_interval(secs => $2)) AS "idleExpiresAt",
              user_agent AS "userAgent", peer
         FROM auth_proxy_sessions
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
          AND last_seen_at > now() - make_interval(secs => $2)
        ORDER BY last_seen_at DESC, id
        LIMIT ${MAX_LISTED}`,
      [userId, this.idleSeconds],
    );
  }

  /** Ends one live session of the user; 404 when it is not one. */
  async revoke(userId: string, sessionId: string, actor: string): Promise<void> {
    await this.changes.apply(async (runner, audit) => {
      const user = await lockUser(runner, userId);
      const [session] = await rowsOf(
        runner,
        `SELECT id FROM auth_proxy_sessions
          WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()`,
        [sessionId, userId],
      );
      if (!session || !(await revokeSession(runner, sessionId, 'admin'))) throw notFound('Live session');
      await audit({
        type: 'session_revoked',
        actor,
        userId,
        username: user.username,
        details: { sessionId, reason: 'admin' },
      });
    });
  }

  /** Ends every live session of the user; returns how many. */
  async revokeAll(userId: string, actor: string): Promise<{ revoked: number }> {
    return this.changes.apply(async (runner, audit) => {
      const user = await lockUser(runner, userId);
      const ended = await revokeUserSessions(runner, userId, 'admin');
      if (ended.length > 0) {
        await audit({
          type: 'session_revoked',
          actor,
          userId,
          username: user.username,
          details: { sessionIds: ended, reason: 'admin' },
        });
      }
      return { revoked: ended.length };
    });
  }
}
