import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A user known to the application. The canonical username is the only key; email is data, never a key. */
@Entity({ name: 'auth_proxy_users' })
export class TrustedHeaderUser {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('auth_proxy_users_username_key', { unique: true })
  @Column({ type: 'varchar', length: 255 })
  username!: string;

  /** At most one user per email; a second user asserting it does not get it (never an account link). */
  @Index('auth_proxy_users_email_key', { unique: true, where: '"email" IS NOT NULL' })
  @Column({ type: 'varchar', length: 254, nullable: true })
  email!: string | null;

  @Column({ name: 'display_name', type: 'varchar', length: 256, nullable: true })
  displayName!: string | null;

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  /** Hash of the external groups last written; equal hash means no membership to rewrite. */
  @Column({ name: 'sync_fingerprint', type: 'varchar', length: 64, nullable: true })
  syncFingerprint!: string | null;

  @Column({ name: 'synced_at', type: 'timestamptz', nullable: true })
  syncedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
