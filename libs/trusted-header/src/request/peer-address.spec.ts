import { Agent, createServer, IncomingMessage, request as httpRequest, type Server } from 'node:http';
import { createServer as createNetServer, Socket, type AddressInfo, type Server as NetServer } from 'node:net';
import { peerAddressOf } from './peer-address.js';

/** Each request's answer from peerAddressOf, beside what its own socket reports, in the order they came. */
interface Seen {
  readonly kept: string | undefined;
  readonly socket: string | undefined;
  readonly port: number | undefined;
}

async function listen(seen: Seen[]): Promise<Server> {
  const server = createServer((message, response) => {
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

  it('follows a socket that connects anew, to another peer, as Node does', async () => {
    // A socket the application connected itself and hands to its HTTP server (a tunnel agent), connected first
    // to 127.0.0.1 and then, after closing, to 127.0.0.3.
    const listening = await Promise.all(
      ['127.0.0.1', '127.0.0.3'].map(
        (host) =>
          new Promise<NetServer>((resolve) => {
            const peer = createNetServer((connection) => connection.end());
            peer.listen(0, host, () => resolve(peer));
          }),
      ),
    );
    const socket = new Socket();
    const connectTo = (peer: NetServer) =>
      new Promise<void>((resolve) =>
        socket.connect((peer.address() as AddressInfo).port, (peer.address() as AddressInfo).address, resolve),
      );
    try {
      await connectTo(listening[0]!);
      expect(peerAddressOf(new IncomingMessage(socket))).toBe('127.0.0.1');
      socket.destroy();
      await new Promise((resolve) => socket.once('close', resolve));
      await connectTo(listening[1]!);
      expect(peerAddressOf(new IncomingMessage(socket))).toBe('127.0.0.3');
    } finally {
      socket.destroy();
      for (const peer of listening) peer.close();
    }
  });

  it('answers a remoteAddress the application redefined on the socket, whatever Node has filled in since', async () => {
    const seen: Seen[] = [];
    const server = await listen(seen);
    // A PROXY-protocol wrapper: the socket answers the client behind the load balancer.
    server.on('connection', (socket: Socket) => {
      Object.defineProperty(socket, 'remoteAddress', { get: () => '203.0.113.7', configurable: true });
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await get(server, agent, '127.0.0.1');
      // Something reads one of Node's own getters in between: Node fills its field with the TCP peer.
      server.once('request', (message: IncomingMessage) => void message.socket.remoteFamily);
      await get(server, agent, '127.0.0.1');
      await get(server, agent, '127.0.0.1');
    } finally {
      agent.destroy();
      server.close();
    }
    expect(seen.map((entry) => entry.kept)).toEqual(['203.0.113.7', '203.0.113.7', '203.0.113.7']);
  });

  it('answers what the socket reports for a socket without an address (closed) or of another kind', () => {
    expect(peerAddressOf(new IncomingMessage(new Socket()))).toBeUndefined();
    const socket = Object.freeze({ remoteAddress: '10.0.0.1' });
    expect(peerAddressOf(new IncomingMessage(socket as unknown as Socket))).toBe('10.0.0.1');
    const http2Like = { socket: Object.freeze({ remoteAddress: '10.0.0.2', _peername: { address: '10.9.9.9' } }) };
    expect(peerAddressOf(http2Like as unknown as IncomingMessage)).toBe('10.0.0.2');
    expect(peerAddressOf({ socket: null } as unknown as IncomingMessage)).toBeUndefined();
  });
});
