import { Inject, Injectable } from '@nestjs/common';
import { rowsOf } from '../../persistence/rows.js';
import type { ResolvedTrustedHeaderOptions } from '../../config/trusted-header-options.js';
import { TRUSTED_HEADER_OPTIONS } from '../../trusted-header.constants.js';
import { AdminChanges } from '../admin-context.js';
import { conflict, notFound } from '../admin-errors.js';
import type { UsersQueryDto } from '../dto/admin.dto.js';
import { likePattern, type Page } from '../dto/page.dto.js';
import { effectiveGroups, type EffectiveGroup } from '../../sync/effective-groups.js';
import { paginate } from '../paginate.js';
import { revokeUserSessions } from '../../persistence/session.queries.js';
import { lockUser } from './lock-user.js';

export interface UserSummary {
  id: string;
  username: string;
  email: string | null;
  displayName: string | null;
  disabled: boolean;
  /** The namespace of `subject` (the proxy profile, or a verified assertion's issuer); null without a subject. */
  subjectIssuer: string | null;
  /** The identity provider's stable id the account is keyed on; null for accounts keyed on the username. */
  subject: string | null;
  createdAt: string;
  syncedAt: string | null;
}

export interface UserDetail extends UserSummary {
  externalGroups: string[];
  /** Effective local groups and where each comes from (mapping, manual grant, bootstrap). */
  groups: EffectiveGroup[];
  isAdmin: boolean;
}

const COLUMNS = `u.id, u.username, u.email, u.display_name AS "displayName", u.disabled,
  u.subject_issuer AS "subjectIssuer", u.subject, u.created_at AS "createdAt", u.synced_at AS "syncedAt"`;

@Injectable()
export class UsersAdminService {
  constructor(
    private readonly changes: AdminChanges,
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
  ) {}

  list(query: UsersQueryDto): Promise<Page<UserSummary>> {
    const where: string[] = [];
    const parameters: unknown[] = [];
    if (query.search) {
      parameters.push(likePattern(query.search));
      const p = `$${parameters.length}`;
      where.push(`(u.username ILIKE ${p} OR u.email ILIKE ${p} OR u.display_name ILIKE ${p})`);
    }
    if (query.disabled !== undefined) where.push(query.disabled === 'true' ? 'u.disabled' : 'NOT u.disabled');
    return paginate<UserSummary>(
      this.changes.gate,
      { select: COLUMNS, from: 'auth_proxy_users u', where, parameters, orderBy: 'u.username' },
      query,
    );
  }

  async get(id: string): Promise<UserDetail> {
    const [user] = await this.changes.gate.query<UserSummary & { externalGroups: string[] }>(
      `SELECT ${COLUMNS},
              ARRAY(SELECT external_group FROM auth_proxy_user_external_groups WHERE user_id = u.id ORDER BY external_group)
                AS "externalGroups"
         FROM auth_proxy_users u WHERE u.id = $1`,
      [id],
    );
    if (!user) throw notFound('User');
    const groups = await effectiveGroups(
      (sql: string, parameters: unknown[]) => this.changes.gate.query(sql, parameters),
      this.options,
      user.externalGroups,
      user.id,
    );
    return { ...user, groups, isAdmin: groups.some((group) => group.name === this.options.adminLocalGroup) };
  }

  async setDisabled(id: string, disabled: boolean, actor: { id: string; username: string }): Promise<UserDetail> {
    if (disabled && id === actor.id) {
      throw conflict('You cannot disable your own account');
    }
    await this.changes.apply(async (runner, audit) => {
      const user = await lockUser(runner, id);
      if (user.disabled === disabled) return;
      await runner.query(`UPDATE auth_proxy_users SET disabled = $2, updated_at = now() WHERE id = $1`, [id, disabled]);
      await audit({
        type: disabled ? 'user_disabled' : 'user_enabled',
        actor: actor.username,
        userId: id,
        username: user.username,
      });
      if (!disabled) return;
      // Disabling ends the user's sessions; their rows stay, so the cookie is answered `user_disabled`.
      const ended = await revokeUserSessions(runner, id, 'user_disabled');
      if (ended.length > 0) {
        await audit({
          type: 'session_revoked',
          actor: actor.username,
          userId: id,
          username: user.username,
          details: { sessionIds: ended, reason: 'user_disabled' },
        });
      }
    });
    return this.get(id);
  }

  async grant(id: string, groupName: string, actor: string): Promise<UserDetail> {
    await this.changes.apply(async (runner, audit) => {
      const user = await lockUser(runner, id);
      const [group] = await runner.query(`SELECT id, name FROM auth_proxy_groups WHERE name = $1 FOR SHARE`, [
        groupName,
      ]);
      if (!group) throw notFound(`Local group ${JSON.stringify(groupName)}`);
      const inserted = await runner.query(
        `INSERT INTO auth_proxy_user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING user_id`,
        [id, group.id],
      );
      if (inserted.length === 0)
        throw conflict(`${user.username} already has a manual grant of ${JSON.stringify(group.name)}`);
      await audit({ type: 'grant_added', actor, userId: id, username: user.username, details: { group: group.name } });
    });
    return this.get(id);
  }

  async revoke(id: string, groupId: string, actor: string): Promise<void> {
    await this.changes.apply(async (runner, audit) => {
      const user = await lockUser(runner, id);
      const [deleted] = await rowsOf<{ name: string }>(
        runner,
        `DELETE FROM auth_proxy_user_groups ug USING auth_proxy_groups g
          WHERE ug.user_id = $1 AND ug.group_id = $2 AND g.id = ug.group_id RETURNING g.name`,
        [id, groupId],
      );
      if (!deleted) throw notFound('Manual grant');
      await audit({
        type: 'grant_removed',
        actor,
        userId: id,
        username: user.username,
        details: { group: deleted.name },
      });
    });
  }
}
