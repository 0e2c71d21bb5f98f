import type { DatabaseGate } from '../persistence/database-gate.service.js';
import { offsetOf, type Page, type PageQueryDto } from './dto/page.dto.js';

export interface PagedSelect {
  /** Columns of one item. */
  readonly select: string;
  /** FROM clause, with joins. */
  readonly from: string;
  /** WHERE conditions joined with AND; parameters are $1.. in `parameters`. */
  readonly where?: readonly string[];
  readonly parameters?: readonly unknown[];
  readonly groupBy?: string;
  readonly orderBy: string;
}

/** Runs a count and a page of one SELECT: `{ items, total, page, perPage }`, the same shape for every list. */
export async function paginate<T>(gate: DatabaseGate, spec: PagedSelect, query: PageQueryDto): Promise<Page<T>> {
  const parameters = [...(spec.parameters ?? [])];
  const where = spec.where && spec.where.length > 0 ? `WHERE ${spec.where.join(' AND ')}` : '';
  const groupBy = spec.groupBy ? `GROUP BY ${spec.groupBy}` : '';
  const base = `FROM ${spec.from} ${where} ${groupBy}`;
  const limit = parameters.length + 1;
  const [[count], items] = await Promise.all([
    gate.query<{ total: number }>(`SELECT count(*)::int AS total FROM (SELECT 1 ${base}) AS matching`, parameters),
    gate.query<T>(`SELECT ${spec.select} ${base} ORDER BY ${spec.orderBy} LIMIT $${limit} OFFSET $${limit + 1}`, [
      ...parameters,
      query.perPage,
      offsetOf(query),
    ]),
  ]);
  return { items, total: count?.total ?? 0, page: query.page, perPage: query.perPage };
}
