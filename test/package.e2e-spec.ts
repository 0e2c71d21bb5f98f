import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './support/free-port.js';
import { rawRequest } from './support/raw-request.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const installed = (name: string) =>
  JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version as string;
const execFileAsync = promisify(execFile);

/** Runs a command to its end; a failure carries everything the command printed. */
async function run(command: string, args: string[], cwd: string, env?: Record<string, string>): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      cwd,
      env: env && { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 150_000,
    });
    return stdout + stderr;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}${stderr}`, { cause: error });
  }
}

/** The npm page's data-source file for this kind of project and its CLI command, exactly as printed there. */
function readmeMigrationRecipe(module: 'commonjs' | 'module'): { dataSource: string; command: string[] } {
  const readme = readFileSync(join(root, 'libs/trusted-header/README.md'), 'utf8');
  const heading = `// data-source.js in ${module === 'module' ? 'an ES module' : 'a CommonJS'} project`;
  const start = readme.indexOf(heading);
  const command = readme.split('\n').find((line) => line.includes(' npx typeorm migration:run '));
  if (start < 0 || !command) throw new Error(`the README shows no data-source file for ${module} projects`);
  return {
    dataSource: readme.slice(start, readme.indexOf('\n```', start) + 1),
    command: command.slice(command.indexOf(' npx ') + ' npx '.length).split(' '),
  };
}

interface Consumer {
  readonly title: string;
  readonly directory: string;
  readonly module: 'commonjs' | 'module';
  /** compilerOptions.module (and moduleResolution) of the app's own build. */
  readonly tsModule: 'node16' | 'nodenext';
  readonly adapter: 'express' | 'fastify';
  readonly admin: boolean;
  readonly dependencies: Record<string, string>;
  /** Extra type checks of the entry points: [label, compilerOptions]. */
  readonly typeChecks: [string, Record<string, unknown>][];
}

const NEST_12 = Object.fromEntries(
  [
    '@nestjs/common',
    '@nestjs/core',
    '@nestjs/passport',
    '@nestjs/typeorm',
    '@nestjs/swagger',
    'class-transformer',
    'class-validator',
    'passport',
    'typeorm',
    'pg',
    'reflect-metadata',
    'rxjs',
    '@types/node',
  ].map((name) => [name, installed(name)]),
);

