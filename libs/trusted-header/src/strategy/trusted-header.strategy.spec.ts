import { HttpException } from '@nestjs/common';
import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { resolveTrustedHeaderOptions } from '../config/resolve-options.js';
import type { RequestInspection } from '../request/request-inspection.js';
import { RequestInspector } from '../request/request-inspector.service.js';
import type { SessionLogin } from '../session/session-login.service.js';
import type { UserSyncService } from '../sync/user-sync.service.js';
import { TrustedHeaderStrategy } from './trusted-header.strategy.js';

const options = resolveTrustedHeaderOptions({});
/** A user store that knows everybody: what is tested is who gets as far as asking it. */
const userSync = { userFor: (identity: { username: string }) => ({ username: identity.username }) };
const noSessions = { enabled: false };

function requestFrom(peer: string, url: string, rawHeaders: string[]): IncomingMessage {
  const request = new IncomingMessage({ remoteAddress: peer } as unknown as Socket);
  request.rawHeaders = rawHeaders;
  request.method = 'GET';
  request.url = url;
  return request;
}

/** An integration that narrows trust through the building blocks: nothing under /internal is ever trusted. */
class NarrowingInspector extends RequestInspector {
  override inspect(request: unknown, response?: unknown): RequestInspection {
    const inspection = super.inspect(request, response);
    return (request as IncomingMessage).url?.startsWith('/internal')
      ? { ...inspection, trusted: false, profile: null }
      : inspection;
  }
}

function strategyWith(inspector: RequestInspector): TrustedHeaderStrategy {
  return new TrustedHeaderStrategy(
    inspector,
    userSync as unknown as UserSyncService,
    noSessions as unknown as SessionLogin,
    options,
  );
}

async function reasonOf(outcome: () => unknown): Promise<string> {
  try {
    await outcome();
  } catch (error) {
    return ((error as HttpException).getResponse() as { reason: string }).reason;
  }
  return 'admitted';
}

describe('TrustedHeaderStrategy', () => {
  it('decides through the inspector’s public methods, so an integration’s override of them counts', async () => {
    const strategy = strategyWith(new NarrowingInspector(options));
    const lines = ['Remote-User', 'alice'];
    expect(await strategy.resolveUser(requestFrom('127.0.0.1', '/public', lines))).toEqual({ username: 'alice' });
    expect(await reasonOf(() => strategy.resolveUser(requestFrom('127.0.0.1', '/internal/x', lines)))).toBe(
      'missing_identity',
    );
  });

  it.each([
    [
      'a plain object shaped like a request',
      { socket: { remoteAddress: '127.0.0.1' }, rawHeaders: ['Remote-User', 'root'] },
    ],
    [
      'a plain object as `raw`',
      { raw: { socket: { remoteAddress: '127.0.0.1' }, rawHeaders: ['Remote-User', 'root'] } },
    ],
    ['null', null],
    ['a string', 'Remote-User: root'],
  ])('admits nobody for %s, even with an inspector that calls everything trusted', async (_what, forged) => {
    class TrustingInspector extends RequestInspector {
      override inspect(): RequestInspection {
        return { peer: '127.0.0.1', trusted: true, strippedHeaders: [], profile: options.profiles[0]! };
      }
    }
    expect(await reasonOf(() => strategyWith(new RequestInspector(options)).resolveUser(forged))).toBe(
      'missing_identity',
    );
    expect(await reasonOf(() => strategyWith(new TrustingInspector(options)).resolveUser(forged))).toBe(
      'missing_identity',
    );
  });
});
