import { Controller, Get, Global, Module, type INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  CurrentUser,
  TrustedHeaderConfigError,
  TrustedHeaderGuard,
  TrustedHeaderModule,
  type AuthenticatedUser,
  type TrustedHeaderOptions,
} from 'nestjs-trusted-header';
import request from 'supertest';
import { rawRequest } from './support/raw-request.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

@Controller()
class WhoAmIController {
  @Get('whoami')
  whoami(@CurrentUser() user: AuthenticatedUser) {
    return { username: user.username };
  }
}

@Module({
  providers: [{ provide: 'PROXY_SETTINGS', useValue: { proxy: '127.0.0.2/32' } }],
  exports: ['PROXY_SETTINGS'],
})
class SettingsModule {}

/** The options API as a user of the package writes it: forRoot and forRootAsync with injected settings. */
describe('TrustedHeaderModule options', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  async function start(trustedHeaderModule: ReturnType<typeof TrustedHeaderModule.forRoot>): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [TypeOrmModule.forRoot(await database.options()), trustedHeaderModule],
      controllers: [WhoAmIController],
      providers: [{ provide: APP_GUARD, useExisting: TrustedHeaderGuard }],
    })
      .setLogger(false as never)
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    return app;
  }

  it('forRootAsync takes options from a factory with injected dependencies', async () => {
    const app = await start(
      TrustedHeaderModule.forRootAsync({
        imports: [SettingsModule],
        inject: ['PROXY_SETTINGS'],
        useFactory: (settings: { proxy: string }): TrustedHeaderOptions => ({
          trustedIps: [settings.proxy],
          createUnknownUser: true,
        }),
      }),
    );
    try {
      const port = (app.getHttpServer().address() as { port: number }).port;
      const fromProxy = await rawRequest({
        port,
        path: '/whoami',
        headers: [['Remote-User', 'async-user']],
        localAddress: '127.0.0.2',
      });
      expect(fromProxy.status).toBe(200);
      expect(fromProxy.body).toEqual({ username: 'async-user' });
      // 127.0.0.1 is not in this trust list: the default does not linger.
      const fromLoopback = await rawRequest({ port, path: '/whoami', headers: [['Remote-User', 'async-user']] });
      expect(fromLoopback.status).toBe(401);
      expect(fromLoopback.body.reason).toBe('untrusted_proxy');
    } finally {
      await app.close();
    }
  });

  it('forRoot takes options in code (checked with supertest, as a Nest user would)', async () => {
    const app = await start(TrustedHeaderModule.forRoot({ createUnknownUser: true, preset: 'oauth2-proxy' }));
    try {
      await request(app.getHttpServer())
        .get('/whoami')
        .set('X-Forwarded-User', 'Oauth-User')
        .set('X-Forwarded-Groups', 'a,b')
        .expect(200, { username: 'oauth-user' });
      await request(app.getHttpServer()).get('/whoami').set('Remote-User', 'alice').expect(401);
      const twin = await request(app.getHttpServer())
        .get('/whoami')
        .set('X-Forwarded-User', 'a')
        .set('X_Forwarded_User', 'b');
      expect(twin.status).toBe(400);
      expect(twin.body).toEqual({ statusCode: 400, message: expect.any(String), reason: 'header_twin' });
    } finally {
      await app.close();
    }
  });

  it.each([
    [{ trustedIps: ['0.0.0.0/0'] }, /option trustedIps="0\.0\.0\.0\/0" matches every address/],
    [{ trustedIps: [] }, /option trustedIps=\[\] is empty/],
    [{ userHeader: 'Authorization' }, /option userHeader="Authorization"/],
    [{ preset: 'keycloak' as never }, /option preset="keycloak" is not a known preset/],
  ])('refuses bad options in code where they are written: %j', (options, message) => {
    expect(() => TrustedHeaderModule.forRoot(options)).toThrow(TrustedHeaderConfigError);
    expect(() => TrustedHeaderModule.forRoot(options)).toThrow(message);
  });

  it('refuses bad options from forRootAsync before the application starts', async () => {
    // No database is needed to find out the options are wrong; a stand-in DataSource keeps the test about options.
    @Global()
    @Module({ providers: [{ provide: DataSource, useValue: {} }], exports: [DataSource] })
    class StandInDatabaseModule {}
    const moduleRef = Test.createTestingModule({
      imports: [
        StandInDatabaseModule,
        TrustedHeaderModule.forRootAsync({ useFactory: () => ({ trustedIps: ['10.1'] }) }),
      ],
    })
      .setLogger(false as never)
      .compile();
    await expect(moduleRef).rejects.toThrow(/option trustedIps="10\.1" is not an IP address/);
  });
});
