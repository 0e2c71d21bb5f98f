import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its key, as files (for nginx and env vars) and as PEM text (for node:tls). */
export interface Issued {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

export interface LeafOptions {
  /** Subject CN; several give a subject with several CN attributes. */
  readonly cn: string | readonly string[];
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  /** Validity from now; a negative number gives a certificate that has already expired. */
  readonly days?: number;
  readonly purpose?: 'clientAuth' | 'serverAuth';
}

/**
 * Real certificates made by the openssl command line in a temporary directory, so the tests exercise what an
 * operator's CA produces rather than objects built to please the code under test. Keys are P-256: fast to make.
 */
export class CertificateWorkshop {
  readonly dir = mkdtempSync(join(tmpdir(), 'certificates-'));
  private serial = 1;

  /** A CA certificate: self-signed, or an intermediate CA when `issuer` is given. */
  authority(name: string, cn = `${name} test CA`, issuer?: Issued): Issued {
    const extensions =
      '[ext]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n' +
      'subjectKeyIdentifier = hash\n' +
      (issuer ? 'authorityKeyIdentifier = keyid\n' : '');
    const config = this.write(
      `${name}.cnf`,
      `[req]\ndistinguished_name = dn\nx509_extensions = ext\n[dn]\n${extensions}`,
    );
    const newKey = [
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      this.path(`${name}.key`),
    ];
    if (!issuer) {
      this.openssl(
        ['req', '-x509', '-config', config, ...newKey, '-out', this.path(`${name}.pem`)].concat([
          '-subj',
          `/CN=${cn}`,
          '-days',
          '30',
        ]),
      );
      return this.read(name);
    }
    const request = this.path(`${name}.csr`);
    this.openssl(['req', '-new', '-config', config, ...newKey, '-out', request, '-subj', `/CN=${cn}`]);
    this.sign(name, request, issuer, config, 30);
    return this.read(name);
  }

  /** A certificate signed by `issuer`, for a client (the proxy) unless `purpose` says server. */
  leaf(name: string, issuer: Issued, options: LeafOptions): Issued {
    const cns = typeof options.cn === 'string' ? [options.cn] : options.cn;
    const altNames = [
      ...(options.dns ?? []).map((dns, i) => `DNS.${i + 1} = ${dns}`),
      ...(options.ips ?? []).map((ip, i) => `IP.${i + 1} = ${ip}`),
    ];
    const extensions =
      '[ext]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n' +
      `extendedKeyUsage = ${options.purpose ?? 'clientAuth'}\nauthorityKeyIdentifier = keyid\n` +
      (altNames.length > 0 ? `subjectAltName = @alt\n[alt]\n${altNames.join('\n')}\n` : '');
    const extFile = this.write(`${name}.ext`, extensions);
    const request = this.path(`${name}.csr`);
    this.openssl(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
        .concat(['-keyout', this.path(`${name}.key`), '-out', request])
        .concat(['-subj', cns.map((cn) => `/CN=${cn}`).join('')]),
    );
    this.sign(name, request, issuer, extFile, options.days ?? 30);
    return this.read(name);
  }

  private sign(name: string, request: string, issuer: Issued, extFile: string, days: number): void {
    this.openssl(
      ['x509', '-req', '-in', request, '-CA', issuer.certFile, '-CAkey', issuer.keyFile]
        .concat(['-set_serial', String(this.serial++), '-days', String(days)])
        .concat(['-extfile', extFile, '-extensions', 'ext', '-out', this.path(`${name}.pem`)]),
    );
  }

  path(file: string): string {
    return join(this.dir, file);
  }

  write(file: string, text: string): string {
    writeFileSync(this.path(file), text);
    return this.path(file);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private read(name: string): Issued {
    const certFile = this.path(`${name}.pem`);
    const keyFile = this.path(`${name}.key`);
    return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}
