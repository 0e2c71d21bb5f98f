import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { resolveTrustedHeaderOptions } from '../config/resolve-options.js';
import { RequestInspector } from './request-inspector.service.js';

function message(peer: string, lines: string[]): IncomingMessage {
  const made = new IncomingMessage({ remoteAddress: peer } as unknown as Socket);
  made.rawHeaders = lines;
  return made;
}

/**
 * Two applications in one process can see the same Node request (two Nest apps on one Express or Fastify
 * instance, or two modules each with its own options): each decides trust with its own options.
 */
describe('RequestInspector: one decision per inspector, not per request', () => {
  const wide = new RequestInspector(resolveTrustedHeaderOptions({ trustedIps: ['127.0.0.0/8'] }));
  const narrow = new RequestInspector(resolveTrustedHeaderOptions({ trustedIps: ['127.0.0.1'] }));

  it("never lets another inspector's trust decide for a peer this one does not trust", () => {
    const request = message('127.0.0.2', ['Remote-User', 'admin', 'Remote-Groups', 'admins']);
    expect(wide.inspect(request).trusted).toBe(true);
    expect(narrow.inspect(request)).toMatchObject({ peer: '127.0.0.2', trusted: false, profile: null });
    expect(narrow.identityOf(request)).toEqual({ kind: 'anonymous' });
  });

  it("never lets another inspector's refusal strip headers of a peer this one trusts", () => {
    const request = message('127.0.0.2', ['Remote-User', 'alice']);
    expect(narrow.inspect(request).trusted).toBe(false);
    expect(wide.inspect(request).trusted).toBe(true);
  });
});
