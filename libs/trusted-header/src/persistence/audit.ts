import type { QueryRunner } from 'typeorm';

export const AUDIT_EVENT_TYPES = [
  'user_created',
  'user_attributes_changed',
  'user_groups_changed',
  'user_renamed',
  'subject_adopted',
  'user_disabled',
  'user_enabled',
  'group_created',
  'group_updated',
  'group_deleted',
  'mapping_created',
  'mapping_deleted',
  'grant_added',
  'grant_removed',
  'session_created',
  'session_revoked',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Actor name of changes that came from the proxy's assertions rather than from an admin. */
export const PROXY_ACTOR = 'proxy';

/**
 * Who made a change: the proxy (its assertions; a login starting a session), an admin (through the admin
 * API), or the user (logging out).
 */
export const AUDIT_ACTOR_TYPES = ['proxy', 'admin', 'user'] as const;

export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];

export interface AuditEntry {
  readonly type: AuditEventType;
  /** An admin's name may be anything, `proxy` included: the type, not the name, says who acted. */
  readonly actorType: AuditActorType;
  /** The admin's username, or PROXY_ACTOR. */
  readonly actor: string;
  readonly userId?: string | null;
  readonly username?: string | null;
  readonly details?: Record<string, unknown>;
}

/** Appends an audit event through the caller's query runner, hence inside the caller's transaction. */
export async function recordAuditEvent(runner: QueryRunner, entry: AuditEntry): Promise<void> {
  await recordAuditEvents(runner, [entry]);
}

const AUDIT_VALUES_PER_ROW = 6;

/**
 * Appends audit events in one statement (one round-trip for all the changes of one sync), through the caller's
 * query runner. Rows are inserted in the order given: their ids follow it, and each row's occurred_at
 * (clock_timestamp(), evaluated per row) too.
 */
export async function recordAuditEvents(runner: QueryRunner, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows: string[] = [];
  const parameters: unknown[] = [];
  for (const entry of entries) {
    const first = parameters.length + 1;
    rows.push(`(${Array.from({ length: AUDIT_VALUES_PER_ROW }, (_, i) => `$${first + i}`).join(', ')})`);
    parameters.push(
      entry.type,
      entry.actorType,
      entry.actor,
      entry.userId ?? null,
      entry.username ?? null,
      JSON.stringify(entry.details ?? {}),
    );
  }
  await runner.query(
    `INSERT INTO auth_proxy_audit_events (type, actor_type, actor, user_id, username, details)
     VALUES ${rows.join(', ')}`,
    parameters,
  );
}
