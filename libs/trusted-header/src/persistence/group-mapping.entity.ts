import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** "Members of external group X are members of local group G." The only way a proxy group grants anything. */
@Entity({ name: 'auth_proxy_group_mappings' })
@Index('auth_proxy_group_mappings_external_group_group_key', ['externalGroup', 'groupId'], { unique: true })
export class TrustedHeaderGroupMapping {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'external_group', type: 'varchar', length: 256 })
  externalGroup!: string;

  @Column({ name: 'group_id', type: 'uuid' })
  groupId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
