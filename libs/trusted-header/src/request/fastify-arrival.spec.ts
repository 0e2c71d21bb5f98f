import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { inspectOnServerArrival } from './fastify-arrival.js';

describe('inspectOnServerArrival', () => {
  it('runs before the server’s only listener, which stays the only one and keeps its `this`', () => {
    const server = new EventEmitter();
    const order: string[] = [];
    server.on('request', function (this: unknown, request: { id: string }, response: string) {
      order.push(`fastify:${request.id}:${response}:${this === server}`);
    });
    expect(
      inspectOnServerArrival(server, (request) => order.push(`inspect:${(request as unknown as { id: string }).id}`)),
    ).toBe(true);
    expect(server.listenerCount('request')).toBe(1);
    server.emit('request', { id: 'a' }, 'reply');
    expect(order).toEqual(['inspect:a', 'fastify:a:reply:true']);
  });

  it('goes first among several listeners', () => {
    const server = new EventEmitter();
    const order: string[] = [];
    server.on('request', () => order.push('first'));
    server.on('request', () => order.push('second'));
    inspectOnServerArrival(server, () => order.push('inspect'));
    server.emit('request', {});
    expect(order).toEqual(['inspect', 'first', 'second']);
  });

  it('inspects even when the server has no listener yet', () => {
    const server = new EventEmitter();
    const order: string[] = [];
    inspectOnServerArrival(server, () => order.push('inspect'));
    server.on('request', () => order.push('later'));
    server.emit('request', {});
    expect(order).toEqual(['inspect', 'later']);
  });

  it('leaves an error to the adapter hook, which inspects again: the server goes on', () => {
    const server = new EventEmitter();
    const reached: IncomingMessage[] = [];
    server.on('request', (request: IncomingMessage) => reached.push(request));
    inspectOnServerArrival(server, () => {
      throw new Error('inspection failed');
    });
    const request = {} as IncomingMessage;
    expect(() => server.emit('request', request)).not.toThrow();
    expect(reached).toEqual([request]);
  });

  it('does nothing without a server to listen on', () => {
    expect(inspectOnServerArrival(undefined, () => undefined)).toBe(false);
    expect(inspectOnServerArrival({ on: () => undefined }, () => undefined)).toBe(false);
  });
});
