import { jest } from '@jest/globals';
import { connect as connectTcp, createServer as createTcpServer, type Socket } from 'node:net';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { CertificateWorkshop, type Issued } from '../../../../test/support/certificates.js';
import {
  clientCertificateServerOptions,
  compileClientCertificateCheck,
  parseClientCertificateOptions,
  type ClientCertificateCheck,
} from './client-certificate.js';

const workshop = new CertificateWorkshop();
let caA: Issued;
let caB: Issued;
let serverCa: Issued;
let server: Issued;
const leaves: Record<string, Issued> = {};

beforeAll(() => {
  caA = workshop.authority('ca-a', 'Proxy CA');
  caB = workshop.authority('ca-b', 'Mesh CA');
  serverCa = workshop.authority('server-ca');
  server = workshop.leaf('server', serverCa, { cn: 'app', ips: ['127.0.0.1'], purpose: 'serverAuth' });
  leaves.proxy = workshop.leaf('proxy', caA, { cn: 'proxy', dns: ['proxy.internal'] });
  leaves.fromB = workshop.leaf('from-b', caB, { cn: 'proxy', dns: ['proxy.internal'] });
  leaves.other = workshop.leaf('other', caA, { cn: 'other', dns: ['other.internal'] });
  leaves.expired = workshop.leaf('expired', caA, { cn: 'proxy', days: -1 });
  // The same name as CA A, another key: what someone who read the CA certificate (public) could make.
  const impostor = workshop.authority('impostor', 'Proxy CA');
  leaves.impostor = workshop.leaf('from-impostor', impostor, { cn: 'proxy' });
  leaves.impostorCa = impostor;
  const intermediate = workshop.authority('intermediate', 'Proxy issuing CA', caA);
  const issued = workshop.leaf('via-intermediate', intermediate, { cn: 'proxy' });
  leaves.viaIntermediate = { ...issued, cert: issued.cert + intermediate.cert };
  leaves.crafted = workshop.leaf('crafted', caA, {
    cn: ['x\nCN=proxy'],
    dns: ['a, DNS:proxy.internal, DNS:b'],
  });
  leaves.twoNames = workshop.leaf('two-cns', caA, { cn: ['proxy', 'other'] });
});
afterAll(() => workshop.remove());

/**
 * A TLS server as the application runs it (certificate requested, not required) whose `ca` lists `ca`; returns
 * the server side of each connection a client opens with `client`'s certificate, or with none.
 */
async function tlsServer(
  ca: string[],
): Promise<{ accept(client?: Issued): Promise<TLSSocket>; close(): Promise<void> }> {
  const pending: ((socket: TLSSocket) => void)[] = [];
  const clients: TLSSocket[] = [];
  const tls: Server = createServer({
    key: server.key,
    cert: server.cert,
    requestCert: true,
    rejectUnauthorized: false,
    ca,
  });
  tls.on('secureConnection', (socket) => pending.shift()?.(socket));
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  const { port } = tls.address() as { port: number };
  return {
    accept(client) {
      const accepted = new Promise<TLSSocket>((resolve) => pending.push(resolve));
      const socket = connect({ port, host: '127.0.0.1', ca: serverCa.cert, cert: client?.cert, key: client?.key });
      socket.on('error', () => undefined);
      clients.push(socket);
      return accepted;
    },
    async close() {
      for (const socket of clients) socket.destroy();
      await new Promise((resolve) => tls.close(resolve));
    },
  };
}

function checkFor(allowedNames: string[] = [], ca: Issued = caA): ClientCertificateCheck {
  return compileClientCertificateCheck(parseClientCertificateOptions(ca.certFile, ca.cert, allowedNames));
}

