import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { TrustedHeaderUser } from './user.entity.js';

/** One change to users, groups or mappings, written in the same transaction as the change itself. */
@Entity({ name: 'auth_proxy_audit_events' })
@Index('auth_proxy_audit_events_occurred_at_idx', ['occurredAt'])
@Index('auth_proxy_audit_events_user_idx', ['userId'])
@Index('auth_proxy_audit_events_type_idx', ['type'])
export class TrustedHeaderAuditEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  /** The clock at the write, not the transaction's start: events of one long transaction keep their order. */
  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz', default: () => 'clock_timestamp()' })
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

  /** Loaded only when asked for; `userId` is the same column, set to null when the user is deleted. */
  @ManyToOne(() => TrustedHeaderUser, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'auth_proxy_audit_events_user_id_fkey' })
  user?: TrustedHeaderUser | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  username!: string | null;

  @Column({ type: 'jsonb', default: {} })
  details!: Record<string, unknown>;
}
