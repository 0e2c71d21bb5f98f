import { CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A local group granted to a user by hand. Sync never removes it. */
@Entity({ name: 'auth_proxy_user_groups' })
export class TrustedHeaderUserGroupGrant {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @PrimaryColumn({ name: 'group_id', type: 'uuid' })
  groupId!: string;

  @CreateDateColumn({ name: 'granted_at', type: 'timestamptz' })
  grantedAt!: Date;
}
