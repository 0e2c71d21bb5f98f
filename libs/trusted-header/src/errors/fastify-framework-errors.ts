import { reasonForStatus } from './generic-reasons.js';
import type { TrustedHeaderErrorBody } from './trusted-header.exception.js';

/** The parts of Fastify's reply this needs (Fastify is an optional peer: no import of its types). */
interface ReplyLike {
  code(status: number): ReplyLike;
  header(name: string, value: string): ReplyLike;
  send(body: unknown): unknown;
}

/**
 * Fastify's `frameworkErrors` option: Fastify answers a few requests itself, before routing and before any
 * hook, filter or guard runs (a malformed URL such as `/me%E0%A4%A`, a path parameter over `maxParamLength`).
 * Without this its own body goes out, without `reason`. Pass it where the adapter is made:
 * `new FastifyAdapter({ frameworkErrors: fastifyFrameworkErrors })`.
 */
export function fastifyFrameworkErrors(
  error: { readonly code?: string; readonly statusCode?: number },
  _request: unknown,
  reply: unknown,
): void {
  const status =
    error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 400;
  const message =
    error.code === 'FST_ERR_BAD_URL'
      ? 'The URL is not valid'
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'A path parameter is too long'
        : 'Bad request';
  const body: Omit<TrustedHeaderErrorBody, 'reason'> & { reason: string } = {
    statusCode: status,
    message,
    reason: reasonForStatus(status),
  };
  (reply as ReplyLike).code(status).header('content-type', 'application/json; charset=utf-8').send(body);
}
