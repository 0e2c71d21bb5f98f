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

/** Same handlers, but the controller is @Public(): a guard remembering rules per handler alone would mix them up. */
class PublicHandlers extends Handlers {}
Public()(PublicHandlers);

function context(
  type: string,
  handler: keyof Handlers,
  request: Record<string, unknown> = {},
  controller: typeof Handlers = Handlers,
): ExecutionContext {
  return {
    getType: () => type,
    getHandler: () => Handlers.prototype[handler],
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

describe('TrustedHeaderGuard', () => {
  const validate = jest.fn<(request: unknown) => Promise<AuthenticatedUser>>();
  /** The strategy answers a cached user without a promise. */
  const answerAtOnce = (user: AuthenticatedUser) =>
    validate.mockImplementation((() => user) as unknown as () => Promise<AuthenticatedUser>);
  const guard = new TrustedHeaderGuard(new Reflector(), { validate } as unknown as TrustedHeaderStrategy);
  /** As Nest calls guards: inside an async function, so a synchronous throw becomes a rejection. */
  const activate = async (ctx: ExecutionContext) => guard.canActivate(ctx);

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  beforeEach(() => {
    validate.mockReset();
    validate.mockResolvedValue(alice);
  });

  it.each(['rpc', 'ws', 'graphql', 'something-new'])(
    'fails closed for a %s context without authenticating',
    async (type) => {
      await expect(activate(context(type, 'anyAC'))).rejects.toMatchObject({
        status: 403,
        reason: 'unsupported_context',
      });
      await expect(activate(context(type, 'open'))).rejects.toMatchObject({
        status: 403,
        reason: 'unsupported_context',
      });
      expect(validate).not.toHaveBeenCalled();
    },
  );

  it('lets @Public() handlers through without authenticating', async () => {
    await expect(activate(context('http', 'open'))).resolves.toBe(true);
    expect(validate).not.toHaveBeenCalled();
  });

  it('puts the user on the request', async () => {
    const request: { user?: AuthenticatedUser } = {};
    await expect(activate(context('http', 'anyAC', request))).resolves.toBe(true);
    expect(request.user).toBe(alice);
  });

  it('enforces @Groups in any and all modes', async () => {
    await expect(activate(context('http', 'allAB'))).resolves.toBe(true);
    const denied = activate(context('http', 'allAC'));
    await expect(denied).rejects.toBeInstanceOf(TrustedHeaderException);
    await expect(activate(context('http', 'allAC'))).rejects.toMatchObject({
      reason: 'missing_group',
      status: 403,
    });
  });

  it('propagates the strategy error and never logs in on an exception', async () => {
    validate.mockRejectedValue(new Error('boom'));
    const request: { user?: AuthenticatedUser } = {};
    await expect(activate(context('http', 'anyAC', request))).rejects.toThrow('boom');
    expect(request.user).toBeUndefined();
  });

  it('answers 401 missing_identity when the strategy returns no user', async () => {
    validate.mockResolvedValue(undefined as unknown as AuthenticatedUser);
    await expect(activate(context('http', 'anyAC'))).rejects.toMatchObject({
      reason: 'missing_identity',
      status: 401,
    });
  });

  it('admits a cached user without a promise and waits for one that is not cached', async () => {
    answerAtOnce(alice);
    const request: { user?: AuthenticatedUser } = {};
    expect(guard.canActivate(context('http', 'anyAC', request))).toBe(true);
    expect(request.user).toBe(alice);

    validate.mockResolvedValue(alice);
    const pending = guard.canActivate(context('http', 'anyAC', {}));
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).resolves.toBe(true);
  });

  it('enforces @Groups and refusals on the synchronous path too', async () => {
    answerAtOnce(alice);
    expect(() => guard.canActivate(context('http', 'allAC'))).toThrow(
      expect.objectContaining({ reason: 'missing_group', status: 403 }),
    );
    validate.mockImplementation(() => {
      throw new TrustedHeaderException(401, 'untrusted_proxy', 'no');
    });
    const request: { user?: AuthenticatedUser } = {};
    expect(() => guard.canActivate(context('http', 'anyAC', request))).toThrow(
      expect.objectContaining({ reason: 'untrusted_proxy' }),
    );
    expect(request.user).toBeUndefined();
  });

  it('reads @Public() per handler and controller, also for an inherited handler', async () => {
    await expect(activate(context('http', 'anyAC', {}, PublicHandlers))).resolves.toBe(true);
    expect(validate).not.toHaveBeenCalled();
    await expect(activate(context('http', 'anyAC', {}, Handlers))).resolves.toBe(true);
    expect(validate).toHaveBeenCalledTimes(1);
    await expect(activate(context('http', 'anyAC', {}, PublicHandlers))).resolves.toBe(true);
    expect(validate).toHaveBeenCalledTimes(1);
  });
});
