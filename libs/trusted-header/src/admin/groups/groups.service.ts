import { Injectable } from '@nestjs/common';
import { rowsOf } from '../../persistence/rows.js';
import type { QueryRunner } from 'typeorm';
import { conflictOnUnique, notFound } from '../admin-errors.js';
import { AdminChanges } from '../admin-context.js';
import type { CreateGroupDto, UpdateGroupDto } from '../dto/admin.dto.js';
import { likePattern, type Page, type SearchPageQueryDto } from '../dto/page.dto.js';
import { paginate } from '../paginate.js';

export interface GroupView {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = `id, name, description, created_at AS "createdAt", updated_at AS "updatedAt"`;
const NAME_KEY = 'auth_proxy_groups_name_key';

@Injectable()
export class GroupsService {
  constructor(private readonly changes: AdminChanges) {}

  list(query: SearchPageQueryDto): Promise<Page<GroupView>> {
    return paginate<GroupView>(
      this.changes.gate,
      {
        select: COLUMNS,
        from: 'auth_proxy_groups',
        where: query.search ? ['(name ILIKE $1 OR description ILIKE $1)'] : [],
        parameters: query.search ? [likePattern(query.search)] : [],
        orderBy: 'name',
      },
      query,
    );
  }

  async get(id: string): Promise<GroupView> {
    const [group] = await this.changes.gate.query<GroupView>(`SELECT ${COLUMNS} FROM auth_proxy_groups WHERE id = $1`, [
      id,
    ]);
    if (!group) throw notFound('Group');
    return group;
  }

  create(body: CreateGroupDto, actor: string): Promise<GroupView> {
    return this.changes.apply(async (runner, audit) => {
      const [group] = await conflictOnUnique(
        runner.query(`INSERT INTO auth_proxy_groups (name, description) VALUES ($1, $2) RETURNING ${COLUMNS}`, [
          body.name,
          body.description ?? null,
        ]),
        NAME_KEY,
        `A group named ${JSON.stringify(body.name)} already exists`,
      );
      await audit({
        type: 'group_created',
        actor,
        details: { group: body.name, description: body.description ?? null },
      });
      return group!;
    });
  }

  update(id: string, body: UpdateGroupDto, actor: string): Promise<GroupView> {
    return this.changes.apply(async (runner, audit) => {
      const before = await lockGroup(runner, id);
      const name = body.name ?? before.name;
      const description = body.description === undefined ? before.description : body.description;
      const [group] = await conflictOnUnique(
        rowsOf<GroupView>(
          runner,
          `UPDATE auth_proxy_groups SET name = $2, description = $3, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, name, description],
        ),
        NAME_KEY,
        `A group named ${JSON.stringify(name)} already exists`,
      );
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (name !== before.name) changes.name = { from: before.name, to: name };
      if (description !== before.description) changes.description = { from: before.description, to: description };
      if (Object.keys(changes).length > 0)
        await audit({ type: 'group_updated', actor, details: { group: name, changes } });
      return group!;
    });
  }

  /** Deletes the group with its mappings and manual grants, each recorded in the audit trail. */
  async remove(id: string, actor: string): Promise<void> {
    await this.changes.apply(async (runner, audit) => {
      const group = await lockGroup(runner, id);
      const mappings: { id: string; external_group: string }[] = await rowsOf(
        runner,
        `DELETE FROM auth_proxy_group_mappings WHERE group_id = $1 RETURNING id, external_group`,
        [id],
      );
      for (const mapping of mappings) {
        await audit({
          type: 'mapping_deleted',
          actor,
          details: { mappingId: mapping.id, externalGroup: mapping.external_group, group: group.name },
        });
      }
      const grants: { user_id: string; username: string }[] = await rowsOf(
        runner,
        `DELETE FROM auth_proxy_user_groups ug USING auth_proxy_users u
          WHERE ug.group_id = $1 AND u.id = ug.user_id RETURNING ug.user_id, u.username`,
        [id],
      );
      for (const grant of grants) {
        await audit({
          type: 'grant_removed',
          actor,
          userId: grant.user_id,
          username: grant.username,
          details: { group: group.name },
        });
      }
      await runner.query(`DELETE FROM auth_proxy_groups WHERE id = $1`, [id]);
      await audit({ type: 'group_deleted', actor, details: { group: group.name } });
    });
  }
}

async function lockGroup(runner: QueryRunner, id: string): Promise<GroupView> {
  const [group] = await runner.query(`SELECT ${COLUMNS} FROM auth_proxy_groups WHERE id = $1 FOR UPDATE`, [id]);
  if (!group) throw notFound('Group');
  return group as GroupView;
}
