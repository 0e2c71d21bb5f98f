import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The identity provider's stable key for a person (authentik's uid, Kubernetes' X-Remote-Uid, a verified token's
 * `sub`) and the namespace it is unique in. Where a profile asserts one, the account is keyed on the pair and the
 * username follows renames at the provider; accounts of profiles without one keep both columns null. Half a pair
 * would be a key in no namespace, so the CHECK refuses it.
 */
export class AddUserSubjects1732700000000 implements MigrationInterface {
  name = 'AddUserSubjects1732700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_proxy_users" ADD "subject_issuer" varchar(255)`);
    await queryRunner.query(`ALTER TABLE "auth_proxy_users" ADD "subject" varchar(255)`);
    await queryRunner.query(
      `ALTER TABLE "auth_proxy_users" ADD CONSTRAINT "auth_proxy_users_subject_pair_check"
         CHECK (("subject_issuer" IS NULL) = ("subject" IS NULL))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "auth_proxy_users_subject_key" ON "auth_proxy_users" ("subject_issuer", "subject")
         WHERE "subject" IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "auth_proxy_users_subject_key"`);
    await queryRunner.query(`ALTER TABLE "auth_proxy_users" DROP CONSTRAINT "auth_proxy_users_subject_pair_check"`);
    await queryRunner.query(`ALTER TABLE "auth_proxy_users" DROP COLUMN "subject"`);
    await queryRunner.query(`ALTER TABLE "auth_proxy_users" DROP COLUMN "subject_issuer"`);
  }
}
