import { fileURLToPath } from 'node:url';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './support/free-port.js';
import { rawRequest } from './support/raw-request.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const installed = (name: string) =>
  JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version as string;

/** What a fresh Nest application writes to use the package: nothing here comes from this repository's sources. */
const APP_SOURCE = `
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  CurrentUser, Public, TrustedHeaderGuard, TrustedHeaderModule, TRUSTED_HEADER_ENTITIES, TRUSTED_HEADER_MIGRATIONS,
  trustedHeaderOptionsFromEnv, type AuthenticatedUser,
} from 'nestjs-trusted-header';

@Controller()
class HelloController {
  @Get('hello')
  hello(@CurrentUser() user: AuthenticatedUser) {
    return { hello: user.username, groups: user.externalGroups };
  }

  @Get('ping')
  @Public()
  ping() {
    return { pong: true };
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
    }),
    TrustedHeaderModule.forRoot(trustedHeaderOptionsFromEnv()),
  ],
  controllers: [HelloController],
  providers: [{ provide: APP_GUARD, useExisting: TrustedHeaderGuard }],
})
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
await app.listen(Number(process.env.PORT), '127.0.0.1');
`;

/** `npm pack` of the library, installed into a new Nest app that compiles against its declarations and runs. */
describe('the packed library in a fresh Nest app', () => {
  let work: string;
  let database: TestDatabase;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'packed-app-'));
  });
  afterAll(async () => {
    await database?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('packs only the build output with type declarations', () => {
    const output = execFileSync(
      'npm',
      ['pack', '--workspace', 'nestjs-trusted-header', '--pack-destination', work, '--json'],
      {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const [pack] = JSON.parse(output) as [{ filename: string; files: { path: string }[] }];
    const files = pack.files.map((file) => file.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']));
    expect(files.filter((file) => file.startsWith('src/') || file.includes('.spec.'))).toEqual([]);
    writeFileSync(join(work, 'tarball'), pack.filename);
  });

  it('installs, compiles against the shipped .d.ts and authenticates through the trusted proxy', async () => {
    const tarball = join(work, readFileSync(join(work, 'tarball'), 'utf8'));
    const app = join(work, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    const dependencies: Record<string, string> = { 'nestjs-trusted-header': `file:${tarball}` };
    for (const name of [
      '@nestjs/common',
      '@nestjs/core',
      '@nestjs/platform-express',
      '@nestjs/passport',
      '@nestjs/typeorm',
      'passport',
      'typeorm',
      'pg',
      'reflect-metadata',
      'rxjs',
    ]) {
      dependencies[name] = installed(name);
    }
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'fresh-app', private: true, type: 'module', dependencies }, null, 2),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          skipLibCheck: true,
          outDir: 'dist',
          rootDir: 'src',
          types: [],
        },
        include: ['src'],
      }),
    );
    writeFileSync(join(app, 'src/main.ts'), APP_SOURCE);

    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: app,
      stdio: 'ignore',
    });
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', app], {
      cwd: app,
      stdio: 'inherit',
    });

    database = await createTestDatabase();
    const options = (await database.options()) as { url?: string; host?: string };
    const url = options.url ?? `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(options.host!)}`;
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: app,
      env: { PATH: process.env.PATH, PORT: String(port), DATABASE_URL: url, AUTH_PROXY_CREATE_UNKNOWN_USER: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    try {
      const deadline = Date.now() + 60_000;
      while ((await rawRequest({ port, path: '/ping' }).catch(() => null))?.status !== 200) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`fresh app did not start:\n${output}`);
        await new Promise((done) => setTimeout(done, 200));
      }
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
        headers: [['Remote-User', 'admin']],
        localAddress: '127.0.0.2',
      });
      expect(spoofed.status).toBe(401);
      expect(spoofed.body.reason).toBe('untrusted_proxy');
    } finally {
      child.kill('SIGKILL');
    }
  }, 240_000);
});
