import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A local (application) group. Proxy groups reach it only through a GroupMapping or a manual grant. */
@Entity({ name: 'auth_proxy_groups' })
export class TrustedHeaderGroup {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index('auth_proxy_groups_name_key', { unique: true })
  @Column({ type: 'varchar', length: 256 })
  name!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
