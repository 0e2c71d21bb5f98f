import { Injectable } from '@nestjs/common';
import { DatabaseGate } from '../../persistence/database-gate.service.js';
import type { ExternalGroupsQueryDto } from '../dto/admin.dto.js';
import { likePattern, type Page } from '../dto/page.dto.js';
import { paginate } from '../paginate.js';

export interface ExternalGroupView {
  externalGroup: string;
  /** Users whose last login asserted it. */
  users: number;
  mapped: boolean;
  /** Local groups it maps to. */
  groups: string[];
}

/** Every external group the proxy has asserted, so admins see what is left to map. */
@Injectable()
export class ExternalGroupsService {
  constructor(private readonly gate: DatabaseGate) {}

  list(query: ExternalGroupsQueryDto): Promise<Page<ExternalGroupView>> {
    const where: string[] = [];
    const parameters: unknown[] = [];
    if (query.search) {
      parameters.push(likePattern(query.search));
      where.push(`eg.external_group ILIKE $${parameters.length}`);
    }
    if (query.mapped !== undefined) {
      where.push(
        `${query.mapped === 'true' ? '' : 'NOT '}EXISTS (SELECT 1 FROM auth_proxy_group_mappings m WHERE m.external_group = eg.external_group)`,
      );
    }
    return paginate<ExternalGroupView>(
      this.gate,
      {
        select: `eg.external_group AS "externalGroup", count(*)::int AS users,
          EXISTS (SELECT 1 FROM auth_proxy_group_mappings m WHERE m.external_group = eg.external_group) AS mapped,
          ARRAY(SELECT g.name FROM auth_proxy_group_mappings m JOIN auth_proxy_groups g ON g.id = m.group_id
                 WHERE m.external_group = eg.external_group ORDER BY g.name) AS groups`,
        from: 'auth_proxy_user_external_groups eg',
        where,
        parameters,
        groupBy: 'eg.external_group',
        orderBy: 'eg.external_group',
      },
      query,
    );
  }
}
