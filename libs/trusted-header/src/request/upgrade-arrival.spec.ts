import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { inspectBypassingRequests } from './upgrade-arrival.js';

const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve));

function setUp(inspect: (request: IncomingMessage) => void = () => undefined) {
  const server = new EventEmitter();
  const order: string[] = [];
  const refused: unknown[] = [];
  expect(
    inspectBypassingRequests(
      server,
      (request) => {
        order.push(`inspect:${(request as unknown as { id: string }).id}`);
        inspect(request);
      },
      (_request, error) => refused.push(error),
    ),
  ).toBe(true);
  return { server, order, refused };
}

describe('inspectBypassingRequests (upgrade and CONNECT)', () => {
  it('does not listen while nothing else does: Node keeps treating an upgrade as an ordinary request', async () => {
    const { server } = setUp();
    await settle();
    expect(server.listenerCount('upgrade')).toBe(0);
    expect(server.listenerCount('connect')).toBe(0);
  });

  it('runs before a gateway’s listener added later, with `on`, for each handshake', () => {
    const { server, order } = setUp();
    server.on('upgrade', (request: { id: string }) => order.push(`gateway:${request.id}`));
    server.emit('upgrade', { id: 'a' }, new PassThrough(), Buffer.alloc(0));
    server.emit('upgrade', { id: 'b' }, new PassThrough(), Buffer.alloc(0));
    expect(order).toEqual(['inspect:a', 'gateway:a', 'inspect:b', 'gateway:b']);
  });

  it('runs before listeners present when it starts, and covers CONNECT too', () => {
    const server = new EventEmitter();
    const order: string[] = [];
    server.on('upgrade', () => order.push('upgrade listener'));
    server.on('connect', () => order.push('connect listener'));
    inspectBypassingRequests(
      server,
      () => order.push('inspect'),
      () => undefined,
    );
    server.emit('upgrade', {}, new PassThrough(), Buffer.alloc(0));
    server.emit('connect', {}, new PassThrough(), Buffer.alloc(0));
    expect(order).toEqual(['inspect', 'upgrade listener', 'inspect', 'connect listener']);
  });

  it('goes back in front of a listener put first with prependListener, before another request can be read', async () => {
    const { server, order } = setUp();
    server.on('upgrade', () => order.push('first gateway'));
    server.prependListener('upgrade', () => order.push('prepended'));
    await settle();
    server.emit('upgrade', { id: 'a' }, new PassThrough(), Buffer.alloc(0));
    expect(order).toEqual(['inspect:a', 'prepended', 'first gateway']);
    expect(server.listenerCount('upgrade')).toBe(3);
  });

  it('stops listening when the last other listener goes, and comes back with the next one', async () => {
    const { server, order } = setUp();
    const gateway = () => order.push('gateway');
    server.on('upgrade', gateway);
    server.removeListener('upgrade', gateway);
    await settle();
    expect(server.listenerCount('upgrade')).toBe(0);
    server.once('upgrade', () => order.push('once'));
    server.emit('upgrade', { id: 'a' }, new PassThrough(), Buffer.alloc(0));
    expect(order).toEqual(['inspect:a', 'once']);
    await settle();
    expect(server.listenerCount('upgrade')).toBe(0);
    server.on('upgrade', gateway);
    server.removeAllListeners('upgrade');
    await settle();
    expect(server.listenerCount('upgrade')).toBe(0);
    server.on('upgrade', gateway);
    server.emit('upgrade', { id: 'b' }, new PassThrough(), Buffer.alloc(0));
    expect(order).toEqual(['inspect:a', 'once', 'inspect:b', 'gateway']);
  });

  it('closes the connection when the inspection fails, and reports it; the server goes on', () => {
    const failure = new Error('inspection failed');
    const { server, refused } = setUp(() => {
      throw failure;
    });
    const sockets: boolean[] = [];
    server.on('upgrade', (_request: unknown, socket: PassThrough) => sockets.push(socket.destroyed));
    const socket = new PassThrough();
    expect(() => server.emit('upgrade', { id: 'a' }, socket, Buffer.alloc(0))).not.toThrow();
    expect(socket.destroyed).toBe(true);
    expect(sockets).toEqual([true]);
    expect(refused).toEqual([failure]);
  });

  it('does nothing without a server to listen on', () => {
    expect(
      inspectBypassingRequests(
        undefined,
        () => undefined,
        () => undefined,
      ),
    ).toBe(false);
    expect(
      inspectBypassingRequests(
        { on: () => undefined },
        () => undefined,
        () => undefined,
      ),
    ).toBe(false);
  });
});
