import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { TrustedHeaderGroup } from './group.entity.js';

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

  /** Loaded only when asked for; `groupId` is the same column. */
  @ManyToOne(() => TrustedHeaderGroup, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'group_id', foreignKeyConstraintName: 'auth_proxy_group_mappings_group_id_fkey' })
  group?: TrustedHeaderGroup;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
