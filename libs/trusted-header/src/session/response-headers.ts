/**
 * Adds a Set-Cookie line to the response of any adapter, beside the ones the application sets itself: a
 * Fastify reply through `reply.header` (which appends set-cookie values, and is what Fastify writes at the
 * end), an Express response or a bare ServerResponse through `appendHeader`.
 */
export function appendSetCookie(response: unknown, value: string): boolean {
  const reply = response as { raw?: unknown; header?: (name: string, value: string) => unknown } | null;
  if (reply && typeof reply.header === 'function' && reply.raw !== undefined) {
    reply.header('set-cookie', value);
    return true;
  }
  const message = response as { appendHeader?: (name: string, value: string) => unknown; headersSent?: boolean };
  if (message && typeof message.appendHeader === 'function' && !message.headersSent) {
    message.appendHeader('Set-Cookie', value);
    return true;
  }
  return false;
}
