import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { TrustedHeaderUser } from './user.entity.js';

/** A persistent session. The cookie's token is never stored: only its SHA-256, as hex. */
@Entity({ name: 'auth_proxy_sessions' })
@Index('auth_proxy_sessions_user_idx', ['userId'])
@Index('auth_proxy_sessions_expires_at_idx', ['expiresAt'])
export class TrustedHeaderSession {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('auth_proxy_sessions_token_hash_key', { unique: true })
  @Column({ name: 'token_hash', type: 'char', length: 64 })
  tokenHash!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  /** Loaded only when asked for; `userId` is the same column. */
  @ManyToOne(() => TrustedHeaderUser, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'auth_proxy_sessions_user_id_fkey' })
  user?: TrustedHeaderUser;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** Written at most once a minute per session. */
  @Column({ name: 'last_seen_at', type: 'timestamptz', default: () => 'now()' })
  lastSeenAt!: Date;

  /** The absolute end (AUTH_PROXY_SESSION_MAX_SECONDS after creation). */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** `logout`, `admin`, `user_disabled`, `replaced` (another user logged in through the same browser). */
  @Column({ name: 'revoked_reason', type: 'varchar', length: 32, nullable: true })
  revokedReason!: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent!: string | null;

  /** The TCP peer (the proxy) that carried the login. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  peer!: string | null;
}
