import type { ResolvedTrustedHeaderOptions } from '../config/trusted-header-options.js';

/** Runs one parameterised statement: a QueryRunner inside a transaction, or DatabaseGate.query. */
export type RunQuery = <T = Record<string, unknown>>(sql: string, parameters: unknown[]) => Promise<T[]>;

export type GroupSource =
  | { readonly type: 'mapping'; readonly externalGroup: string; readonly mappingId: string }
  | { readonly type: 'manual' }
  | { readonly type: 'bootstrap'; readonly externalGroup: string };

export interface EffectiveGroup {
  readonly name: string;
  readonly sources: GroupSource[];
}

/**
 * Local groups that external groups (and, for a user, manual grants) give, with where each comes from. The one
 * definition of effective groups: the login path and the admin API both call it.
 */
export async function effectiveGroups(
  query: RunQuery,
  options: ResolvedTrustedHeaderOptions,
  externalGroups: readonly string[],
  userId?: string,
): Promise<EffectiveGroup[]> {
  const rows = await query<{
    name: string;
    type: 'mapping' | 'manual';
    external_group: string | null;
    mapping_id: string | null;
  }>(
    `SELECT g.name, 'mapping' AS type, m.external_group, m.id AS mapping_id
       FROM auth_proxy_group_mappings m JOIN auth_proxy_groups g ON g.id = m.group_id
      WHERE m.external_group = ANY($1::varchar[])
     UNION ALL
     SELECT g.name, 'manual', NULL, NULL
       FROM auth_proxy_user_groups ug JOIN auth_proxy_groups g ON g.id = ug.group_id
      WHERE ug.user_id = $2`,
    [externalGroups, userId ?? null],
  );
  const byName = new Map<string, GroupSource[]>();
  const add = (name: string, source: GroupSource) => byName.set(name, [...(byName.get(name) ?? []), source]);
  for (const row of rows) {
    add(
      row.name,
      row.type === 'manual'
        ? { type: 'manual' }
        : { type: 'mapping', externalGroup: row.external_group!, mappingId: row.mapping_id! },
    );
  }
  for (const group of externalGroups) {
    if (options.adminGroups.includes(group)) add(options.adminLocalGroup, { type: 'bootstrap', externalGroup: group });
  }
  return [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, sources]) => ({ name, sources }));
}
