import type { QueryRunner } from 'typeorm';

/**
 * The rows a statement returns. TypeORM's plain `query()` hands back `[rows, rowCount]` for UPDATE and DELETE
 * (even with RETURNING) and the rows alone otherwise; the structured result is the same for every statement.
 */
export async function rowsOf<T = Record<string, unknown>>(
  runner: QueryRunner,
  sql: string,
  parameters: readonly unknown[] = [],
): Promise<T[]> {
  const result = await runner.query(sql, [...parameters], true);
  return (result.records ?? []) as T[];
}
