import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadAppConfig } from './apps/reference-app/src/config/app-config.js';
import { openDatabase } from './apps/reference-app/src/database/open-database.js';

/**
 * The DataSource for the TypeORM CLI (`npm run migration:run`), built from the same environment and options
 * as the reference app: DATABASE_URL when set, the embedded PGlite data directory otherwise.
 */
const database = await openDatabase(loadAppConfig().database);
const dataSource = new DataSource({ ...database.options, migrationsRun: false });
const destroy = dataSource.destroy.bind(dataSource);
dataSource.destroy = async () => {
  await destroy();
  await database.close();
};
export default dataSource;
