import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { inspectBypassingRequests } from './upgrade-arrival.js';

const request = (id: string) => ({ id }) as unknown as IncomingMessage;
const idOf = (message: unknown) => (message as { id: string }).id;

function setUp(
  server = new EventEmitter(),
  covered: readonly unknown[] = [],
  inspect: (request: IncomingMessage) => void = () => undefined,
) {
  const order: string[] = [];
  const refused: unknown[] = [];
  expect(
    inspectBypassingRequests(
      server,
      covered,
      (message) => {
        order.push(`inspect:${idOf(message)}`);
        inspect(message);
      },
      (_message, error) => refused.push(error),
    ),
  ).toBe(true);
  return { server, order, refused };
}

/** An upgrade on a server whose inspection fails: the emit does not throw, the socket is closed, no listener runs. */
function expectClosedUndelivered(server: EventEmitter): void {
  const delivered: unknown[] = [];
  server.on('upgrade', (message: unknown) => delivered.push(message));
  const socket = new PassThrough();
  expect(() => server.emit('upgrade', request('a'), socket, Buffer.alloc(0))).not.toThrow();
  expect(socket.destroyed).toBe(true);
  expect(delivered).toEqual([]);
}

describe('inspectBypassingRequests', () => {
  it('adds no listener: Node keeps choosing between the upgrade and the request path as before', () => {
    const { server } = setUp();
    expect(server.listenerCount('upgrade')).toBe(0);
    expect(server.listenerCount('connect')).toBe(0);
    expect(server.listenerCount('request')).toBe(0);
  });

  it('inspects each upgrade and CONNECT before every listener, whenever and however it was added', () => {
    const server = new EventEmitter();
    const { order } = setUp(server);
    server.on('upgrade', (message: unknown) => {
      order.push(`gateway:${idOf(message)}`);
      // A listener put first while an event is being delivered (a lazily attached gateway) comes after it too.
      if (server.listenerCount('upgrade') === 1) server.prependListener('upgrade', () => order.push('prepended'));
    });
    server.prependOnceListener('connect', (message: unknown) => order.push(`connect:${idOf(message)}`));
    server.emit('upgrade', request('a'), new PassThrough(), Buffer.alloc(0));
    server.emit('upgrade', request('b'), new PassThrough(), Buffer.alloc(0));
    server.emit('connect', request('c'), new PassThrough(), Buffer.alloc(0));
    expect(order).toEqual(['inspect:a', 'gateway:a', 'inspect:b', 'prepended', 'gateway:b', 'inspect:c', 'connect:c']);
  });

  it('leaves requests to the covered listeners, and inspects them once another takes over (engine.io)', () => {
    const server = new EventEmitter();
    const application = (message: unknown) => order.push(`application:${idOf(message)}`);
    server.on('request', application);
    const { order } = setUp(server, [application]);
    server.emit('request', request('a'), {});
    // engine.io: every listener taken off, its own put on, which calls the old ones for other paths.
    server.removeAllListeners('request');
    server.on('request', (message: unknown) => {
      order.push(`engine.io:${idOf(message)}`);
      application(message);
    });
    server.emit('request', request('b'), {});
    expect(order).toEqual(['application:a', 'inspect:b', 'engine.io:b', 'application:b']);
  });

  it('treats a request listener present at the start that is not covered as taking over', () => {
    const server = new EventEmitter();
    server.on('request', () => undefined);
    const { order } = setUp(server, []);
    server.emit('request', request('a'), {});
    expect(order).toEqual(['inspect:a']);
  });

  it('inspects checkContinue and checkExpectation, which take the place of request for an Expect header', () => {
    const { server, order } = setUp();
    server.on('checkContinue', (message: unknown) => order.push(`continue:${idOf(message)}`));
    server.on('checkExpectation', (message: unknown) => order.push(`expectation:${idOf(message)}`));
    server.emit('checkContinue', request('a'), {});
    server.emit('checkExpectation', request('b'), {});
    expect(order).toEqual(['inspect:a', 'continue:a', 'inspect:b', 'expectation:b']);
  });

  it('leaves every other event alone', () => {
    const { server, order } = setUp();
    const seen: unknown[][] = [];
    server.on('connection', (...args: unknown[]) => seen.push(args));
    expect(server.emit('connection', 'socket')).toBe(true);
    expect(server.emit('close')).toBe(false);
    expect(seen).toEqual([['socket']]);
    expect(order).toEqual([]);
  });

  it('closes the socket and delivers nothing when the inspection fails; the server goes on', () => {
    const failure = new Error('inspection failed');
    const { server, refused } = setUp(new EventEmitter(), [], () => {
      throw failure;
    });
    expectClosedUndelivered(server);
    expect(refused).toEqual([failure]);
  });

  it('still closes the socket when reporting the failure throws (a failing logger)', () => {
    const server = new EventEmitter();
    inspectBypassingRequests(
      server,
      [],
      () => {
        throw new Error('inspection failed');
      },
      () => {
        throw new Error('logger failed');
      },
    );
    expectClosedUndelivered(server);
  });

  it("runs an emit patched onto the server's class after it was set up (an APM agent)", () => {
    class Server extends EventEmitter {}
    const server = new Server();
    const { order } = setUp(server);
    const original = Server.prototype.emit;
    Server.prototype.emit = function patched(this: EventEmitter, event: string | symbol, ...args: unknown[]) {
      if (event === 'upgrade') order.push('agent');
      return original.call(this, event, ...args);
    };
    server.on('upgrade', (message: unknown) => order.push(`gateway:${idOf(message)}`));
    server.emit('upgrade', request('a'), new PassThrough(), Buffer.alloc(0));
    expect(order).toEqual(['inspect:a', 'agent', 'gateway:a']);
  });

  it('two on one server (the module imported twice) both inspect, once each, and the server goes on', () => {
    const server = new EventEmitter();
    const first = setUp(server);
    const second = setUp(server);
    const delivered: string[] = [];
    server.on('upgrade', (message: unknown) => delivered.push(idOf(message)));
    server.prependListener('upgrade', () => delivered.push('prepended'));
    server.emit('upgrade', request('a'), new PassThrough(), Buffer.alloc(0));
    expect(first.order).toEqual(['inspect:a']);
    expect(second.order).toEqual(['inspect:a']);
    expect(delivered).toEqual(['prepended', 'a']);
  });

  it('does nothing without a server', () => {
    const none = () => undefined;
    expect(inspectBypassingRequests(undefined, [], none, none)).toBe(false);
    expect(inspectBypassingRequests({ on: none }, [], none, none)).toBe(false);
  });
});
