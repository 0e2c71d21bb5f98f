import type { QueryRunner } from 'typeorm';
import type { AuditEntry, AuditEventType } from '../audit.js';
import { CHANGE_CHANNEL, encodeChangeNotice, EVERYONE, senderIdOf, type ChangeNotice } from './change-notice.js';

/**
 * What other instances must forget after an admin change, by the audit event it writes. A new session changes
 * nothing any other instance remembers.
 */
const SCOPE: Record<AuditEventType, 'user' | 'all' | 'none'> = {
  user_created: 'user',
  user_attributes_changed: 'user',
  user_groups_changed: 'user',
  user_renamed: 'user',
  subject_adopted: 'user',
  user_disabled: 'user',
  user_enabled: 'user',
  grant_added: 'user',
  grant_removed: 'user',
  session_revoked: 'user',
  session_created: 'none',
  // Group names and mappings feed every user's effective groups.
  group_created: 'all',
  group_updated: 'all',
  group_deleted: 'all',
  mapping_created: 'all',
  mapping_deleted: 'all',
};

/** The notice an audited change calls for; null when no other instance holds anything it makes stale. */
export function noticeOfAuditEvent(entry: Pick<AuditEntry, 'type' | 'userId'>): ChangeNotice | null {
  const scope = SCOPE[entry.type];
  if (scope === 'none') return null;
  if (scope === 'user' && typeof entry.userId === 'string') return { kind: 'user', userId: entry.userId };
  return EVERYONE;
}

/**
 * Queues a notice through the caller's connection. Inside a transaction PostgreSQL delivers it at commit and
 * drops it at rollback, so other instances hear of a change only once it is there for them to read.
 *
 * PostgreSQL serialises the commits of transactions that NOTIFY (each holds a database-wide lock through its
 * commit), so each transaction announces once, and only changes that another instance can hold in memory:
 * a user's first login is not announced (no instance has anything of it yet).
 */
export async function announceChange(
  runner: Pick<QueryRunner, 'query' | 'connection'>,
  notice: ChangeNotice,
): Promise<void> {
  await runner.query(`SELECT pg_notify($1, $2)`, [
    CHANGE_CHANNEL,
    encodeChangeNotice(notice, senderIdOf(runner.connection)),
  ]);
}

/** The notices of one transaction as one: everyone if any is, else each user once. */
export function mergeNotices(notices: readonly ChangeNotice[]): ChangeNotice[] {
  if (notices.some((notice) => notice.kind === 'all')) return [EVERYONE];
  const users = new Set(notices.map((notice) => (notice.kind === 'user' ? notice.userId : '')));
  return [...users].map((userId) => ({ kind: 'user', userId }));
}
