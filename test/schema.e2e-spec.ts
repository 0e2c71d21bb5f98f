import 'reflect-metadata';
import { TRUSTED_HEADER_ENTITIES, TRUSTED_HEADER_MIGRATIONS } from 'nestjs-trusted-header';
import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * The shipped migrations and the entities describe one schema. Were they to differ, a user's
 * `typeorm migration:generate` would write a migration that drops our indexes, foreign keys or defaults.
 */
describe('schema: entities and migrations', () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
    const options = await database.options();
    dataSource = new DataSource({
      ...options,
      entities: TRUSTED_HEADER_ENTITIES,
      migrations: TRUSTED_HEADER_MIGRATIONS,
      migrationsRun: false,
      synchronize: false,
    });
    await dataSource.initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await database?.close();
  });

  it('runs every shipped migration', async () => {
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    expect(ran.map((migration) => migration.name)).toEqual(
      TRUSTED_HEADER_MIGRATIONS.map((migration) => migration.name),
    );
  });

  it('leaves nothing for a schema diff to do', async () => {
    const { upQueries } = await dataSource.driver.createSchemaBuilder().log();
    const queries = upQueries.map((query) => query.query);
    if (queries.length > 0) {
      console.error(`schema diff after the migrations:\n${queries.join(';\n')}`);
    }
    expect(queries).toEqual([]);
  });

  // The schema diff compares an index's name, columns and uniqueness, not its WHERE clause.
  it('declares each index the migrations create, partial ones with their condition', async () => {
    const normalise = (sql: string) => sql.replace(/["()]/g, '').trim();
    const rows: { indexdef: string }[] = await dataSource.query(
      `SELECT indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename LIKE 'auth_proxy_%' AND indexname NOT LIKE '%_pkey'`,
    );
    const inDatabase = rows
      .map(({ indexdef }) => {
        const [, unique, name, columns, where] =
          /^CREATE (UNIQUE )?INDEX (\S+) ON \S+ USING btree \((.*?)\)(?: WHERE (.*))?$/.exec(indexdef)!;
        return `${name}${unique ? ' unique' : ''} (${normalise(columns)})${where ? ` where ${normalise(where)}` : ''}`;
      })
      .sort();
    const declared = dataSource.entityMetadatas
      .flatMap((entity) => entity.indices)
      .map(
        (index) =>
          `${index.name}${index.isUnique ? ' unique' : ''} (${index.columns.map((column) => column.databaseName).join(', ')})` +
          (index.where ? ` where ${normalise(index.where)}` : ''),
      )
      .sort();
    expect(declared).toEqual(inDatabase);
    expect(declared).toContain('auth_proxy_users_email_key unique (email) where email IS NOT NULL');
  });

  it('knows each foreign key the migrations create, with its delete rule', () => {
    const foreignKeys = dataSource.entityMetadatas
      .flatMap((entity) =>
        entity.foreignKeys.map(
          (key) => `${entity.tableName}.${key.columnNames.join(',')} -> ${key.referencedTablePath} ${key.onDelete}`,
        ),
      )
      .sort();
    expect(foreignKeys).toEqual([
      'auth_proxy_audit_events.user_id -> auth_proxy_users SET NULL',
      'auth_proxy_group_mappings.group_id -> auth_proxy_groups CASCADE',
      'auth_proxy_sessions.user_id -> auth_proxy_users CASCADE',
      'auth_proxy_user_external_groups.user_id -> auth_proxy_users CASCADE',
      'auth_proxy_user_groups.group_id -> auth_proxy_groups CASCADE',
      'auth_proxy_user_groups.user_id -> auth_proxy_users CASCADE',
    ]);
  });
});