const CONSUMERS: Consumer[] = [
  {
    title: 'CommonJS, Nest 11, TypeORM 0.3, Express',
    directory: 'nest11-cjs',
    module: 'commonjs',
    tsModule: 'node16',
    adapter: 'express',
    admin: false,
    // The lower ends of the package's peer ranges, on the newest Nest 11.
    dependencies: {
      '@nestjs/common': '^11.0.0',
      '@nestjs/core': '^11.0.0',
      '@nestjs/platform-express': '^11.0.0',
      '@nestjs/passport': '^11.0.0',
      '@nestjs/typeorm': '^11.0.0',
      '@nestjs/swagger': '^11.0.0',
      'class-transformer': '0.5.0',
      'class-validator': '0.14.0',
      passport: '0.6.0',
      typeorm: '0.3.20',
      pg: '8.11.0',
      'reflect-metadata': '0.1.13',
      rxjs: '7.2.0',
      '@types/node': NEST_12['@types/node'],
    },
    // node10 reads no `exports`: the subpaths' types come from typesVersions.
    typeChecks: [['node10', { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' }]],
  },
  {
    title: 'CommonJS, Nest 12, TypeORM 1, Express',
    directory: 'nest12-cjs',
    module: 'commonjs',
    // What `nest new` writes on Nest 12; node16 would refuse to import the ESM-only Nest 12 packages (TS1479).
    tsModule: 'nodenext',
    adapter: 'express',
    admin: false,
    dependencies: { ...NEST_12, '@nestjs/platform-express': installed('@nestjs/platform-express') },
    typeChecks: [],
  },
  {
    title: 'ESM, Nest 12, TypeORM 1, Fastify, admin API and Swagger',
    directory: 'nest12-esm-fastify',
    module: 'module',
    tsModule: 'nodenext',
    adapter: 'fastify',
    admin: true,
    dependencies: {
      ...NEST_12,
      '@nestjs/platform-fastify': installed('@nestjs/platform-fastify'),
      '@fastify/static': installed('@fastify/static'),
    },
    // node16 resolves an ESM import as nodenext does (the app's own build).
    typeChecks: [['bundler', { module: 'preserve', moduleResolution: 'bundler' }]],
  },
];

/** What a fresh Nest application writes to use the package: nothing here comes from this repository's sources. */
function appSource(consumer: Consumer): string {
  const fastify = consumer.adapter === 'fastify';
  return `
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  CurrentUser, Public, TrustedHeaderGuard, TrustedHeaderModule, TRUSTED_HEADER_ENTITIES, TRUSTED_HEADER_MIGRATIONS,
  trustedHeaderOptionsFromEnv, type AuthenticatedUser,
} from 'nestjs-trusted-header';
${fastify ? `import { FastifyAdapter } from '@nestjs/platform-fastify';` : ''}
${consumer.admin ? `import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';` : ''}
${consumer.admin ? `import { TrustedHeaderAdminModule } from 'nestjs-trusted-header/admin';` : ''}

@Controller()
class HelloController {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  @Get('hello')
  hello(@CurrentUser() user: AuthenticatedUser) {
    return { hello: user.username, groups: user.externalGroups };
  }

  @Get('ping')
  @Public()
  ping() {
    return { pong: true };
  }

  /** What \`typeorm migration:generate\` would write after the shipped migrations: nothing. */
  @Get('schema')
  @Public()
  async schema() {
    const { upQueries } = await this.dataSource.driver.createSchemaBuilder().log();
    const migrations: { name: string }[] = await this.dataSource.query('SELECT name FROM migrations ORDER BY id');
    return { upQueries: upQueries.map((query) => query.query), migrations: migrations.map((row) => row.name) };
  }
}

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: TRUSTED_HEADER_ENTITIES,
      migrations: TRUSTED_HEADER_MIGRATIONS,
      migrationsRun: true,
      // The test runs it on embedded PGlite too, which serves one session at a time.
      extra: { max: Number(process.env.DATABASE_POOL_SIZE) },
    }),
    TrustedHeaderModule.forRoot(trustedHeaderOptionsFromEnv()),
    ${consumer.admin ? `TrustedHeaderAdminModule.forRoot(),` : ''}
  ],
  controllers: [HelloController],
  providers: [{ provide: APP_GUARD, useExisting: TrustedHeaderGuard }],
})
class AppModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule, ${fastify ? 'new FastifyAdapter(), ' : ''}{ logger: ['error', 'warn'] });
  ${
    consumer.admin
      ? `SwaggerModule.setup('docs', app, SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('packed').build()));`
      : ''
  }
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}
void bootstrap();
`;
}

/**
 * Every entry point, typed: a declaration that failed to resolve would be \`any\`, and each @ts-expect-error
 * below would then be unused, which is an error too.
 */
const ENTRY_POINTS_SOURCE = `
import { ENV_VARIABLES, TrustedHeaderModule, type AuthenticatedUser } from 'nestjs-trusted-header';
import { TrustedHeaderAdminModule, type Page } from 'nestjs-trusted-header/admin';
import { STATUS_OF_REASON, TrustedHeaderUser } from 'nestjs-trusted-header/building-blocks';

