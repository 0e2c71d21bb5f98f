import { spawnSync } from 'node:child_process';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { trustedHeaderOptionsFromEnv, type TrustedHeaderOptions } from 'nestjs-trusted-header';
import { AppModule } from '../apps/reference-app/src/app.module.js';
import type { HttpAdapterName } from '../apps/reference-app/src/config/app-config.js';
import { configureApp } from '../apps/reference-app/src/configure-app.js';
import { createHttpAdapter, nestApplicationOptions } from '../apps/reference-app/src/create-app.js';
import { httpsFilesFromEnv, httpsServerOptions } from '../apps/reference-app/src/https/https-options.js';
import { CapturedLogger } from './support/captured-logger.js';
import { CertificateWorkshop, type Issued } from './support/certificates.js';
import { freePort } from './support/free-port.js';
import { startNginx, type RunningProxy } from './support/proxies.js';
import { rawRequest, type RawResponse } from './support/raw-request.js';
import { ADAPTERS } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * Kubernetes-style proxy authentication over real TLS: the app serves HTTPS and trusts a request only when the
 * connection presents a client certificate from the proxy CA with an allowed name; nginx is the proxy, with
 * `proxy_ssl_certificate` choosing what it presents. Each nginx server below presents one certificate.
 */
/** nginx is the proxy and openssl makes the certificates: without them the file says so and skips. */
const missing = ['nginx', 'openssl'].filter((binary) => spawnSync('sh', ['-c', `command -v ${binary}`]).status !== 0);
const describeWithTools = missing.length === 0 ? describe : describe.skip;
const workshop = new CertificateWorkshop();
const logs = new CapturedLogger();
let certs: Record<'proxyCa' | 'otherCa' | 'serverCa' | 'server' | 'proxy' | 'fromOtherCa' | 'otherName', Issued>;

beforeAll(() => {
  if (missing.length > 0) return;
  const proxyCa = workshop.authority('proxy-ca', 'Proxy CA');
  const otherCa = workshop.authority('other-ca', 'Other CA');
  const serverCa = workshop.authority('server-ca', 'Server CA');
  certs = {
    proxyCa,
    otherCa,
    serverCa,
    server: workshop.leaf('server', serverCa, { cn: 'localhost', dns: ['localhost'], purpose: 'serverAuth' }),
    proxy: workshop.leaf('proxy', proxyCa, { cn: 'proxy', dns: ['proxy.internal'] }),
    fromOtherCa: workshop.leaf('from-other-ca', otherCa, { cn: 'proxy', dns: ['proxy.internal'] }),
    otherName: workshop.leaf('other-name', proxyCa, { cn: 'intruder', dns: ['intruder.internal'] }),
  };
});
afterAll(() => workshop.remove());

/** The environment an operator writes: the proxy CA and the one name its certificate must carry. */
function environment(): NodeJS.ProcessEnv {
  return {
    AUTH_PROXY_CLIENT_CA_FILE: certs.proxyCa.certFile,
    AUTH_PROXY_CLIENT_ALLOWED_NAMES: 'proxy.internal',
    AUTH_PROXY_CREATE_UNKNOWN_USER: 'true',
    // Every refusal logged, so each case can be matched to its line.
    AUTH_PROXY_UNTRUSTED_WARNING_INTERVAL_SECONDS: '0',
    HTTPS_CERT_FILE: certs.server.certFile,
    HTTPS_KEY_FILE: certs.server.keyFile,
  };
}

/** The reference app's module over HTTPS, its TLS options built the way main.ts builds them. */
async function startHttpsApp(adapter: HttpAdapterName, env: NodeJS.ProcessEnv, dataSource: TestDatabase) {
  const trustedHeader: TrustedHeaderOptions = trustedHeaderOptionsFromEnv(env);
  const https = httpsServerOptions(httpsFilesFromEnv(env), trustedHeader);
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot({ trustedHeader, dataSource: await dataSource.options() })],
  })
    .setLogger(logs)
    .compile();
  const app: INestApplication = moduleRef.createNestApplication(
    createHttpAdapter(adapter, https),
    nestApplicationOptions(https, logs),
  );
  // Swagger UI on Fastify cannot load under Jest's module loader (see test/support/test-app.ts).
  configureApp(app, trustedHeader, adapter === 'express');
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as { port: number }).port };
}

/**
 * One nginx server block: a plain-HTTP front that forwards over TLS presenting `client` (or nothing). Blocks
 * with the same proxy_pass address share nginx's upstream and its saved TLS session; a resumed session carries
 * the certificate of the handshake that created it. The refused blocks stand for other machines, which hold no
 * such session, so they never resume one.
 */
function nginxServer(port: string, client: Issued | null, resumeSessions: boolean): string {
  const certificate =
    client === null
      ? ''
      : `    proxy_ssl_certificate ${client.certFile};\n    proxy_ssl_certificate_key ${client.keyFile};\n`;
  return `server {
  listen ${port};
  location / {
    proxy_pass https://127.0.0.1:3000;
${certificate}    proxy_ssl_trusted_certificate ${certs.serverCa.certFile};
    proxy_ssl_verify on;
    proxy_ssl_name localhost;
    proxy_ssl_session_reuse ${resumeSessions ? 'on' : 'off'};
    # The proxy decides who the user is; whatever the client sent under these names is replaced or dropped.
    proxy_set_header Remote-User alice;
    proxy_set_header Remote-Groups "";
    proxy_set_header Remote-Email "";
    proxy_set_header Remote-Name "";
  }
}
`;
}

