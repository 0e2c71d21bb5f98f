import { Logger } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { reasonForStatus } from '../errors/generic-reasons.js';
import type { LogoutService } from './logout.service.js';

type Handler = (request: unknown, response: unknown) => void;

/**
 * Registers the logout endpoint on the HTTP adapter itself, before Nest's routes: its path is configuration,
 * which a controller's decorators (fixed when the class is declared) cannot take from `forRootAsync`. POST logs
 * out; GET, PUT, PATCH and DELETE answer 405 with `Allow: POST`, so a link or a prefetch never logs anyone out.
 */
export function registerLogoutRoute(adapter: AbstractHttpAdapter, path: string, logout: LogoutService): void {
  const send = (response: unknown, status: number, headers: Record<string, string>, body?: unknown) => {
    adapter.setHeader(response, 'Cache-Control', 'no-store');
    for (const [name, value] of Object.entries(headers)) adapter.setHeader(response, name, value);
    adapter.reply(response, body, status);
  };
  const post: Handler = (request, response) => {
    logout.logOut(request, response).then(
      (answer) => {
        if ('location' in answer) send(response, answer.status, { Location: answer.location });
        else if ('body' in answer) send(response, answer.status, {}, answer.body);
        else send(response, answer.status, {});
      },
      (error: unknown) => {
        // Refusals are answers (above); only a fault gets here: logged with its stack, never sent.
        new Logger('TrustedHeader').error('logout failed', error instanceof Error ? error.stack : String(error));
        send(response, 500, {}, { statusCode: 500, message: 'Logout failed', reason: reasonForStatus(500) });
      },
    );
  };
  const notAllowed: Handler = (_request, response) =>
    send(
      response,
      405,
      { Allow: 'POST' },
      { statusCode: 405, message: 'Log out with POST', reason: reasonForStatus(405) },
    );
  adapter.post(path, post);
  if (adapter.getType() === 'fastify') {
    // Fastify's `all` would declare POST a second time; HEAD comes with GET.
    for (const method of ['get', 'put', 'patch', 'delete'] as const) adapter[method](path, notAllowed);
  } else {
    adapter.all(path, notAllowed);
  }
}
