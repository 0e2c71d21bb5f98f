/**
 * `node dist/bench/guard-cost.js`: the library's own work per request, timed in-process, without sockets,
 * HTTP parsing or a load generator sharing the cores. Prints one JSON line.
 *
 * Each iteration builds a request as Node would hand it over (fresh header strings, a socket address) and an
 * execution context, then either
 *   - baseline: runs an allow-all guard, or
 *   - library:  runs the pre-routing inspection and TrustedHeaderGuard.canActivate for a cached user.
 * The difference of the two, per request, is what the library adds. Rounds alternate and the median is kept.
 */
import 'reflect-metadata';
import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Controller, Get, Module, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TrustedHeaderGuard, TrustedHeaderModule } from 'nestjs-trusted-header';
import { RequestInspector } from 'nestjs-trusted-header/building-blocks';
import { openDatabase } from '../apps/reference-app/src/database/open-database.js';

const ITERATIONS = 100_000;
const ROUNDS = 11;

@Controller()
class HelloController {
  @Get('hello')
  hello() {
    return { ok: true };
  }
}

/** What a browser request through the proxy carries, as Node's parser hands it over. */
const HEADER_LINES = [
  ['Host', 'app.example.org'],
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'],
  ['Accept', 'application/json'],
  ['Accept-Encoding', 'gzip, deflate, br'],
  ['Accept-Language', 'en-GB,en;q=0.5'],
  ['Cookie', 'authelia_session=0123456789abcdef0123456789abcdef'],
  ['X-Forwarded-For', '203.0.113.7'],
  ['X-Forwarded-Proto', 'https'],
  ['Remote-User', 'bench-user'],
  ['Remote-Groups', 'staff,finance'],
  ['Remote-Email', 'bench@example.org'],
  ['Remote-Name', 'Bench User'],
] as const;

/**
 * Fresh strings for the header lines the library reads, as the HTTP parser produces them per request (no cached
 * hashes, no shared objects); the other lines are shared, as neither side of the comparison reads them.
 */
function freshRequest(): object {
  const rawHeaders: string[] = [];
  const headers: Record<string, string> = {};
  for (const [name, value] of HEADER_LINES) {
    const fresh = name.startsWith('Remote-');
    const lineName = fresh ? Buffer.from(name, 'latin1').toString('latin1') : name;
    const lineValue = fresh ? Buffer.from(value, 'latin1').toString('latin1') : value;
    rawHeaders.push(lineName, lineValue);
    headers[lineName.toLowerCase()] = lineValue;
  }
  // A real IncomingMessage, as the library accepts nothing else as a request; its socket is a stand-in.
  const message = new IncomingMessage(PROXY_SOCKET);
  message.rawHeaders = rawHeaders;
  message.headers = headers;
  message.method = 'GET';
  message.url = '/hello';
  return message;
}

const PROXY_SOCKET = { remoteAddress: '127.0.0.1' } as unknown as Socket;

function contextFor(request: object): ExecutionContext {
  const context = new ExecutionContextHost(
    [request, {}, () => undefined],
    HelloController,
    HelloController.prototype.hello,
  );
  context.setType('http');
  return context;
}

async function main(): Promise<void> {
  const database = await openDatabase({ pgliteDataDir: 'memory://', timeoutMs: 5000, poolSize: 2 });
  @Module({
    imports: [TypeOrmModule.forRoot(database.options), TrustedHeaderModule.forRoot({ createUnknownUser: true })],
    controllers: [HelloController],
  })
  class CostModule {}
  const app = await NestFactory.createApplicationContext(CostModule, { logger: ['error', 'warn'] });
  const guard = app.get(TrustedHeaderGuard);
  const inspector = app.get(RequestInspector);
  const allowAll = { canActivate: (_context: ExecutionContext) => true };

  const library = async () => {
    const request = freshRequest();
    inspector.inspect(request); // the pre-routing hook
    const admitted = guard.canActivate(contextFor(request));
    if ((admitted instanceof Promise ? await admitted : admitted) !== true) throw new Error('not admitted');
  };
  const baseline = async () => {
    const request = freshRequest();
    if (allowAll.canActivate(contextFor(request)) !== true) throw new Error('not admitted');
  };
  await library(); // first login: the user is created and cached

  const time = async (step: () => Promise<void>) => {
    (globalThis as { gc?: () => void }).gc?.(); // each timing starts from a collected heap
    const started = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i += 1) await step();
    return Number(process.hrtime.bigint() - started) / ITERATIONS;
  };
  const differences: number[] = [];
  const libraryTimes: number[] = [];
  for (let round = 0; round <= ROUNDS; round += 1) {
    // The order alternates, so a slow spell of the machine does not always land on the same side.
    const libraryFirst = round % 2 === 0;
    const first = await time(libraryFirst ? library : baseline);
    const second = await time(libraryFirst ? baseline : library);
    if (round === 0) continue; // warm-up: both paths optimised before anything counts
    const [libraryNs, baselineNs] = libraryFirst ? [first, second] : [second, first];
    differences.push(libraryNs - baselineNs);
    libraryTimes.push(libraryNs);
  }
  await app.close();
  await database.close();
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  console.log(
    JSON.stringify({
      iterations: ITERATIONS,
      rounds: ROUNDS,
      libraryNsPerRequest: median(differences),
      minNs: Math.min(...differences),
      maxNs: Math.max(...differences),
      withBaselineNs: median(libraryTimes),
    }),
  );
  process.exit(0);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
