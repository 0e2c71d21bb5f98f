import type { INestApplication } from '@nestjs/common';

/** What a middleware or request hook is handed: Node's request, or one wrapping it as `raw` (Fastify). */
export interface Message {
  headers: Record<string, unknown>;
  rawHeaders: string[];
}

export interface SeenHeaders {
  headers: string[];
  rawHeaders: string[];
}

const isIdentityHeader = (name: string) => /remote[-_.]/i.test(name);

/** The identity headers a request still has, in both of Node's forms. */
export const identityHeadersOf = (request: Message): SeenHeaders => ({
  headers: Object.keys(request.headers).filter(isIdentityHeader),
  rawHeaders: request.rawHeaders.filter((_, i) => i % 2 === 0).filter(isIdentityHeader),
});

export type RequestHook = (request: unknown, response: unknown, done: () => void) => void;

/** A request hook that records what each request it runs for still carries. */
export const recordingHook =
  (into: SeenHeaders[]): RequestHook =>
  (request, _response, done) => {
    into.push(identityHeadersOf(((request as { raw?: unknown }).raw ?? request) as Message));
    done();
  };

/**
 * Stores a request hook on the adapter past the instance's `setOnRequestHook`: by assigning its private field,
 * or by calling the prototype's method (as a subclass's `super` call does).
 */
export function storeHookPastSetter(
  app: INestApplication,
  how: 'the field' | 'the prototype’s method',
  hook: RequestHook,
): void {
  const adapter = app.getHttpAdapter() as unknown as {
    onRequestHook: RequestHook;
    setOnRequestHook(hook: RequestHook): void;
  };
  if (how === 'the field') adapter.onRequestHook = hook;
  else (Object.getPrototypeOf(adapter) as typeof adapter).setOnRequestHook.call(adapter, hook);
}
