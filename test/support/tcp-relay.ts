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
    if (this.mode === 'stall') return; // accepted, never answered
    const upstream = connect(this.targetPort, this.targetHost);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.on('data', (chunk) => {
      if (this.mode === 'open') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (this.mode === 'open') client.write(chunk);
    });
  }

  /** Drops every connection and refuses new ones: the database is gone. */
  cut(): void {
    this.mode = 'cut';
    for (const socket of this.sockets) socket.destroy();
  }

  /** Keeps connections open but forwards nothing: the database hangs. */
  stall(): void {
    this.mode = 'stall';
  }

  restore(): void {
    this.mode = 'open';
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
