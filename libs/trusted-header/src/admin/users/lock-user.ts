import type { QueryRunner } from 'typeorm';
import { notFound } from '../admin-errors.js';

/** Reads and locks a user for an admin change (FOR NO KEY UPDATE: rows that reference it can still be written). */
export async function lockUser(
  runner: QueryRunner,
  id: string,
): Promise<{ id: string; username: string; disabled: boolean }> {
  const [user] = await runner.query(
    `SELECT id, username, disabled FROM auth_proxy_users WHERE id = $1 FOR NO KEY UPDATE`,
    [id],
  );
  if (!user) throw notFound('User');
  return user;
}
