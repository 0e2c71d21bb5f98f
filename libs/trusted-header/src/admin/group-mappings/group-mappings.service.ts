import { Inject, Injectable } from '@nestjs/common';
import { rowsOf } from '../../persistence/rows.js';
import type { ResolvedTrustedHeaderOptions } from '../../config/trusted-header-options.js';
import { TRUSTED_HEADER_OPTIONS } from '../../trusted-header.constants.js';
import { AdminChanges } from '../admin-context.js';
import { conflictOnUnique, notFound } from '../admin-errors.js';
import type { CreateMappingDto, MappingsQueryDto } from '../dto/admin.dto.js';
import type { Page } from '../dto/page.dto.js';
import { paginate } from '../paginate.js';
import { effectiveGroups, type EffectiveGroup } from '../../sync/effective-groups.js';

export interface MappingView {
  id: string;
  externalGroup: string;
  group: { id: string; name: string };
  createdAt: string;
}

const SELECT = `m.id, m.external_group AS "externalGroup", json_build_object('id', g.id, 'name', g.name) AS "group",
  m.created_at AS "createdAt"`;
const FROM = `auth_proxy_group_mappings m JOIN auth_proxy_groups g ON g.id = m.group_id`;
const MAPPING_KEY = 'auth_proxy_group_mappings_external_group_group_key';

@Injectable()
export class GroupMappingsService {
  constructor(
    private readonly changes: AdminChanges,
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
  ) {}

  list(query: MappingsQueryDto): Promise<Page<MappingView>> {
    const where: string[] = [];
    const parameters: unknown[] = [];
    if (query.externalGroup !== undefined) {
      parameters.push(query.externalGroup);
      where.push(`m.external_group = $${parameters.length}`);
    }
    if (query.group !== undefined) {
      parameters.push(query.group);
      where.push(`g.name = $${parameters.length}`);
    }
    return paginate<MappingView>(
      this.changes.gate,
      { select: SELECT, from: FROM, where, parameters, orderBy: 'm.external_group, g.name' },
      query,
    );
  }

  create(body: CreateMappingDto, actor: string): Promise<MappingView> {
    return this.changes.apply(async (runner, audit) => {
      const [group] = await runner.query(`SELECT id, name FROM auth_proxy_groups WHERE name = $1 FOR SHARE`, [
        body.group,
      ]);
      if (!group) throw notFound(`Local group ${JSON.stringify(body.group)}`);
      const [created] = await conflictOnUnique(
        runner.query(`INSERT INTO auth_proxy_group_mappings (external_group, group_id) VALUES ($1, $2) RETURNING id`, [
          body.externalGroup,
          group.id,
        ]),
        MAPPING_KEY,
        `${JSON.stringify(body.externalGroup)} is already mapped to ${JSON.stringify(body.group)}`,
      );
      await audit({
        type: 'mapping_created',
        actor,
        details: { mappingId: created.id, externalGroup: body.externalGroup, group: group.name },
      });
      const [view] = await runner.query(`SELECT ${SELECT} FROM ${FROM} WHERE m.id = $1`, [created.id]);
      return view as MappingView;
    });
  }

  async remove(id: string, actor: string): Promise<void> {
    await this.changes.apply(async (runner, audit) => {
      const [deleted] = await rowsOf<{ id: string; external_group: string; name: string }>(
        runner,
        `DELETE FROM auth_proxy_group_mappings m USING auth_proxy_groups g
          WHERE m.id = $1 AND g.id = m.group_id RETURNING m.id, m.external_group, g.name`,
        [id],
      );
      if (!deleted) throw notFound('Mapping');
      await audit({
        type: 'mapping_deleted',
        actor,
        details: { mappingId: deleted.id, externalGroup: deleted.external_group, group: deleted.name },
      });
    });
  }

  /** The local groups these external groups would give a user (without manual grants). */
  async preview(externalGroups: readonly string[]): Promise<{ groups: string[]; details: EffectiveGroup[] }> {
    const details = await effectiveGroups(
      (sql: string, parameters: unknown[]) => this.changes.gate.query(sql, parameters),
      this.options,
      [...new Set(externalGroups)],
    );
    return { groups: details.map((group) => group.name), details };
  }
}
