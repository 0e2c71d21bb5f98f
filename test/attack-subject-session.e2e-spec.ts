import type { TrustedHeaderOptions } from 'nestjs-trusted-header';
import type { RawResponse } from './support/raw-request.js';
import { ADAPTERS, useTestApp } from './support/test-app.js';

/**
 * A profile keyed on a stable subject (AUTH_PROXY_USER_ID_HEADER) with persistent sessions. nginx forwards the
 * headers it does not set itself: a request whose identity headers assert someone without naming a user must not
 * be answered as the session's user (the rule session-attacks.e2e-spec.ts checks for email, name and groups).
 */
type Header = [name: string, value: string];
const COOKIE = '__Host-trusted_header_session';
const UID = 'X-Remote-Uid';
const withCookie = (token: string): Header => ['Cookie', `${COOKIE}=${token}`];

function issuedToken(response: RawResponse): string {
  const line = response.headerLines.find(([name, value]) => name === 'set-cookie' && value.startsWith(`${COOKIE}=`));
  if (line === undefined) throw new Error('no session cookie issued');
  return line[1].slice(COOKIE.length + 1).split(';')[0]!;
}

describe.each(ADAPTERS)('attack: a subject header without a user beside a session cookie (%s)', (adapter) => {
  const options: TrustedHeaderOptions = {
    createUnknownUser: true,
    session: 'persistent',
    userIdHeader: UID,
    adminGroups: ['idp-admins'],
  };
  const app = useTestApp(adapter, options);

  it('refuses the stable id of another person without a username (400 invalid_username), never the session user', async () => {
    const login = await app.api.request('/me', [
      ['Remote-User', 'subj-alice'],
      [UID, 'uid-alice'],
      ['Remote-Groups', 'idp-admins'],
    ]);
    expect(login.status).toBe(200);
    const token = issuedToken(login);
    const bob = await app.api.request('/me', [
      ['Remote-User', 'subj-bob'],
      [UID, 'uid-bob'],
    ]);
    expect(bob.status).toBe(200);

    // The proxy (or a client header it forwards) says this request is uid-bob, and names no user.
    const mixed = await app.api.request('/me', [[UID, 'uid-bob'], withCookie(token)]);
    expect({ status: mixed.status, reason: mixed.body?.reason, username: mixed.body?.username }).toEqual({
      status: 400,
      reason: 'invalid_username',
      username: undefined,
    });
    // The session itself is untouched: the cookie alone is still its user.
    const alone = await app.api.request('/me', [withCookie(token)]);
    expect({ status: alone.status, username: alone.body.username }).toEqual({ status: 200, username: 'subj-alice' });
  });
});
