// Says once, before any test, which database the end-to-end tests use and what is skipped because of it.
export default function globalSetup() {
  const url = process.env.DATABASE_URL;
  if (url) {
    const shown = new URL(url);
    if (shown.password) shown.password = '***';
    process.stdout.write(
      `\n[tests] database: PostgreSQL at ${shown} (a fresh database per test file); nothing skipped\n`,
    );
  } else {
    process.stdout.write(
      '\n[tests] database: embedded PGlite (in memory, per test file). SKIPPING the concurrency, outage and load tests:\n' +
        '        they need concurrent sessions, which PGlite does not serve. Set DATABASE_URL=postgres://... to run them.\n',
    );
  }
}
