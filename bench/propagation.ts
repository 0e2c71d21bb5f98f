/**
 * How long a change made through one instance takes to reach another: two instances of the library in this
 * process, each with its own DataSource, on one fresh PostgreSQL database (DATABASE_URL). Each round disables
 * or enables a user through instance A's admin API and polls instance B, whose cache holds the user for an
 * hour, until B answers the other way; the time is counted from A's answer (the change has committed). Only
 * LISTEN/NOTIFY can explain B's answer changing within the hour. The embedded PGlite serves one session, so
 * without DATABASE_URL the measurement is skipped.
 */
import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  CurrentUser,
  TRUSTED_HEADER_ENTITIES,
  TRUSTED_HEADER_MIGRATIONS,
  TrustedHeaderGuard,
  TrustedHeaderModule,
  type AuthenticatedUser,
} from 'nestjs-trusted-header';
import { TrustedHeaderAdminModule } from 'nestjs-trusted-header/admin';
import { ChangeListener } from 'nestjs-trusted-header/building-blocks';
import { createScratchDatabase } from './scratch-database.js';

export interface Propagation {
  readonly changes: number;
  /** null when skipped; `skipped` says why. */
  readonly medianMs: number | null;
  readonly maxMs: number | null;
  readonly skipped?: string;
}

const CHANGES = 20;
/** A round that takes longer than this is a failure of the mechanism, not a slow sample. */
const GIVE_UP_MS = 5_000;
const ADMIN = { 'Remote-User': 'propagation-admin', 'Remote-Groups': 'propagation-admins' };
const USER = { 'Remote-User': 'propagation-user' };

@Controller()
class MeController {
  @Get('me')
  me(@CurrentUser() user: AuthenticatedUser): { id: string } {
    return { id: user.id };
  }
}

async function startInstance(url: string): Promise<{ app: INestApplication; base: string }> {
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url,
        entities: TRUSTED_HEADER_ENTITIES,
        migrations: TRUSTED_HEADER_MIGRATIONS,
        migrationsRun: true,
        extra: { max: 4 },
      }),
      TrustedHeaderModule.forRoot({
        createUnknownUser: true,
        adminGroups: ['propagation-admins'],
        // An hour: within the run, only a notification can make B read the user again.
        syncTtlSeconds: 3600,
      }),
      TrustedHeaderAdminModule.forRoot(),
    ],
    controllers: [MeController],
    providers: [{ provide: APP_GUARD, useExisting: TrustedHeaderGuard }],
  })
  class PropagationModule {}
  const app = await NestFactory.create(PropagationModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, base: `http://127.0.0.1:${port}` };
}

async function untilListening(app: INestApplication): Promise<void> {
  const listener = app.get(ChangeListener);
  const start = Date.now();
  while (!listener.connected) {
    if (Date.now() - start > GIVE_UP_MS) throw new Error('the change listener did not connect');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export async function measurePropagation(serverUrl = process.env.DATABASE_URL): Promise<Propagation> {
  if (!serverUrl) {
    return {
      changes: 0,
      medianMs: null,
      maxMs: null,
      skipped: 'needs DATABASE_URL: the embedded PGlite serves one session, so two instances cannot share it',
    };
  }
  const database = await createScratchDatabase(serverUrl, 'propagation');
  const instances: INestApplication[] = [];
  try {
    const a = await startInstance(database.url);
    instances.push(a.app);
    const b = await startInstance(database.url);
    instances.push(b.app);
    await Promise.all([untilListening(a.app), untilListening(b.app)]);
    const statusOnB = async () => (await fetch(`${b.base}/me`, { headers: USER })).status;
    await fetch(`${a.base}/me`, { headers: ADMIN });
    const { id } = (await (await fetch(`${b.base}/me`, { headers: USER })).json()) as { id: string };

    const samples: number[] = [];
    for (let round = 0; round < CHANGES; round += 1) {
      const disable = round % 2 === 0;
      // B has the user in memory before each change.
      if ((await statusOnB()) !== (disable ? 200 : 403)) throw new Error(`round ${round}: B did not start as expected`);
      const changed = await fetch(`${a.base}/admin/users/${id}/${disable ? 'disable' : 'enable'}`, {
        method: 'POST',
        headers: { ...ADMIN, 'Content-Type': 'application/json' },
        body: '{}',
      });
      if (changed.status !== 200) throw new Error(`round ${round}: the admin API answered ${changed.status}`);
      const start = performance.now();
      while ((await statusOnB()) !== (disable ? 403 : 200)) {
        if (performance.now() - start > GIVE_UP_MS) throw new Error(`round ${round}: B did not see the change`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      samples.push(performance.now() - start);
    }
    return { changes: CHANGES, medianMs: median(samples), maxMs: Math.max(...samples) };
  } finally {
    for (const app of instances.reverse()) await app.close();
    await database.drop();
  }
}

/** The report's line. */
export function describePropagation(result: Propagation): string {
  if (result.medianMs === null || result.maxMs === null) {
    return `Propagation between instances (LISTEN/NOTIFY): skipped; ${result.skipped ?? 'no measurement'}.`;
  }
  return (
    `Propagation between instances (LISTEN/NOTIFY, two instances on one PostgreSQL database, cache TTL an hour): ` +
    `a user disabled or enabled through A's admin API was answered accordingly by B after ${result.medianMs.toFixed(1)} ms ` +
    `median, ${result.maxMs.toFixed(1)} ms at most, over ${result.changes} changes (from A's answer to B's first changed answer, B polled every millisecond).`
  );
}