/** A direct HTTPS request (no client certificate) to the app, asserting an identity as only a proxy may. */
function directRequest(port: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/me',
        servername: 'localhost',
        ca: certs.serverCa.cert,
        headers: { 'Remote-User': 'alice' },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

it('the environment gives the code option shape', () => {
  expect(trustedHeaderOptionsFromEnv(environment()).clientCertificate).toEqual({
    caFile: certs.proxyCa.certFile,
    allowedNames: ['proxy.internal'],
  });
});

describeWithTools.each(ADAPTERS)(
  `client certificates through nginx (%s)${missing.length > 0 ? ` [skipped: ${missing.join(', ')} not installed]` : ''}`,
  (adapter) => {
    let database: TestDatabase;
    let app: INestApplication;
    let appPort: number;
    let nginx: RunningProxy;
    const ports = { fromOtherCa: 0, otherName: 0, none: 0 };

    beforeAll(async () => {
      database = await createTestDatabase();
      ({ app, port: appPort } = await startHttpsApp(adapter, environment(), database));
      ports.fromOtherCa = await freePort();
      ports.otherName = await freePort();
      ports.none = await freePort();
      const config = [
        nginxServer('127.0.0.1:8080', certs.proxy, true),
        nginxServer(`127.0.0.1:${ports.fromOtherCa}`, certs.fromOtherCa, false),
        nginxServer(`127.0.0.1:${ports.otherName}`, certs.otherName, false),
        nginxServer(`127.0.0.1:${ports.none}`, null, false),
      ].join('\n');
      nginx = await startNginx({ app: appPort, auth: 0 }, config);
    });
    afterAll(async () => {
      await nginx?.close();
      await app?.close();
      await database?.close();
    });

    const through = (port: number, headers: [string, string][] = []): Promise<RawResponse> =>
      rawRequest({ port, path: '/me', headers });
    const refusals = (pattern: RegExp) => logs.matching('warn', pattern).length;
    /** The count of matching warnings once it has grown past `before`, or after 2 s (a loaded machine). */
    const refusalsAfter = async (pattern: RegExp, before: number) => {
      const deadline = Date.now() + 2_000;
      while (refusals(pattern) <= before && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const count = refusals(pattern);
      // What was logged instead, for whoever reads a failure.
      if (count <= before) console.log(logs.matching('warn', /untrusted_proxy|client_certificate/).slice(-5));
      return count;
    };

    it('logs the user in when nginx presents the proxy certificate, on every new TLS connection', async () => {
      for (let i = 0; i < 3; i++) {
        const response = await through(nginx.port);
        expect(response.status).toBe(200);
        expect(response.body.username).toBe('alice');
      }
    });

    it('keeps the identity nginx sets: a Remote-User sent by the client through nginx is replaced', async () => {
      const response = await through(nginx.port, [
        ['Remote-User', 'admin'],
        ['Remote-Groups', 'admin'],
      ]);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ username: 'alice', externalGroups: [], isAdmin: false });
    });

    it('refuses a certificate from another CA: 401 untrusted_proxy, logged as client_certificate_rejected', async () => {
      const before = refusals(/client_certificate_rejected \(client certificate not verified/);
      const response = await through(ports.fromOtherCa);
      expect(response.status).toBe(401);
      expect(response.body.reason).toBe('untrusted_proxy');
      expect(await refusalsAfter(/client_certificate_rejected \(client certificate not verified/, before)).toBe(
        before + 1,
      );
    });

    it('refuses a certificate from the proxy CA whose name is not allowed', async () => {
      const pattern = /client_certificate_rejected \(client certificate name not allowed \(CN "intruder"/;
      const before = refusals(pattern);
      const response = await through(ports.otherName);
      expect(response.status).toBe(401);
      expect(response.body.reason).toBe('untrusted_proxy');
      expect(await refusalsAfter(pattern, before)).toBe(before + 1);
    });

    it('refuses nginx without a client certificate', async () => {
      const before = refusals(/client_certificate_rejected \(no client certificate\)/);
      const response = await through(ports.none);
      expect(response.status).toBe(401);
      expect(response.body.reason).toBe('untrusted_proxy');
      expect(await refusalsAfter(/client_certificate_rejected \(no client certificate\)/, before)).toBe(before + 1);
    });

    it('answers a direct client without a certificate with 401 and a reason: the handshake completes', async () => {
      const before = refusals(/client_certificate_rejected \(no client certificate\)/);
      const response = await directRequest(appPort);
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ statusCode: 401, reason: 'untrusted_proxy' });
      expect(await refusalsAfter(/client_certificate_rejected \(no client certificate\)/, before)).toBe(before + 1);
    });

    it('serves only TLS: a plain HTTP request carries no identity', async () => {
      const socket = connect({ host: '127.0.0.1', port: appPort, servername: 'localhost', ca: certs.serverCa.cert });
      await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      expect(socket.getPeerX509Certificate()?.subject).toBe('CN=localhost');
      socket.destroy();
      await expect(rawRequest({ port: appPort, path: '/me', headers: [['Remote-User', 'alice']] })).rejects.toThrow();
    });
  },
);
