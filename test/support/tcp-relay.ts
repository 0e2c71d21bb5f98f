import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP relay between the app and PostgreSQL, so tests can cut the database off (`cut`), make it hang
 * (`stall`) and bring it back (`restore`) without touching the server other tests use.
 */
export class TcpRelay {
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  private mode: 'open' | 'cut' | 'stall' = 'open';
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** A started relay to the database at `url`, and the URL that reaches that database through it. */
  static async inFrontOf(url: string): Promise<{ relay: TcpRelay; url: string }> {
    const target = new URL(url);
    const relay = new TcpRelay(target.hostname, Number(target.port || 5432));
    await relay.start();
    const relayed = new URL(url);
    relayed.hostname = '127.0.0.1';
    relayed.port = String(relay.port);
    return { relay, url: relayed.toString() };
  }

  async start(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    if (this.mode === 'cut') return void client.destroy();
    const upstream = connect(this.targetPort, this.targetHost);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    // While stalled, bytes are held, not lost, as on a network that pauses and resumes (TCP retransmits).
    const toServer: Buffer[] = [];
    const toClient: Buffer[] = [];
    this.flushers.add(() => {
      for (const chunk of toServer.splice(0)) upstream.write(chunk);
      for (const chunk of toClient.splice(0)) client.write(chunk);
    });
    client.on('data', (chunk) => (this.mode === 'open' ? upstream.write(chunk) : toServer.push(chunk)));
    upstream.on('data', (chunk) => (this.mode === 'open' ? client.write(chunk) : toClient.push(chunk)));
  }

  private readonly flushers = new Set<() => void>();

  /** Drops every connection and refuses new ones: the database is gone. */
  cut(): void {
    this.mode = 'cut';
    for (const socket of this.sockets) socket.destroy();
    this.flushers.clear();
  }

  /** Keeps connections open and holds every byte: the database (or the network) hangs. */
  stall(): void {
    this.mode = 'stall';
  }

  /** Forwards again, first delivering what was held during a stall. */
  restore(): void {
    this.mode = 'open';
    for (const flush of this.flushers) flush();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
