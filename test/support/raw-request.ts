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
  const { port, localAddress, host = '127.0.0.1' } = options;
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host, localAddress });
    const chunks: Buffer[] = [];
    socket.setTimeout(30_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('connect', () => socket.write(requestBytes(options, 'close')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const parsed = parseResponse(raw, 0, 'to the end');
      if (parsed === null) {
        return reject(new Error(`no HTTP response: ${JSON.stringify(raw.toString('latin1', 0, 200))}`));
      }
      resolve(parsed.response);
    });
  });
}

/**
 * Several requests sent in one write on one connection (HTTP/1.1 pipelining), the last with `Connection: close`;
 * the responses in order. Each response must say where it ends (Content-Length or chunked).
 */
export function rawPipeline(options: {
  port: number;
  host?: string;
  requests: Omit<RawRequestOptions, 'port' | 'host' | 'localAddress'>[];
}): Promise<RawResponse[]> {
  const { port, host = '127.0.0.1', requests } = options;
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    const chunks: Buffer[] = [];
    socket.setTimeout(30_000, () => socket.destroy(new Error('pipelined requests timed out')));
    socket.on('connect', () => {
      const wire = requests.map((request, i) =>
        requestBytes({ ...request, port, host }, i === requests.length - 1 ? 'close' : 'keep-alive'),
      );
      socket.write(Buffer.concat(wire));
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const responses: RawResponse[] = [];
      let offset = 0;
      while (offset < raw.length) {
        const parsed = parseResponse(raw, offset, 'by its length');
        if (parsed === null) break;
        responses.push(parsed.response);
        offset = parsed.end;
      }
      if (responses.length !== requests.length) {
        return reject(new Error(`${responses.length} responses to ${requests.length} pipelined requests`));
      }
      resolve(responses);
    });
  });
}

function requestBytes(options: RawRequestOptions, connection: 'close' | 'keep-alive'): Buffer {
  const { port, path = '/me', method = 'GET', headers = [], host = '127.0.0.1', body } = options;
  const hostName = host.includes(':') ? `[${host}]` : host;
  const head = [`${method} ${path} HTTP/1.1`, `Host: ${hostName}:${port}`, `Connection: ${connection}`];
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
  return Buffer.concat(parts);
}

/**
 * The response starting at `offset`, and where it ends: its body runs to the end of `raw` ('to the end', a
 * connection closed after one response) or as far as its Content-Length or last chunk says ('by its length').
 */
function parseResponse(
  raw: Buffer,
  offset: number,
  bodyEnds: 'to the end' | 'by its length',
): { response: RawResponse; end: number } | null {
  const split = raw.indexOf('\r\n\r\n', offset);
  if (split < 0) return null;
  const [statusLine, ...headerLines] = raw.toString('latin1', offset, split).split('\r\n');
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
  let end = raw.length;
  if (responseHeaders['transfer-encoding'] === 'chunked') {
    const { bytes, length } = dechunk(bodyBytes);
    bodyBytes = bytes;
    end = split + 4 + length;
  } else if (bodyEnds === 'by its length') {
    const length = Number(responseHeaders['content-length'] ?? 0);
    bodyBytes = bodyBytes.subarray(0, length);
    end = split + 4 + length;
  }
  const text = bodyBytes.toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  const status = Number(statusLine!.split(' ')[1]);
  return { response: { status, headers: responseHeaders, headerLines: lines, body, text }, end };
}

/** The body of a chunked message, and how many bytes of `bytes` the message took (trailers not sent here). */
function dechunk(bytes: Buffer): { bytes: Buffer; length: number } {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    const size = parseInt(bytes.toString('latin1', at, lineEnd), 16);
    if (!size) return { bytes: Buffer.concat(out), length: lineEnd + 4 };
    out.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
