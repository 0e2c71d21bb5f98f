import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** By lower-case name; of a header sent on several lines (Set-Cookie), the last. */
  headers: Record<string, string>;
  /** Every header line in order, names lower-cased: all the Set-Cookie lines, for instance. */
  headerLines: [name: string, value: string][];
  body: any;
  text: string;
}

export interface RawRequestOptions {
  port: number;
  path?: string;
  method?: string;
  /** Header lines in order, sent byte for byte (string values are sent as UTF-8). */
  headers?: [name: string, value: string | Buffer][];
  /** Source address of the client socket: 127.0.0.2 is an untrusted peer on this machine. */
  localAddress?: string;
  host?: string;
  /** Bytes sent after the header block, as they are (no Content-Length is added). */
  body?: string | Buffer;
}

/**
 * A minimal HTTP/1.1 client over a plain socket. HTTP client libraries normalise what they send (merge
 * duplicate headers, refuse some names, re-encode values); attacks need exact bytes on the wire.
 */
export function rawRequest(options: RawRequestOptions): Promise<RawResponse> {
  const { port, path = '/me', method = 'GET', headers = [], localAddress, host = '127.0.0.1', body } = options;
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host, localAddress });
    const chunks: Buffer[] = [];
    socket.setTimeout(30_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('connect', () => {
      const hostName = host.includes(':') ? `[${host}]` : host;
      const head = [`${method} ${path} HTTP/1.1`, `Host: ${hostName}:${port}`, 'Connection: close'];
      const parts: Buffer[] = [Buffer.from(head.join('\r\n') + '\r\n', 'latin1')];
      for (const [name, value] of headers) {
        parts.push(
          Buffer.from(`${name}: `, 'latin1'),
          typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
          Buffer.from('\r\n'),
        );
      }
      parts.push(Buffer.from('\r\n'));
      if (body !== undefined) parts.push(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
      socket.write(Buffer.concat(parts));
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP response: ${JSON.stringify(raw.toString('latin1', 0, 200))}`));
      const [statusLine, ...headerLines] = raw.toString('latin1', 0, split).split('\r\n');
      const responseHeaders: Record<string, string> = {};
      const lines: [string, string][] = [];
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        responseHeaders[name] = value;
        lines.push([name, value]);
      }
      let bodyBytes: Buffer = raw.subarray(split + 4);
      if (responseHeaders['transfer-encoding'] === 'chunked') bodyBytes = dechunk(bodyBytes);
      const text = bodyBytes.toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers: responseHeaders, headerLines: lines, body, text });
    });
  });
}

function dechunk(bytes: Buffer): Buffer {
  const out: Buffer[] = [];
  let rest = bytes;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.toString('latin1', 0, lineEnd), 16);
    if (!size) return Buffer.concat(out);
    out.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
    rest = rest.subarray(lineEnd + 2 + size + 2);
  }
}
