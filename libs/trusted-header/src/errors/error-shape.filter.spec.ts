import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { ConflictError, DatabaseUnavailableError, UserDisabledError } from './domain-errors.js';
import { TrustedHeaderErrorShapeFilter } from './error-shape.filter.js';

function replyOf(thrown: unknown): { body: unknown; status: number } {
  let sent: { body: unknown; status: number } | undefined;
  const adapterHost = {
    httpAdapter: { reply: (_response: unknown, body: unknown, status: number) => (sent = { body, status }) },
  } as unknown as HttpAdapterHost;
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getResponse: () => ({}) }),
  } as unknown as ArgumentsHost;
  new TrustedHeaderErrorShapeFilter(adapterHost).catch(thrown, host);
  return sent!;
}

describe('TrustedHeaderErrorShapeFilter', () => {
  it.each([
    [new UserDisabledError(), 403, 'user_disabled'],
    [new ConflictError('taken'), 409, 'conflict'],
    [new DatabaseUnavailableError({ cause: new Error('ECONNREFUSED 10.0.0.9:5432') }), 503, 'database_unavailable'],
  ])('answers a domain error that reached it with its own status and reason (%s)', (error, status, reason) => {
    const { body, status: sent } = replyOf(error);
    expect(sent).toBe(status);
    expect(body).toEqual({ statusCode: status, message: expect.any(String), reason });
    expect(JSON.stringify(body)).not.toContain('10.0.0.9'); // the cause stays in the log
  });

  it('answers anything else with 500 internal_error and no detail', () => {
    expect(replyOf(new TypeError('secret detail'))).toEqual({
      status: 500,
      body: { statusCode: 500, message: 'Internal server error', reason: 'internal_error' },
    });
  });
});
