import type { IncomingMessage } from 'node:http';
import { ExpressAdapter } from '@nestjs/platform-express';
import { createServer, type RequestListener } from 'node:http';
import { inspectOnArrival } from './express-arrival.js';

/** An application as Express builds it: a function that hands every request to its own `handle`. */
function application(order: string[]) {
  const app = (request: IncomingMessage, response: unknown) => app.handle(request, response);
  app.handle = function (this: unknown, request: IncomingMessage & { user?: unknown }, _response: unknown) {
    order.push(`express:${'user' in request}:${this === app}`);
    return 'handled';
  };
  return app;
}

describe('inspectOnArrival', () => {
  it('runs as the request enters the application, before Express, and declares request.user', () => {
    const order: string[] = [];
    const app = application(order);
    expect(inspectOnArrival(app, () => order.push('inspect'))).toBe(true);
    expect(app({} as IncomingMessage, {})).toBe('handled');
    expect(order).toEqual(['inspect', 'express:true:true']);
  });

  it('keeps a user something set before it', () => {
    const app = application([]);
    inspectOnArrival(app, () => undefined);
    const request = { user: 'set by another listener' } as unknown as IncomingMessage & { user: unknown };
    app(request, {});
    expect(request.user).toBe('set by another listener');
  });

  it('leaves an error to the adapter hook, which inspects again: the application goes on', () => {
    const order: string[] = [];
    const app = application(order);
    inspectOnArrival(app, () => {
      throw new Error('inspection failed');
    });
    expect(() => app({} as IncomingMessage, {})).not.toThrow();
    expect(order).toEqual(['express:true:true']);
  });

  it('inspects before Express sets the request’s prototype, on a real Express application', async () => {
    // The application Nest's Express adapter makes.
    const app = new ExpressAdapter().getInstance<
      RequestListener & {
        request: object;
        get(path: string, handler: (request: object, response: { json(body: unknown): void }) => void): void;
      }
    >();
    const seen: boolean[] = [];
    inspectOnArrival(app, (request) => seen.push(Object.getPrototypeOf(request) === app.request));
    app.get('/', (request, response) => {
      response.json({ swapped: Object.getPrototypeOf(request) === app.request, user: 'user' in request });
    });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(await response.json()).toEqual({ swapped: true, user: true });
      expect(seen).toEqual([false]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('does nothing without an application to enter', () => {
    expect(inspectOnArrival(undefined, () => undefined)).toBe(false);
    expect(inspectOnArrival({ on: () => undefined }, () => undefined)).toBe(false);
  });
});
