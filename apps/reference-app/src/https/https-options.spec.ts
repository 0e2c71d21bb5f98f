import { CertificateWorkshop, type Issued } from '../../../../test/support/certificates.js';
import { loadAppConfig } from '../config/app-config.js';
import { httpsFilesFromEnv, httpsServerOptions } from './https-options.js';

const workshop = new CertificateWorkshop();
let ca: Issued;
let server: Issued;

beforeAll(() => {
  ca = workshop.authority('proxy-ca');
  server = workshop.leaf('server', ca, { cn: 'localhost', dns: ['localhost'], purpose: 'serverAuth' });
});
afterAll(() => workshop.remove());

describe('HTTPS_CERT_FILE and HTTPS_KEY_FILE', () => {
  it('serve plain HTTP when neither is set', () => {
    expect(loadAppConfig({}).https).toBeNull();
    expect(httpsServerOptions(null, {})).toBeNull();
  });

  it.each([
    [{ HTTPS_CERT_FILE: '/c.pem' }, /^HTTPS_KEY_FILE is not set but HTTPS_CERT_FILE is/],
    [{ HTTPS_KEY_FILE: '/k.pem' }, /^HTTPS_CERT_FILE is not set but HTTPS_KEY_FILE is/],
    [{ HTTPS_CERT_FILE: ' ', HTTPS_KEY_FILE: '/k.pem' }, /^HTTPS_CERT_FILE is empty/],
  ])('stop startup when only one is usable: %j', (env, message) => {
    expect(() => loadAppConfig(env)).toThrow(message);
  });

  it('name the variable whose file cannot be read', () => {
    const files = httpsFilesFromEnv({ HTTPS_CERT_FILE: server.certFile, HTTPS_KEY_FILE: '/nonexistent/key.pem' });
    expect(() => httpsServerOptions(files, {})).toThrow(
      'HTTPS_KEY_FILE="/nonexistent/key.pem" cannot be read (ENOENT)',
    );
  });

  it('serve HTTPS without asking for a client certificate when no profile needs one', () => {
    const files = httpsFilesFromEnv({ HTTPS_CERT_FILE: server.certFile, HTTPS_KEY_FILE: server.keyFile });
    expect(httpsServerOptions(files, {})).toEqual({ cert: server.cert, key: server.key });
  });

  it('ask for a client certificate from the profile CA, completing handshakes without one', () => {
    const files = httpsFilesFromEnv({ HTTPS_CERT_FILE: server.certFile, HTTPS_KEY_FILE: server.keyFile });
    const options = httpsServerOptions(files, { clientCertificate: { caFile: ca.certFile } });
    expect(options).toEqual({
      cert: server.cert,
      key: server.key,
      requestCert: true,
      rejectUnauthorized: false,
      ca: ca.cert,
    });
  });

  it('refuse a client certificate profile without HTTPS, which no proxy could satisfy', () => {
    expect(() => httpsServerOptions(null, { clientCertificate: { caFile: ca.certFile } })).toThrow(
      /is configured as a client CA, which needs HTTPS: set HTTPS_CERT_FILE and HTTPS_KEY_FILE/,
    );
  });
});
