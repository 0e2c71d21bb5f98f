import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { inspectOnArrival } from './express-arrival.js';

describe('inspectOnArrival', () => {
  it('runs ahead of the listeners already on the server and declares request.user', () => {
    const server = new EventEmitter();
    const order: string[] = [];
    server.on('request', (request: { user?: unknown }) => order.push(`express:${'user' in request}`));
    expect(inspectOnArrival(server, () => order.push('inspect'))).toBe(true);
    server.emit('request', {});
    expect(order).toEqual(['inspect', 'express:true']);
  });

  it('keeps a user something set before it', () => {
    const server = new EventEmitter();
    inspectOnArrival(server, () => undefined);
    const request = { user: 'set by another listener' };
    server.emit('request', request);
    expect(request.user).toBe('set by another listener');
  });

  it('leaves an error to the adapter hook, which inspects again: the server goes on', () => {
    const server = new EventEmitter();
    const reached: IncomingMessage[] = [];
    server.on('request', (request: IncomingMessage) => reached.push(request));
    inspectOnArrival(server, () => {
      throw new Error('inspection failed');
    });
    const request = {} as IncomingMessage;
    expect(() => server.emit('request', request)).not.toThrow();
    expect(reached).toEqual([request]);
  });

  it('does nothing without a server to listen on', () => {
    expect(inspectOnArrival(undefined, () => undefined)).toBe(false);
    expect(inspectOnArrival({ on: () => undefined }, () => undefined)).toBe(false);
  });
});
