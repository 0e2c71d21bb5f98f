import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { resolveTrustedHeaderOptions } from '../config/resolve-options.js';
import { RequestInspector } from './request-inspector.service.js';

const inspector = new RequestInspector(resolveTrustedHeaderOptions({}));

function message(peer: string, lines: string[]): IncomingMessage {
  const made = new IncomingMessage({ remoteAddress: peer } as unknown as Socket);
  made.rawHeaders = lines;
  return made;
}

describe('RequestInspector: what counts as a request', () => {
  it('trusts a request Node made from the proxy, under Express (itself) and Fastify (raw)', () => {
    const request = message('127.0.0.1', ['Remote-User', 'alice']);
    expect(inspector.inspect(request).trusted).toBe(true);
    expect(inspector.identityOf(request)).toMatchObject({ kind: 'identity', identity: { username: 'alice' } });
    const wrapped = { raw: message('127.0.0.1', ['Remote-User', 'bob']) };
    expect(inspector.identityOf(wrapped)).toMatchObject({ kind: 'identity', identity: { username: 'bob' } });
  });

  it.each([
    [
      'a plain object shaped like a request',
      { socket: { remoteAddress: '127.0.0.1' }, rawHeaders: ['Remote-User', 'root'] },
    ],
    [
      'a plain object wrapping one in raw',
      { raw: { socket: { remoteAddress: '127.0.0.1' }, rawHeaders: ['Remote-User', 'root'] } },
    ],
    [
      'a parsed JSON payload',
      JSON.parse('{"socket":{"remoteAddress":"127.0.0.1"},"rawHeaders":["Remote-User","root"]}'),
    ],
    ['null', null],
    ['a string', 'Remote-User: root'],
  ])('never trusts %s (an RPC payload a guard took for the request)', (_what, forged) => {
    expect(inspector.inspect(forged)).toEqual({ peer: undefined, trusted: false, strippedHeaders: [] });
    expect(inspector.identityOf(forged)).toEqual({ kind: 'anonymous' });
  });
});
