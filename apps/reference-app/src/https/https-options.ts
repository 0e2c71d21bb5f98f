import { readFileSync } from 'node:fs';
import type { ServerOptions as HttpsOptions } from 'node:https';
import { clientCertificateServerOptions, type TrustedHeaderOptions } from 'nestjs-trusted-header';
import { resolveTrustedHeaderOptions } from 'nestjs-trusted-header/building-blocks';

/** The server's own certificate and key, as files (HTTPS_CERT_FILE, HTTPS_KEY_FILE). */
export interface HttpsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export const HTTPS_VARIABLES = { certFile: 'HTTPS_CERT_FILE', keyFile: 'HTTPS_KEY_FILE' } as const;

/**
 * Reads HTTPS_CERT_FILE and HTTPS_KEY_FILE: both set serves HTTPS, neither serves HTTP. One without the other
 * is a half-done setup, refused so the app does not quietly listen in plain HTTP.
 */
export function httpsFilesFromEnv(env: NodeJS.ProcessEnv): HttpsFiles | null {
  const certFile = env[HTTPS_VARIABLES.certFile];
  const keyFile = env[HTTPS_VARIABLES.keyFile];
  if (certFile === undefined && keyFile === undefined) return null;
  for (const [name, value] of [
    [HTTPS_VARIABLES.certFile, certFile],
    [HTTPS_VARIABLES.keyFile, keyFile],
  ] as const) {
    if (value === undefined) {
      const other = name === HTTPS_VARIABLES.certFile ? HTTPS_VARIABLES.keyFile : HTTPS_VARIABLES.certFile;
      throw new Error(`${name} is not set but ${other} is; HTTPS needs both the certificate and its key`);
    }
    if (value.trim() === '') throw new Error(`${name} is empty; unset both HTTPS variables to serve plain HTTP`);
  }
  return { certFile: certFile!.trim(), keyFile: keyFile!.trim() };
}

/**
 * The TLS options of the server. When a trusted proxy profile proves itself with a client certificate, the
 * server asks for one and trusts the CAs of those profiles (each profile still accepts only its own CA); the
 * handshake completes without a certificate so the request gets a 401 with a reason. A client certificate
 * profile without HTTPS could never be satisfied, so that is a startup error rather than an app that refuses
 * every login.
 */
export function httpsServerOptions(files: HttpsFiles | null, trustedHeader: TrustedHeaderOptions): HttpsOptions | null {
  const clientCas = resolveTrustedHeaderOptions(trustedHeader).profiles.flatMap((profile) =>
    profile.clientCertificate === null ? [] : [profile.clientCertificate],
  );
  if (files === null) {
    if (clientCas.length > 0) {
      throw new Error(
        `${clientCas[0]!.caFile} is configured as a client CA, which needs HTTPS: set ${HTTPS_VARIABLES.certFile} and ${HTTPS_VARIABLES.keyFile}`,
      );
    }
    return null;
  }
  const options: HttpsOptions = {
    cert: readVariableFile(HTTPS_VARIABLES.certFile, files.certFile),
    key: readVariableFile(HTTPS_VARIABLES.keyFile, files.keyFile),
  };
  return clientCas.length === 0 ? options : { ...options, ...clientCertificateServerOptions(clientCas) };
}

function readVariableFile(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${variable}=${JSON.stringify(file)} cannot be read (${(error as NodeJS.ErrnoException).code})`, {
      cause: error,
    });
  }
}
