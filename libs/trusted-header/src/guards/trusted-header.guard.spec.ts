import { jest } from '@jest/globals';
import { Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TrustedHeaderException } from '../errors/trusted-header.exception.js';
import type { TrustedHeaderStrategy } from '../strategy/trusted-header.strategy.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { Groups } from '../decorators/groups.decorator.js';
import { Public } from '../decorators/public.decorator.js';
import { TrustedHeaderGuard } from './trusted-header.guard.js';

const alice: AuthenticatedUser = {
  id: '1',
  username: 'alice',
  email: null,
  displayName: null,
  groups: ['a', 'b'],
  externalGroups: [],
  isAdmin: false,
};

class Handlers {
  open() {}
  anyAC() {}
  allAB() {}
  allAC() {}
}
Public()(Handlers.prototype, 'open', Object.getOwnPropertyDescriptor(Handlers.prototype, 'open')!);
Groups('a', 'c')(Handlers.prototype, 'anyAC', Object.getOwnPropertyDescriptor(Handlers.prototype, 'anyAC')!);
Groups('a', 'b', { mode: 'all' })(
  Handlers.prototype,
  'allAB',
  Object.getOwnPropertyDescriptor(Handlers.prototype, 'allAB')!,
);
Groups('a', 'c', { mode: 'all' })(
  Handlers.prototype,
  'allAC',
  Object.getOwnPropertyDescriptor(Handlers.prototype, 'allAC')!,
);

function context(type: string, handler: keyof Handlers, request: Record<string, unknown> = {}): ExecutionContext {
  return {
    getType: () => type,
    getHandler: () => Handlers.prototype[handler],
    getClass: () => Handlers,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

describe('TrustedHeaderGuard', () => {
  const validate = jest.fn<(request: unknown) => Promise<AuthenticatedUser>>();
  const guard = new TrustedHeaderGuard(new Reflector(), { validate } as unknown as TrustedHeaderStrategy);

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  beforeEach(() => {
    validate.mockReset();
    validate.mockResolvedValue(alice);
  });

  it.each(['rpc', 'ws', 'graphql', 'something-new'])(
    'fails closed for a %s context without authenticating',
    async (type) => {
      await expect(guard.canActivate(context(type, 'anyAC'))).rejects.toMatchObject({
        status: 403,
        reason: 'unsupported_context',
      });
      await expect(guard.canActivate(context(type, 'open'))).rejects.toMatchObject({
        status: 403,
        reason: 'unsupported_context',
      });
      expect(validate).not.toHaveBeenCalled();
    },
  );

  it('lets @Public() handlers through without authenticating', async () => {
    await expect(guard.canActivate(context('http', 'open'))).resolves.toBe(true);
    expect(validate).not.toHaveBeenCalled();
  });

  it('puts the user on the request', async () => {
    const request: { user?: AuthenticatedUser } = {};
    await expect(guard.canActivate(context('http', 'anyAC', request))).resolves.toBe(true);
    expect(request.user).toBe(alice);
  });

  it('enforces @Groups in any and all modes', async () => {
    await expect(guard.canActivate(context('http', 'allAB'))).resolves.toBe(true);
    const denied = guard.canActivate(context('http', 'allAC'));
    await expect(denied).rejects.toBeInstanceOf(TrustedHeaderException);
    await expect(guard.canActivate(context('http', 'allAC'))).rejects.toMatchObject({
      reason: 'missing_group',
      status: 403,
    });
  });

  it('propagates the strategy error and never logs in on an exception', async () => {
    validate.mockRejectedValue(new Error('boom'));
    const request: { user?: AuthenticatedUser } = {};
    await expect(guard.canActivate(context('http', 'anyAC', request))).rejects.toThrow('boom');
    expect(request.user).toBeUndefined();
  });

  it('answers 401 missing_identity when the strategy returns no user', async () => {
    validate.mockResolvedValue(undefined as unknown as AuthenticatedUser);
    await expect(guard.canActivate(context('http', 'anyAC'))).rejects.toMatchObject({
      reason: 'missing_identity',
      status: 401,
    });
  });
});
