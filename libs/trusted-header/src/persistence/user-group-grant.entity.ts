import { CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TrustedHeaderGroup } from './group.entity.js';
import { TrustedHeaderUser } from './user.entity.js';

/** A local group granted to a user by hand. Sync never removes it. */
@Entity({ name: 'auth_proxy_user_groups' })
export class TrustedHeaderUserGroupGrant {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @PrimaryColumn({ name: 'group_id', type: 'uuid' })
  groupId!: string;

  @CreateDateColumn({ name: 'granted_at', type: 'timestamptz' })
  grantedAt!: Date;

  /** Loaded only when asked for; `userId` is the same column. */
  @ManyToOne(() => TrustedHeaderUser, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'auth_proxy_user_groups_user_id_fkey' })
  user?: TrustedHeaderUser;

  /** Loaded only when asked for; `groupId` is the same column. */
  @ManyToOne(() => TrustedHeaderGroup, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'group_id', foreignKeyConstraintName: 'auth_proxy_user_groups_group_id_fkey' })
  group?: TrustedHeaderGroup;
}
