import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit trail of user, group and mapping changes. */
export class CreateAuditEvents1732400000000 implements MigrationInterface {
  name = 'CreateAuditEvents1732400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "auth_proxy_audit_events" (
        "id" bigserial NOT NULL,
        "occurred_at" timestamptz NOT NULL DEFAULT clock_timestamp(),
        "type" varchar(64) NOT NULL,
        "actor" varchar(255) NOT NULL,
        "user_id" uuid REFERENCES "auth_proxy_users" ("id") ON DELETE SET NULL,
        "username" varchar(255),
        "details" jsonb NOT NULL DEFAULT '{}'::jsonb,
        CONSTRAINT "auth_proxy_audit_events_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "auth_proxy_audit_events_occurred_at_idx" ON "auth_proxy_audit_events" ("occurred_at")`,
    );
    await queryRunner.query(`CREATE INDEX "auth_proxy_audit_events_user_idx" ON "auth_proxy_audit_events" ("user_id")`);
    await queryRunner.query(`CREATE INDEX "auth_proxy_audit_events_type_idx" ON "auth_proxy_audit_events" ("type")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "auth_proxy_audit_events"`);
  }
}
