import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One change to users, groups or mappings, written in the same transaction as the change itself. */
@Entity({ name: 'auth_proxy_audit_events' })
@Index('auth_proxy_audit_events_occurred_at_idx', ['occurredAt'])
export class TrustedHeaderAuditEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ type: 'varchar', length: 64 })
  type!: string;

  /** `proxy` for changes the proxy asserted, `admin` for changes made through the admin API. */
  @Column({ name: 'actor_type', type: 'varchar', length: 16 })
  actorType!: string;

  /** `proxy` for changes the proxy asserted, otherwise the username of the admin who made the change. */
  @Column({ type: 'varchar', length: 255 })
  actor!: string;

  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  username!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  details!: Record<string, unknown>;
}
