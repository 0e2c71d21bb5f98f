import { Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TrustedHeaderUser } from './user.entity.js';

/** A group the proxy last asserted for a user, exactly as asserted. */
@Entity({ name: 'auth_proxy_user_external_groups' })
@Index('auth_proxy_user_external_groups_group_idx', ['externalGroup'])
export class TrustedHeaderUserExternalGroup {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @PrimaryColumn({ name: 'external_group', type: 'varchar', length: 256 })
  externalGroup!: string;

  /** Loaded only when asked for; `userId` is the same column. */
  @ManyToOne(() => TrustedHeaderUser, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'auth_proxy_user_external_groups_user_id_fkey' })
  user?: TrustedHeaderUser;
}
