import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { rawRequest } from './raw-request.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The proxy configuration exactly as docs/proxies/ ships it. */
export function proxyConfig(file: string): string {
  return readFileSync(join(root, 'docs/proxies', file), 'utf8');
}

export interface RunningProxy {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface Ports {
  app: number;
  auth: number;
}

/** Swaps the addresses the docs use (app :3000, Authelia :9091, proxy :808x) for this test's ports. */
function withPorts(config: string, docsProxyPort: number, proxyPort: number, ports: Ports): string {
  return config
    .replaceAll('127.0.0.1:3000', `127.0.0.1:${ports.app}`)
    .replaceAll('127.0.0.1:9091', `127.0.0.1:${ports.auth}`)
    .replaceAll(`127.0.0.1:${docsProxyPort}`, `127.0.0.1:${proxyPort}`);
}

async function started(child: ChildProcess, port: number, name: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output()}`);
    const answered = await rawRequest({ port, path: '/health' }).catch(() => null);
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`${name} did not start:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function launch(name: string, command: string, args: string[], port: number, dir: string): Promise<RunningProxy> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const close = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return started(child, port, name, () => output).then(
    () => ({ name, port, close }),
    async (error) => {
      await close();
      throw error;
    },
  );
}

/**
 * nginx with docs/proxies/nginx.conf (or a variant of it) as its only server, on `port` when the caller had to
 * know it beforehand (to tell the app its own address), on a free port otherwise.
 */
export async function startNginx(
  ports: Ports,
  config = proxyConfig('nginx.conf'),
  port?: number,
): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'nginx-'));
  port ??= await freePort();
  writeFileSync(join(dir, 'site.conf'), withPorts(config, 8080, port, ports));
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
error_log stderr warn;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`,
  );
  return launch('nginx', 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], port, dir);
}

/** Caddy with docs/proxies/Caddyfile (or a variant), its admin endpoint off so instances can run side by side. */
export async function startCaddy(ports: Ports, config = proxyConfig('Caddyfile')): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'caddy-'));
  const port = await freePort();
  writeFileSync(join(dir, 'Caddyfile'), `{\n\tadmin off\n}\n\n${withPorts(config, 8081, port, ports)}`);
  return launch('caddy', 'caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], port, dir);
}

export const APACHE_USERS = { bob: 'bob-password' } as const;

/** Apache httpd with docs/proxies/apache.conf (or a variant) and a password file holding APACHE_USERS. */
export async function startApache(ports: Ports, config = proxyConfig('apache.conf')): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'apache-'));
  chmodSync(dir, 0o755); // the workers run as www-data and read the password file
  const port = await freePort();
  mkdirSync(join(dir, 'logs'));
  const passwords = join(dir, 'app.htpasswd');
  for (const [user, password] of Object.entries(APACHE_USERS)) {
    execFileSync(
      'htpasswd',
      ['-bB', ...(Object.keys(APACHE_USERS)[0] === user ? ['-c'] : []), passwords, user, password],
      { stdio: 'ignore' },
    );
  }
  chmodSync(passwords, 0o644);
  const site = withPorts(config, 8082, port, ports).replace('/etc/apache2/app.htpasswd', passwords);
  const modules = [
    'mpm_event',
    'authn_core',
    'authn_file',
    'authz_core',
    'authz_user',
    'auth_basic',
    'headers',
    'proxy',
    'proxy_http',
  ];
  writeFileSync(
    join(dir, 'httpd.conf'),
    `ServerRoot "${dir}"
ServerName localhost
PidFile "${dir}/httpd.pid"
ErrorLog "${dir}/logs/error.log"
LogLevel warn
${modules.map((module) => `LoadModule ${module}_module /usr/lib/apache2/modules/mod_${module}.so`).join('\n')}
User www-data
Group www-data
${site}
`,
  );
  return launch('apache', 'apache2', ['-f', join(dir, 'httpd.conf'), '-DFOREGROUND'], port, dir);
}