describe('parseClientCertificateOptions', () => {
  it('keeps the file, the PEM and the allowed names (duplicates collapsed)', () => {
    const options = parseClientCertificateOptions('/etc/ca.pem', caA.cert, ['proxy', 'proxy.internal', 'proxy']);
    expect(options).toEqual({ caFile: '/etc/ca.pem', caPem: caA.cert, allowedNames: ['proxy', 'proxy.internal'] });
  });

  it('accepts a bundle of CA certificates', () => {
    expect(parseClientCertificateOptions('/etc/ca.pem', caA.cert + caB.cert, []).allowedNames).toEqual([]);
  });

  it.each([
    ['nothing', () => '', /\/etc\/ca\.pem holds no PEM certificate/],
    ['a broken block', () => '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /cannot be read/],
    ['a leaf certificate', () => leaves.proxy!.cert, /certificate 1 \("CN=proxy"\) is not a CA certificate/],
    ['a leaf after the CA', () => caA.cert + leaves.proxy!.cert, /certificate 2 .* is not a CA certificate/],
    ['a private key', () => caA.cert + caA.key, /holds a private key/],
  ])('refuses a CA file holding %s, naming the file', (_, pem, message) => {
    expect(() => parseClientCertificateOptions('/etc/ca.pem', pem(), [])).toThrow(message);
  });

  it.each([
    ['', /is empty/],
    ['   ', /is empty/],
    ['*.internal', /"\*\.internal" has a wildcard/],
    ['proxy,other', /"proxy,other" is not a plain CN or DNS name/],
    ['proxy ', /"proxy " is not a plain/],
    ['CN=proxy', /is not a plain/],
    ['a'.repeat(254), /is not a plain/],
  ])('refuses the allowed name %j', (name, message) => {
    expect(() => parseClientCertificateOptions('/etc/ca.pem', caA.cert, ['proxy', name])).toThrow(message);
  });

  it('accepts the names Kubernetes uses for its front proxy', () => {
    const names = ['front-proxy-client', 'system:auth-proxy', 'proxy.example.com', 'Front Proxy'];
    expect(parseClientCertificateOptions('/etc/ca.pem', caA.cert, names).allowedNames).toEqual(names);
  });
});

describe('clientCertificateServerOptions', () => {
  it('requests a certificate without failing the handshake, with the client CAs as the server trust store', () => {
    const options = parseClientCertificateOptions('/etc/ca.pem', caA.cert, []);
    expect(clientCertificateServerOptions(options)).toEqual({
      requestCert: true,
      rejectUnauthorized: false,
      ca: caA.cert,
    });
  });

  it('trusts the CAs of every profile given, each once', () => {
    const a = parseClientCertificateOptions('/etc/a.pem', caA.cert, ['proxy']);
    const b = parseClientCertificateOptions('/etc/b.pem', caB.cert, []);
    expect(clientCertificateServerOptions([a, b, a]).ca).toBe(caA.cert + caB.cert);
    expect(() => clientCertificateServerOptions([])).toThrow(/at least one client CA/);
  });
});

describe('compileClientCertificateCheck over real TLS connections (server trusts CA A and CA B)', () => {
  let tls: Awaited<ReturnType<typeof tlsServer>>;
  beforeAll(async () => (tls = await tlsServer([caA.cert, caB.cert, leaves.impostorCa!.cert])));
  afterAll(() => tls.close());
  afterEach(() => jest.restoreAllMocks());

  it('passes a certificate from the client CA', async () => {
    expect(checkFor()(await tls.accept(leaves.proxy))).toBeNull();
  });

  it('refuses a certificate from another CA that the server itself trusts', async () => {
    const socket = await tls.accept(leaves.fromB);
    expect(socket.authorized).toBe(true);
    expect(checkFor()(socket)).toBe('client certificate not issued by the client CA (issuer "CN=Mesh CA")');
  });

  it('refuses a CA impostor with the client CA name but another key', async () => {
    const socket = await tls.accept(leaves.impostor);
    expect(socket.authorized).toBe(true);
    expect(checkFor()(socket)).toMatch(/^client certificate not issued by the client CA/);
  });

  it('passes a chain through an intermediate CA signed by the client CA', async () => {
    expect(checkFor(['proxy'])(await tls.accept(leaves.viaIntermediate))).toBeNull();
  });

  it('refuses a connection without a certificate; the handshake completed', async () => {
    const socket = await tls.accept();
    expect(socket.encrypted).toBe(true);
    expect(checkFor()(socket)).toBe('no client certificate');
  });

  it('refuses an expired certificate from the client CA', async () => {
    expect(checkFor()(await tls.accept(leaves.expired))).toBe('client certificate not verified: CERT_HAS_EXPIRED');
  });

  it.each([
    [['proxy'], null],
    [['proxy.internal'], null],
    [['PROXY.Internal'], null],
    [['other', 'proxy'], null],
    [['Proxy'], 'client certificate name not allowed (CN "proxy", DNS ["proxy.internal"])'],
    [['proxy.internal.'], 'client certificate name not allowed (CN "proxy", DNS ["proxy.internal"])'],
    [['other'], 'client certificate name not allowed (CN "proxy", DNS ["proxy.internal"])'],
  ])('with allowed names %j the proxy certificate (CN proxy, DNS proxy.internal) gives %j', async (names, result) => {
    expect(checkFor(names)(await tls.accept(leaves.proxy))).toBe(result);
  });

  it('refuses a name outside the allowed list, and passes it when the list is empty', async () => {
    const socket = await tls.accept(leaves.other);
    expect(checkFor(['proxy', 'proxy.internal'])(socket)).toMatch(/^client certificate name not allowed/);
    expect(checkFor([])(socket)).toBeNull();
  });

  it('does not read an allowed name out of an escaped CN or subjectAltName value', async () => {
    const socket = await tls.accept(leaves.crafted);
    expect(checkFor(['proxy', 'proxy.internal', 'b'])(socket)).toMatch(/^client certificate name not allowed/);
  });

  it('matches a subject with two CNs by neither of them', async () => {
    expect(checkFor(['proxy'])(await tls.accept(leaves.twoNames))).toMatch(/name not allowed/);
  });

  it('examines a connection once and compares the validity window on every request', async () => {
    const socket = await tls.accept(leaves.proxy);
    const peerCertificate = jest.spyOn(socket, 'getPeerCertificate');
    const check = checkFor(['proxy']);
    for (let request = 0; request < 3; request++) expect(check(socket)).toBeNull();
    expect(peerCertificate).toHaveBeenCalledTimes(1);
    const notAfter = Date.parse(socket.getPeerX509Certificate()!.validTo);
    const notBefore = Date.parse(socket.getPeerX509Certificate()!.validFrom);
    jest.spyOn(Date, 'now').mockReturnValue(notAfter + 1000);
    expect(check(socket)).toBe('client certificate has expired');
    jest.spyOn(Date, 'now').mockReturnValue(notBefore - 1000);
    expect(check(socket)).toBe('client certificate is not valid yet');
  });

  it('keeps a refusal for the connection', async () => {
    const socket = await tls.accept(leaves.fromB);
    const check = checkFor();
    expect(check(socket)).toMatch(/not issued by the client CA/);
    expect(check(socket)).toMatch(/not issued by the client CA/);
  });
});

describe('compileClientCertificateCheck: what the TLS layer did not verify', () => {
  it('refuses a certificate from the client CA when the server trust store lacks that CA', async () => {
    const tls = await tlsServer([caB.cert]);
    try {
      const socket = await tls.accept(leaves.proxy);
      expect(socket.authorized).toBe(false);
      expect(checkFor()(socket)).toMatch(/^client certificate not verified: /);
    } finally {
      await tls.close();
    }
  });

  it('refuses anything that is not a TLS socket', async () => {
    const plain = createTcpServer();
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const socket: Socket = connectTcp((plain.address() as { port: number }).port, '127.0.0.1');
    try {
      const check = checkFor();
      expect(check(socket)).toBe('not a TLS connection');
      expect(check(undefined)).toBe('not a TLS connection');
      expect(check({ authorized: true, getPeerX509Certificate: () => leaves.proxy })).toBe('not a TLS connection');
    } finally {
      socket.destroy();
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
