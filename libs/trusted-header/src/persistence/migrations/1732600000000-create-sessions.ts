import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Persistent sessions (AUTH_PROXY_SESSION=persistent). The cookie holds a random token; only its SHA-256 is
 * stored, so a copy of the table logs nobody in. A revoked session keeps its row (revoked_at, revoked_reason)
 * until it would have expired, so a disabled user's cookie is answered `user_disabled`, not "unknown".
 */
export class CreateSessions1732600000000 implements MigrationInterface {
  name = 'CreateSessions1732600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "auth_proxy_sessions" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "token_hash" char(64) NOT NULL,
        "user_id" uuid NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "last_seen_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "revoked_at" timestamptz,
        "revoked_reason" varchar(32),
        "user_agent" varchar(512),
        "peer" varchar(64),
        CONSTRAINT "auth_proxy_sessions_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "auth_proxy_sessions_user_id_fkey" FOREIGN KEY ("user_id")
          REFERENCES "auth_proxy_users" ("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "auth_proxy_sessions_token_hash_key" ON "auth_proxy_sessions" ("token_hash")`,
    );
    await queryRunner.query(`CREATE INDEX "auth_proxy_sessions_user_idx" ON "auth_proxy_sessions" ("user_id")`);
    await queryRunner.query(`CREATE INDEX "auth_proxy_sessions_expires_at_idx" ON "auth_proxy_sessions" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "auth_proxy_sessions"`);
  }
}