export const userHeader: 'AUTH_PROXY_HEADER' = ENV_VARIABLES.userHeader;
// @ts-expect-error not a variable of the package
export const typo: string = ENV_VARIABLES.userHeaders;
// @ts-expect-error not a reason code
export const unknownReason = STATUS_OF_REASON.no_such_reason;
// @ts-expect-error the path prefix is a string
export const admin = TrustedHeaderAdminModule.forRoot({ path: 1 });
export const core = TrustedHeaderModule.forRoot({ trustedIps: ['10.0.0.5'] });
export type Shapes = [AuthenticatedUser['groups'], Page<TrustedHeaderUser>['items']];
`;

const MIGRATIONS = [
  'CreateTrustedHeaderTables1732300000000',
  'CreateAuditEvents1732400000000',
  'AddAuditActorType1732500000000',
  'CreateSessions1732600000000',
  'AddUserSubjects1732700000000',
];

const COMPILER_OPTIONS = {
  target: 'ES2022',
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  skipLibCheck: true,
  outDir: 'dist',
  rootDir: 'src',
  types: ['node'],
};

/**
 * One consumer app in its stages. All of them start at once, so the three apps install, compile and boot side
 * by side; each test awaits the stage it is about, and a stage's failure fails the tests that await it.
 */
class ConsumerApp {
  readonly path: string;
  readonly installed: Promise<void>;
  readonly compiled: Promise<void>;
  readonly typeChecked: Map<string, Promise<void>>;
  readonly started: Promise<{ port: number }>;
  readonly migratedByCli: Promise<{ run: string; check: string }>;
  private readonly databases: TestDatabase[] = [];
  private child?: ChildProcess;
  private stopping = false;

  constructor(
    readonly consumer: Consumer,
    work: string,
    tarball: string,
  ) {
    this.path = join(work, consumer.directory);
    this.installed = this.install(tarball);
    this.compiled = this.installed.then(() => this.tsc('tsconfig.json'));
    this.typeChecked = new Map(
      consumer.typeChecks.map(([label]) => [label, this.installed.then(() => this.tsc(`tsconfig.${label}.json`))]),
    );
    this.started = this.compiled.then(() => this.start());
    this.migratedByCli = this.installed.then(() => this.migrateByCli());
    for (const stage of this.stages()) stage.catch(() => undefined);
  }

  private stages(): Promise<unknown>[] {
    return [this.installed, this.compiled, ...this.typeChecked.values(), this.started, this.migratedByCli];
  }

  typeCheck(label: string): Promise<void> {
    const check = this.typeChecked.get(label);
    if (!check) throw new Error(`no type check ${label}`);
    return check;
  }

  /** Every stage ends by itself (commands and startup are bounded); then nothing of this app is left. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.stages());
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((done) => this.child!.once('exit', done));
      this.child.kill('SIGKILL');
      await exited;
    }
    await Promise.all(this.databases.map((database) => database.close()));
  }

  /** A fresh database of its own: its URL, and whether it serves more than one session (PGlite does not). */
  private async database(): Promise<{ url: string; concurrent: boolean }> {
    if (this.stopping) throw new Error('stopped');
    const database = await createTestDatabase();
    this.databases.push(database);
    const options = (await database.options()) as { url?: string; host?: string };
    const url = options.url ?? `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(options.host!)}`;
    return { url, concurrent: database.concurrent };
  }

  private async install(tarball: string): Promise<void> {
    const { consumer } = this;
    mkdirSync(join(this.path, 'src'), { recursive: true });
    const manifest = {
      name: `consumer-${consumer.directory}`,
      private: true,
      ...(consumer.module === 'module' ? { type: 'module' } : {}),
      dependencies: { 'nestjs-trusted-header': `file:${tarball}`, ...consumer.dependencies },
    };
    writeFileSync(join(this.path, 'package.json'), JSON.stringify(manifest, null, 2));
    const compilerOptions = { ...COMPILER_OPTIONS, module: consumer.tsModule, moduleResolution: consumer.tsModule };
    writeFileSync(join(this.path, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }, null, 2));
    for (const [label, options] of consumer.typeChecks) {
      writeFileSync(
        join(this.path, `tsconfig.${label}.json`),
        JSON.stringify({
          compilerOptions: { ...compilerOptions, ...options, noEmit: true },
          files: ['src/entry-points.ts'],
        }),
      );
    }
    writeFileSync(join(this.path, 'src/main.ts'), appSource(consumer));
    writeFileSync(join(this.path, 'src/entry-points.ts'), ENTRY_POINTS_SOURCE);
    writeFileSync(join(this.path, 'data-source.js'), readmeMigrationRecipe(consumer.module).dataSource);
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], this.path);
  }

  private async tsc(config: string): Promise<void> {
    await run(process.execPath, [tsc, '-p', join(this.path, config)], this.path);
  }

  /**
   * The npm page's recipe on a database of its own: `typeorm migration:run` with its data-source file, then
   * `migration:generate --check`, which fails when the entities and the database differ.
   */
  private async migrateByCli(): Promise<{ run: string; check: string }> {
    const env = { DATABASE_URL: (await this.database()).url };
    const { command } = readmeMigrationRecipe(this.consumer.module);
    const migrated = await run('npx', ['--no', '--', ...command], this.path, env);
    const generate = ['typeorm', 'migration:generate', 'migrations/Unexpected', '-d', './data-source.js', '--check'];
    const checked = await run('npx', ['--no', '--', ...generate], this.path, env);
    return { run: migrated, check: checked };
  }

  private async start(): Promise<{ port: number }> {
    const { url, concurrent } = await this.database();
    const port = await freePort();
    if (this.stopping) throw new Error('stopped');
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: this.path,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        DATABASE_URL: url,
        DATABASE_POOL_SIZE: concurrent ? '10' : '1',
        AUTH_PROXY_CREATE_UNKNOWN_USER: 'true',
        AUTH_PROXY_ADMIN_GROUPS: 'admins',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const deadline = Date.now() + 60_000;
    while ((await rawRequest({ port, path: '/ping' }).catch(() => null))?.status !== 200) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`${this.consumer.title}: the app did not start:\n${output}`);
      }
      await new Promise((done) => setTimeout(done, 200));
    }
    return { port };
  }
}

/**
 * `npm pack` of the library, installed from the tarball (peers from the registry) into three new Nest apps that
 * compile against its declarations and run: the ends of the peer ranges, CommonJS and ESM, Express and Fastify.
 */
describe('the packed library in fresh Nest apps', () => {
  let work: string;
  let tarball: string;
  let packedFiles: string[];
  let attwReport: Promise<string>;
  const apps = new Map<Consumer, ConsumerApp>();

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'packed-app-'));
    const output = execFileSync(
      'npm',
      ['pack', '--workspace', 'nestjs-trusted-header', '--pack-destination', work, '--json'],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const [pack] = JSON.parse(output) as [{ filename: string; files: { path: string }[] }];
    tarball = join(work, pack.filename);
    packedFiles = pack.files.map((file) => file.path);
    const attw = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    // It exits non-zero on any finding; the test judges which findings are expected.
    attwReport = execFileAsync(process.execPath, [attw, tarball, '--format', 'json'], {
      maxBuffer: 64 * 1024 * 1024,
    }).then(
      ({ stdout }) => stdout,
      (error: { stdout?: string }) => error.stdout ?? '',
    );
    for (const consumer of CONSUMERS) apps.set(consumer, new ConsumerApp(consumer, work, tarball));
  }, 120_000);
  afterAll(async () => {
    await Promise.all([...apps.values()].map((app) => app.stop()));
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  describe('the tarball', () => {
    it('holds the build output with CommonJS and ESM declarations, the README and the licence', () => {
      expect(packedFiles).toEqual(
        expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']),
      );
      expect(
        packedFiles.filter((file) => !file.startsWith('dist/') && !/^(package\.json|README\.md|LICENSE)$/.test(file)),
      ).toEqual([]);
      expect(packedFiles.filter((file) => file.includes('.spec.'))).toEqual([]);
      const declarations = packedFiles.filter((file) => file.endsWith('.d.ts'));
      expect(declarations.length).toBeGreaterThan(10);
      const twins = declarations.map((file) => file.replace(/\.d\.ts$/, '.d.cts'));
      expect(twins.filter((file) => !packedFiles.includes(file))).toEqual([]);
    });

    it('has no source maps, which would point at sources it does not ship', () => {
      expect(packedFiles.filter((file) => file.endsWith('.map'))).toEqual([]);
      const listing = execFileSync('tar', ['-xzOf', tarball, '--wildcards', 'package/dist/*.js'], { encoding: 'utf8' });
      expect(listing).not.toContain('sourceMappingURL');
    });

    it('declares loading, licence, repository and every peer in its manifest', () => {
      const manifest = JSON.parse(
        execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }),
      );
      expect(manifest.engines.node).toBe('^20.19.0 || >=22.12.0');
      expect(manifest.license).toBe('MIT');
      expect(manifest.repository.url).toContain('github.com/nestjs-trusted-header/nestjs-trusted-header');
      expect(manifest.peerDependencies.pg).toBe('^8.11.0');
      for (const entry of ['.', './admin', './building-blocks']) {
        expect(Object.keys(manifest.exports[entry])).toEqual(['import', 'default']);
      }
    });

    /**
     * @arethetypeswrong/cli predates require(esm): it calls every require() of an ES module an error
     * (CJSResolvesToESM) and CommonJS declarations for it a disguise (FalseCJS). On Node >= 20.19 that require()
     * returns the module namespace, which is what the .d.cts twins describe (there is no default export), so
     * those two findings, for require() under node16 only, are expected; anything else fails.
     */
    it('resolves types for every entry point under node10, node16 (CJS and ESM) and bundler', async () => {
      const { analysis } = JSON.parse(await attwReport) as {
        analysis: {
          problems: { kind: string; entrypoint?: string; resolutionKind?: string; typesFileName?: string }[];
          entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }>;
        };
      };
      const unexpected = analysis.problems.filter(
        (problem) =>
          !(problem.kind === 'CJSResolvesToESM' && problem.resolutionKind === 'node16-cjs') &&
          !(problem.kind === 'FalseCJS' && problem.typesFileName?.endsWith('.d.cts')),
      );
      expect(unexpected).toEqual([]);
      const typesOf = (entry: string) =>
        Object.fromEntries(
          Object.entries(analysis.entrypoints[entry].resolutions).map(([kind, { resolution }]) => [
            kind,
            resolution?.fileName.replace('/node_modules/nestjs-trusted-header/', ''),
          ]),
        );
      expect(typesOf('.')).toEqual({
        node10: 'dist/index.d.ts',
        'node16-cjs': 'dist/index.d.cts',
        'node16-esm': 'dist/index.d.ts',
        bundler: 'dist/index.d.ts',
      });
      expect(typesOf('./admin')).toEqual({
        node10: 'dist/admin/index.d.ts',
        'node16-cjs': 'dist/admin/index.d.cts',
        'node16-esm': 'dist/admin/index.d.ts',
        bundler: 'dist/admin/index.d.ts',
      });
      expect(typesOf('./building-blocks')).toEqual({
        node10: 'dist/building-blocks.d.ts',
        'node16-cjs': 'dist/building-blocks.d.cts',
        'node16-esm': 'dist/building-blocks.d.ts',
        bundler: 'dist/building-blocks.d.ts',
      });
    }, 60_000);
  });

  describe.each(CONSUMERS.map((consumer) => [consumer.title, consumer] as const))('%s', (_title, consumer) => {
    const app = () => apps.get(consumer)!;

    it('installs the tarball and its peers from the registry', async () => {
      await app().installed;
    }, 180_000);

    it(`compiles against the shipped declarations (module ${consumer.tsModule})`, async () => {
      await app().compiled;
    }, 180_000);

    for (const [label] of consumer.typeChecks) {
      it(`resolves the types of every entry point under moduleResolution ${label}`, async () => {
        await app().typeCheck(label);
      }, 180_000);
    }

    if (consumer.module === 'commonjs') {
      it('loads every entry point with a plain require()', async () => {
        await app().installed;
        const script = `
          const core = require('nestjs-trusted-header');
          const admin = require('nestjs-trusted-header/admin');
          const blocks = require('nestjs-trusted-header/building-blocks');
          console.log(typeof core.TrustedHeaderModule, typeof admin.TrustedHeaderAdminModule, typeof blocks.STATUS_OF_REASON);
        `;
        const output = await run(process.execPath, ['-e', script], app().path);
        expect(output.trim()).toBe('function function object');
      }, 180_000);
    }

    it("runs the shipped migrations with the TypeORM CLI and the npm page's data-source file", async () => {
      const { run: migrated, check } = await app().migratedByCli;
      for (const name of MIGRATIONS) {
        // TypeORM 0.3 writes two spaces before "executed".
        expect(migrated).toMatch(new RegExp(`Migration ${name} has been +executed successfully`));
      }
      expect(check).toContain('No changes in database schema were found');
    }, 180_000);

    it('runs the shipped migrations at startup (migrationsRun), after which the schema diff is empty', async () => {
      const { port } = await app().started;
      const schema = await rawRequest({ port, path: '/schema' });
      expect(schema.status).toBe(200);
      expect(schema.body.migrations).toEqual(MIGRATIONS);
      expect(schema.body.upQueries).toEqual([]);
    }, 180_000);

    it('logs in a user asserted by the trusted proxy and refuses the same header from anyone else', async () => {
      const { port } = await app().started;
      const hello = await rawRequest({
        port,
        path: '/hello',
        headers: [
          ['Remote-User', 'Packed'],
          ['Remote-Groups', 'x,y'],
        ],
      });
      expect(hello.status).toBe(200);
      expect(hello.body).toEqual({ hello: 'packed', groups: ['x', 'y'] });
      const spoofed = await rawRequest({
        port,
        path: '/hello',
        headers: [
          ['Remote-User', 'Packed'],
          ['Remote-Groups', 'x,y'],
        ],
        localAddress: '127.0.0.2',
      });
      expect(spoofed.status).toBe(401);
      expect(spoofed.body.reason).toBe('untrusted_proxy');
    }, 180_000);

    if (consumer.admin) {
      it('serves the OpenAPI document of the admin API and Swagger UI', async () => {
        const { port } = await app().started;
        const document = await rawRequest({ port, path: '/docs-json' });
        expect(document.status).toBe(200);
        expect(Object.keys(document.body.paths)).toEqual(expect.arrayContaining(['/admin/groups', '/admin/users']));
        const ui = await rawRequest({ port, path: '/docs' });
        expect(ui.status).toBe(200);
        expect(ui.text).toContain('swagger-ui');
      }, 180_000);

      it('answers an admin on the admin API and refuses anyone else', async () => {
        const { port } = await app().started;
        const groups = await rawRequest({
          port,
          path: '/admin/groups',
          headers: [
            ['Remote-User', 'Boss'],
            ['Remote-Groups', 'admins'],
          ],
        });
        expect(groups.status).toBe(200);
        expect(groups.body).toEqual(expect.objectContaining({ items: expect.any(Array), page: 1 }));
        const users = await rawRequest({
          port,
          path: '/admin/users',
          headers: [
            ['Remote-User', 'Boss'],
            ['Remote-Groups', 'admins'],
          ],
        });
        expect(users.status).toBe(200);
        expect(users.body.items.map((user: { username: string }) => user.username).sort()).toEqual(['boss', 'packed']);
        const refused = await rawRequest({ port, path: '/admin/groups', headers: [['Remote-User', 'Packed']] });
        expect(refused.status).toBe(403);
        expect(refused.body.reason).toBe('admin_required');
      }, 180_000);
    }
  });
});
