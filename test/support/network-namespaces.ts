import { execFileSync, spawn } from 'node:child_process';

/**
 * A small Linux network lab: a bridge in the root namespace (where the app listens, on the bridge's address) and
 * one network namespace per other host, each joined to the bridge by a veth pair with a static address. It
 * stands for a Docker network: the app, its proxy and any other container on the same network.
 */
export interface NetworkLab {
  /** The app's address on the bridge. */
  readonly appAddress: string;
  /** The subnet, as a CIDR (`10.x.y.0/24`). */
  readonly subnet: string;
  /** Address of each host by name. */
  readonly hosts: Readonly<Record<string, string>>;
  /** Runs `node -e code args...` inside the host's namespace; resolves with its stdout. */
  node(host: string, code: string, args: readonly string[]): Promise<string>;
  /** Removes the namespaces, the veth pairs and the bridge; never throws. */
  remove(): void;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function quietly(action: () => unknown): void {
  try {
    action();
  } catch {
    // Cleanup goes on: a part that is already gone (or was never made) is not an error.
  }
}

/** Why a lab cannot be built here, or null when it can: namespaces need root (CAP_NET_ADMIN) and iproute2. */
export function networkLabUnavailable(): string | null {
  if (process.platform !== 'linux') return `network namespaces are Linux only (platform ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (CAP_NET_ADMIN) to create network namespaces';
  try {
    ip('-V');
  } catch {
    return "needs iproute2's `ip` on PATH (apt-get install iproute2)";
  }
  const probe = `thprobe${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('link', 'add', probe, 'type', 'bridge');
    return null;
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim() || String(error);
    return `cannot create a network namespace and a bridge here (no CAP_NET_ADMIN?): ${detail}`;
  } finally {
    quietly(() => ip('link', 'del', probe));
    quietly(() => ip('netns', 'del', probe));
  }
}

/** A /24 of 10.0.0.0/8 derived from the pid and not routed here yet, so parallel runs do not collide. */
function freeSubnet(): string {
  const routes = ip('-4', 'route', 'show', 'table', 'all');
  for (let attempt = 0; attempt < 256; attempt++) {
    const n = (process.pid + attempt) % (50 * 256);
    const prefix = `10.${200 + Math.floor(n / 256)}.${n % 256}`;
    if (!routes.includes(`${prefix}.`)) return prefix;
  }
  throw new Error('no free 10.200-249.x.0/24 subnet for the network lab');
}

/**
 * Builds the lab: the bridge gets `<prefix>.1`, the hosts `<prefix>.2`, `<prefix>.3`, ... in the order given.
 * Names carry the pid, so a lab left by a killed run never blocks the next one; a failure half way removes what
 * was made.
 */
export function createNetworkLab(hostNames: readonly string[]): NetworkLab {
  const tag = `th${process.pid}`;
  const bridge = `${tag}br`;
  const prefix = freeSubnet();
  const namespaces = hostNames.map((name) => `${tag}-${name}`);
  const hosts: Record<string, string> = {};
  const remove = () => {
    for (const namespace of namespaces) quietly(() => ip('netns', 'del', namespace));
    hostNames.forEach((_, index) => quietly(() => ip('link', 'del', `${tag}v${index}`)));
    quietly(() => ip('link', 'del', bridge));
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${prefix}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    hostNames.forEach((name, index) => {
      const namespace = namespaces[index]!;
      const outside = `${tag}v${index}`;
      const inside = `${tag}n${index}`;
      const address = `${prefix}.${index + 2}`;
      ip('netns', 'add', namespace);
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      ip('link', 'set', outside, 'master', bridge);
      ip('link', 'set', outside, 'up');
      ip('link', 'set', inside, 'netns', namespace);
      ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', inside);
      ip('-n', namespace, 'link', 'set', inside, 'up');
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
      hosts[name] = address;
    });
  } catch (error) {
    remove();
    throw error;
  }
  return {
    appAddress: `${prefix}.1`,
    subnet: `${prefix}.0/24`,
    hosts,
    remove,
    node(host, code, args) {
      const index = hostNames.indexOf(host);
      if (index < 0) throw new Error(`no host ${host} in the network lab`);
      return new Promise((resolve, reject) => {
        const child = spawn('ip', ['netns', 'exec', namespaces[index]!, process.execPath, '-e', code, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => (stderr += chunk));
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          if (code === 0) resolve(stdout);
          else reject(new Error(`node in ${host}'s namespace exited with ${code}: ${stderr.trim()}`));
        });
      });
    },
  };
}
