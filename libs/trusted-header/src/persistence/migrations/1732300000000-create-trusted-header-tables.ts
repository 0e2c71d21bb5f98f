import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Users, local groups, asserted external groups, group mappings and manual grants. */
export class CreateTrustedHeaderTables1732300000000 implements MigrationInterface {
  name = 'CreateTrustedHeaderTables1732300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "auth_proxy_users" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "username" varchar(255) NOT NULL,
        "email" varchar(254),
        "display_name" varchar(256),
        "disabled" boolean NOT NULL DEFAULT false,
        "sync_fingerprint" varchar(64),
        "synced_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "auth_proxy_users_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "auth_proxy_users_username_key" ON "auth_proxy_users" ("username")`);
    // One email per user at most; a second user asserting it simply does not get it (never an account link).
    await queryRunner.query(
      `CREATE UNIQUE INDEX "auth_proxy_users_email_key" ON "auth_proxy_users" ("email") WHERE "email" IS NOT NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE "auth_proxy_groups" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" varchar(256) NOT NULL,
        "description" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "auth_proxy_groups_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "auth_proxy_groups_name_key" ON "auth_proxy_groups" ("name")`);
    await queryRunner.query(`
      CREATE TABLE "auth_proxy_user_external_groups" (
        "user_id" uuid NOT NULL REFERENCES "auth_proxy_users" ("id") ON DELETE CASCADE,
        "external_group" varchar(256) NOT NULL,
        CONSTRAINT "auth_proxy_user_external_groups_pkey" PRIMARY KEY ("user_id", "external_group")
      )`);
    await queryRunner.query(
      `CREATE INDEX "auth_proxy_user_external_groups_group_idx" ON "auth_proxy_user_external_groups" ("external_group")`,
    );
    await queryRunner.query(`
      CREATE TABLE "auth_proxy_group_mappings" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "external_group" varchar(256) NOT NULL,
        "group_id" uuid NOT NULL REFERENCES "auth_proxy_groups" ("id") ON DELETE CASCADE,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "auth_proxy_group_mappings_pkey" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "auth_proxy_group_mappings_external_group_group_key" ON "auth_proxy_group_mappings" ("external_group", "group_id")`,
    );
    await queryRunner.query(`
      CREATE TABLE "auth_proxy_user_groups" (
        "user_id" uuid NOT NULL REFERENCES "auth_proxy_users" ("id") ON DELETE CASCADE,
        "group_id" uuid NOT NULL REFERENCES "auth_proxy_groups" ("id") ON DELETE CASCADE,
        "granted_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "auth_proxy_user_groups_pkey" PRIMARY KEY ("user_id", "group_id")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "auth_proxy_user_groups"`);
    await queryRunner.query(`DROP TABLE "auth_proxy_group_mappings"`);
    await queryRunner.query(`DROP TABLE "auth_proxy_user_external_groups"`);
    await queryRunner.query(`DROP TABLE "auth_proxy_groups"`);
    await queryRunner.query(`DROP TABLE "auth_proxy_users"`);
  }
}
