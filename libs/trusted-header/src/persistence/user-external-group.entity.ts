import { Entity, Index, PrimaryColumn } from 'typeorm';

/** A group the proxy last asserted for a user, exactly as asserted. */
@Entity({ name: 'auth_proxy_user_external_groups' })
@Index('auth_proxy_user_external_groups_group_idx', ['externalGroup'])
export class TrustedHeaderUserExternalGroup {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @PrimaryColumn({ name: 'external_group', type: 'varchar', length: 256 })
  externalGroup!: string;
}
