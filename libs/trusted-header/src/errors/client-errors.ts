import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { reasonForStatus } from './generic-reasons.js';

/** The parts of a Node HTTP server this needs. */
interface ServerLike {
  prependListener(event: 'clientError', listener: (error: NodeJS.ErrnoException, socket: Duplex) => void): unknown;
  on(event: 'checkExpectation', listener: (request: IncomingMessage, response: ServerResponse) => void): unknown;
  listenerCount(event: string): number;
}

/** What a socket may still carry when the parser fails on a later request of a keep-alive connection. */
type SocketWithResponse = Duplex & { _httpMessage?: { headersSent?: boolean } };

function answerFor(code: string | undefined): readonly [status: number, message: string] {
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'The request headers are too large'];
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'The request was not received in time'];
  return [400, 'The request is not valid HTTP'];
}

/**
 * Gives the library's error shape to what Node's HTTP parser refuses before any framework code runs: obs-fold
 * continuation lines, bare LF, NUL, whitespace before the colon, a header block over `maxHeaderSize` (431). Node
 * answers those with an empty body, Fastify with its own JSON without `reason`; likewise an unsupported `Expect`
 * header (417). Call it once with the HTTP
 * server (`shapeClientErrors(app.getHttpServer())`) before listening; it runs before any other listener and
 * leaves the socket closed, as Node's default handler does.
 */
export function shapeClientErrors(server: ServerLike): void {
  server.prependListener('clientError', (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const response = (socket as SocketWithResponse)._httpMessage;
    if (socket.writable && !response?.headersSent) {
      const [status, message] = answerFor(error.code);
      const body = JSON.stringify({ statusCode: status, message, reason: reasonForStatus(status) });
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  });
  // An `Expect` other than 100-continue: without a listener Node answers 417 with an empty body.
  if (server.listenerCount('checkExpectation') === 0) {
    server.on('checkExpectation', (_request, response) => {
      const body = JSON.stringify({
        statusCode: 417,
        message: 'Only Expect: 100-continue is supported',
        reason: reasonForStatus(417),
      });
      response.writeHead(417, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' }).end(body);
    });
  }
}
