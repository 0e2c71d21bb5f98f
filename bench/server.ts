/**
 * One benchmark server variant per process: `node dist/bench/server.js <variant> <adapter> <port>`.
 * Every variant answers GET /hello with the same JSON body.
 *   raw    node:http, no framework (the ceiling)
 *   none   Nest, no authentication
 *   noop   Nest with a global guard that allows everything: what any global guard costs in Nest itself
 *   guard  Nest with TrustedHeaderGuard as the global guard (users in embedded PGlite, or DATABASE_URL)
 *   jwt    Nest with passport-jwt verifying an HS256 bearer token (what teams use instead)
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { createServer } from 'node:http';
import { CurrentUser, Public, TrustedHeaderGuard, TrustedHeaderModule } from 'nestjs-trusted-header';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { openDatabase } from '../apps/reference-app/src/database/open-database.js';

import { JWT_SECRET } from './shared.js';
const body = (user: string) => ({ ok: true, user });

class StatementCounter implements TypeOrmLogger {
  statements = 0;
  writes = 0;
  logQuery(query: string): void {
    this.statements += 1;
    if (/^\s*(INSERT|UPDATE|DELETE)\b/i.test(query)) this.writes += 1;
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
const counter = new StatementCounter();

@Controller()
class NoAuthController {
  @Get('hello')
  hello() {
    return body('bench-user');
  }
}

@Controller()
class GuardController {
  @Get('hello')
  hello(@CurrentUser('username') username: string) {
    return body(username);
  }

  /** Database statements since the last reset: the steady-state cost of authenticated requests. */
  @Get('bench/stats')
  @Public()
  stats() {
    return { statements: counter.statements, writes: counter.writes, rss: process.memoryUsage().rss };
  }

  @Get('bench/reset')
  @Public()
  reset() {
    counter.statements = 0;
    counter.writes = 0;
    return {};
  }
}

@Injectable()
class AllowAllGuard {
  canActivate(): boolean {
    return true;
  }
}

@Injectable()
class BenchJwtStrategy extends PassportStrategy(JwtStrategy, 'jwt') {
  constructor() {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: JWT_SECRET, algorithms: ['HS256'] });
  }
  validate(payload: { sub: string }) {
    return { username: payload.sub };
  }
}

@Controller()
class JwtController {
  @Get('hello')
  hello(@CurrentUser('username') username: string) {
    return body(username);
  }
}

@Module({})
class BenchModule {
  static async forVariant(variant: string): Promise<DynamicModule> {
    if (variant === 'none') return { module: BenchModule, controllers: [NoAuthController] };
    if (variant === 'noop') {
      return {
        module: BenchModule,
        controllers: [NoAuthController],
        providers: [{ provide: APP_GUARD, useClass: AllowAllGuard }],
      };
    }
    if (variant === 'jwt') {
      return {
        module: BenchModule,
        imports: [PassportModule],
        controllers: [JwtController],
        providers: [BenchJwtStrategy, { provide: APP_GUARD, useClass: AuthGuard('jwt') }],
      };
    }
    const database = await openDatabase({
      url: process.env.DATABASE_URL || undefined,
      pgliteDataDir: 'memory://',
      timeoutMs: 5000,
      poolSize: 20,
    });
    return {
      module: BenchModule,
      imports: [
        TypeOrmModule.forRoot({ ...database.options, logger: counter, logging: ['query'] }),
        TrustedHeaderModule.forRoot({ createUnknownUser: true, adminGroups: ['bench-admins'] }),
      ],
      controllers: [GuardController],
      providers: [{ provide: APP_GUARD, useExisting: TrustedHeaderGuard }],
    };
  }
}

async function main(): Promise<void> {
  const [variant = 'none', adapter = 'express', portText = '0'] = process.argv.slice(2);
  const port = Number(portText);
  if (variant === 'raw') {
    const payload = JSON.stringify(body('bench-user'));
    createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end(payload);
    }).listen(port, '127.0.0.1', () => console.log('READY'));
    return;
  }
  const app = await NestFactory.create(
    await BenchModule.forVariant(variant),
    adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    { logger: ['error', 'warn'] },
  );
  await app.listen(port, '127.0.0.1');
  console.log('READY');
}

process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
void main();
