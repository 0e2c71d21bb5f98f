import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * A user known to the application. The key is the identity provider's stable subject where the proxy asserts
 * one (the username then follows renames), the canonical username otherwise; email is data, never a key.
 */
@Entity({ name: 'auth_proxy_users' })
@Check('auth_proxy_users_subject_pair_check', '("subject_issuer" IS NULL) = ("subject" IS NULL)')
@Index('auth_proxy_users_subject_key', ['subjectIssuer', 'subject'], { unique: true, where: '"subject" IS NOT NULL' })
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

  /** The namespace the subject is unique in: the proxy profile's name, or a verified assertion's issuer. */
  @Column({ name: 'subject_issuer', type: 'varchar', length: 255, nullable: true })
  subjectIssuer!: string | null;

  /** The identity provider's stable id for the person; null for accounts keyed on the username alone. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  subject!: string | null;

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
