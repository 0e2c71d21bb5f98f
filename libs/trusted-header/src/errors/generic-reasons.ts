/**
 * Reasons for errors the HTTP layers raise themselves (Node's parser, Fastify before routing, Nest, Express and
 * Fastify's body parsers), by status: one table for the error-shape filter, shapeClientErrors and
 * fastifyFrameworkErrors, so one status never has two reasons.
 */
const REASON_OF_STATUS: Readonly<Record<number, string>> = Object.freeze({
  400: 'bad_request',
  401: 'missing_identity',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  417: 'expectation_failed',
  429: 'too_many_requests',
  431: 'header_fields_too_large',
});

/** The reason of an error the library did not decide itself: by status, `internal_error` for 5xx. */
export function reasonForStatus(status: number): string {
  return REASON_OF_STATUS[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
}
