import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';
import { JWT_SECRET, type ServerReply, type ServerRequest } from './shared.js';

const here = dirname(fileURLToPath(import.meta.url));

export type Adapter = 'express' | 'fastify';

export const GUARD_HEADERS = {
  'Remote-User': 'bench-user',
  'Remote-Groups': 'staff,finance',
  'Remote-Email': 'bench@example.org',
};

/**
 * Every variant gets the same request: what the proxy forwards (identity headers) and a bearer token, so the
 * variants differ only in what the server does with them, not in how many bytes it parses.
 */
export const REQUEST_HEADERS = {
  ...GUARD_HEADERS,
  Authorization: `Bearer ${jwt.sign({ sub: 'bench-user' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h' })}`,
};

/** One bench/server.ts process: started, asked for counters over IPC, stopped. */
export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  /**
   * `nodeOptions` go before the script, e.g. `--cpu-prof`; `launcher` runs Node, e.g. valgrind with its options
   * (the process keeps Node's pid and its IPC channel).
   */
  static async start(
    variant: string,
    adapter: Adapter,
    env: NodeJS.ProcessEnv = {},
    nodeOptions: string[] = [],
    launcher: string[] = [],
  ): Promise<ServerProcess> {
    const script = join(here, 'server.js');
    // Port 0: the server takes a free port and names it. A port chosen here could be taken before the server
    // binds it, by an outgoing connection (the database pools' and wrk's take ports in the same range).
    const node = [process.execPath, '--expose-gc', ...nodeOptions, script, variant, adapter, '0'];
    const [command, ...args] = [...launcher, ...node] as [string, ...string[]];
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const ready = /READY (\d+)/.exec(output);
        if (ready !== null) resolve(Number(ready[1]));
      });
      child.once('exit', (code) => reject(new Error(`${variant}/${adapter} exited with ${code}`)));
    });
    return new ServerProcess(child, port);
  }

  ask(request: ServerRequest): Promise<ServerReply> {
    return new Promise((resolve) => {
      this.child.once('message', (reply) => resolve(reply as ServerReply));
      this.child.send(request);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** SIGTERM lets the server exit on its own (and write a --cpu-prof profile); SIGKILL does not wait for it. */
  async stop(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill(signal);
    await exited;
  }
}
