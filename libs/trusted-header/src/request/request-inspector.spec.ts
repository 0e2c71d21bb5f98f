import { IncomingMessage } from 'node:http';
import { connect, createServer, type Http2ServerRequest } from 'node:http2';
import { connect as netConnect, type AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { resolveTrustedHeaderOptions } from '../config/resolve-options.js';
import { RequestInspector } from './request-inspector.service.js';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';

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
    expect(inspector.inspect(forged)).toEqual({ peer: undefined, trusted: false, strippedHeaders: [], profile: null });
    expect(inspector.identityOf(forged)).toEqual({ kind: 'anonymous' });
  });
});

describe('RequestInspector over HTTP/2 (Http2ServerRequest has no headersDistinct)', () => {
  /** One request through a real HTTP/2 server, inspected there; answers what the inspector concluded. */
  async function inspectOverHttp2(localAddress: string, headers: Record<string, string>): Promise<unknown> {
    const server = createServer((request: Http2ServerRequest, response) => {
      let body: unknown;
      try {
        const inspection = inspector.inspect(request);
        body = { ...inspection, headers: Object.keys(request.headers).filter((name) => name.startsWith('remote')) };
      } catch (error) {
        body = { thrown: String(error) };
      }
      response.end(JSON.stringify(body));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    // From a chosen source address: the peer the inspector sees.
    const client = connect(`http://127.0.0.1:${port}`, {
      createConnection: () => netConnect({ host: '127.0.0.1', port, localAddress }),
    });
    try {
      const stream = client.request({ ':path': '/', ...headers });
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (text += chunk));
      await new Promise((done) => stream.on('end', done));
      return JSON.parse(text);
    } finally {
      client.close();
      await new Promise((done) => server.close(done));
    }
  }

  it("strips an untrusted peer's identity headers without throwing", async () => {
    expect(await inspectOverHttp2('127.0.0.2', { 'remote-user': 'admin', remote_groups: 'admins' })).toEqual({
      peer: '127.0.0.2',
      trusted: false,
      strippedHeaders: ['remote-user', 'remote_groups'],
      profile: null,
      headers: [],
    });
  });

  it('trusts the proxy over HTTP/2 too', async () => {
    expect(await inspectOverHttp2('127.0.0.1', { 'remote-user': 'alice' })).toMatchObject({
      trusted: true,
      headers: ['remote-user'],
    });
  });
});

describe('RequestInspector: an inspection that fails as the request arrives', () => {
  afterEach(() => jest.restoreAllMocks());

  it('is thrown by the next inspection of that request (the adapter hook reports it), once, and loses nothing', () => {
    const own = new RequestInspector(resolveTrustedHeaderOptions({}));
    const failure = new Error('the log is down');
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {
      throw failure;
    });
    const request = message('127.0.0.2', ['Host', 'app', 'Remote-User', 'admin']);
    expect(() => own.inspectOnArrival(request)).not.toThrow();
    // Another request in between neither receives the failure nor clears it.
    expect(own.inspect(message('127.0.0.1', ['Remote-User', 'alice'])).trusted).toBe(true);
    expect(() => own.inspect(request)).toThrow(failure);
    // The headers were removed before the warning, and the request still counts as an untrusted peer's.
    expect(own.inspect(request)).toMatchObject({ trusted: false, strippedHeaders: ['Remote-User'] });
    expect(request.rawHeaders).toEqual(['Host', 'app']);
  });

  it('leaves an inspection that succeeds as any other', () => {
    const own = new RequestInspector(resolveTrustedHeaderOptions({}));
    const request = message('127.0.0.1', ['Remote-User', 'alice']);
    own.inspectOnArrival(request);
    expect(own.identityOf(request)).toMatchObject({ kind: 'identity', identity: { username: 'alice' } });
  });
});
