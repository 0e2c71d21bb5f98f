import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who made a change, as a kind and a name: `proxy` (the proxy's assertions) or `admin` (a person through the
 * admin API). A name alone cannot tell them apart: an admin may be called `proxy`. Existing events are classified
 * by their type: the proxy writes only user_created, user_attributes_changed and user_groups_changed, which no
 * admin action writes.
 */
export class AddAuditActorType1732500000000 implements MigrationInterface {
  name = 'AddAuditActorType1732500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_proxy_audit_events" ADD "actor_type" varchar(16)`);
    await queryRunner.query(
      `UPDATE "auth_proxy_audit_events"
          SET "actor_type" = CASE WHEN "type" IN ('user_created', 'user_attributes_changed', 'user_groups_changed')
                                  THEN 'proxy' ELSE 'admin' END`,
    );
    await queryRunner.query(`ALTER TABLE "auth_proxy_audit_events" ALTER COLUMN "actor_type" SET NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_proxy_audit_events" DROP COLUMN "actor_type"`);
  }
}
