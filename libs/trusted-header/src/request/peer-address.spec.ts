import { Agent, createServer, IncomingMessage, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { peerAddressOf } from './peer-address.js';

/** Each request's answer from peerAddressOf, beside what its own socket reports, in the order they came. */
interface Seen {
  readonly kept: string | undefined;
  readonly socket: string | undefined;
  readonly port: number | undefined;
}

async function listen(seen: Seen[], before?: (message: IncomingMessage) => void): Promise<Server> {
  const server = createServer((message, response) => {
    before?.(message);
    seen.push({ kept: peerAddressOf(message), socket: message.socket.remoteAddress, port: message.socket.remotePort });
    response.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function get(server: Server, agent: Agent, localAddress: string): Promise<void> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, agent, localAddress, path: '/' }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('peerAddressOf', () => {
  it('answers each connection with its own peer, however the requests of several connections interleave', async () => {
    const seen: Seen[] = [];
    const server = await listen(seen);
    const untrusted = new Agent({ keepAlive: true, maxSockets: 1 });
    const trusted = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let round = 0; round < 4; round++) {
        await get(server, untrusted, '127.0.0.2');
        await get(server, trusted, '127.0.0.1');
        await Promise.all([get(server, trusted, '127.0.0.1'), get(server, untrusted, '127.0.0.2')]);
      }
    } finally {
      untrusted.destroy();
      trusted.destroy();
      server.close();
    }
    expect(seen).toHaveLength(16);
    // Two keep-alive connections, each reused for all its requests: the address kept is that connection's.
    expect(new Set(seen.map((entry) => entry.port)).size).toBe(2);
    for (const entry of seen) expect(entry.kept).toBe(entry.socket);
    expect(new Set(seen.map((entry) => entry.kept))).toEqual(new Set(['127.0.0.1', '127.0.0.2']));
  });

  it('keeps nothing for a socket that has no address (already closed): it stays without a peer', () => {
    const socket = new Socket();
    const message = new IncomingMessage(socket);
    expect(socket.remoteAddress).toBeUndefined();
    expect(peerAddressOf(message)).toBeUndefined();
    expect(Object.getOwnPropertySymbols(socket).map(String)).not.toContain('Symbol(trusted-header:peer-address)');
  });

  it('reads through, and writes nothing on, what is not a Node socket of an HTTP/1 request', () => {
    const socket = Object.freeze({ remoteAddress: '10.0.0.1' });
    const message = new IncomingMessage(socket as unknown as Socket);
    expect(peerAddressOf(message)).toBe('10.0.0.1');
    const http2Like = { socket: Object.freeze({ remoteAddress: '10.0.0.2' }) } as unknown as IncomingMessage;
    expect(peerAddressOf(http2Like)).toBe('10.0.0.2');
    expect(peerAddressOf({ socket: null } as unknown as IncomingMessage)).toBeUndefined();
  });
});
