import { jest } from '@jest/globals';
import { Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TrustedHeaderException } from '../errors/trusted-header.exception.js';
import type { GroupRequirement } from '../decorators/groups.decorator.js';
import type { TrustedHeaderStrategy } from '../strategy/trusted-header.strategy.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { Groups } from '../decorators/groups.decorator.js';
import { Public } from '../decorators/public.decorator.js';
import { admittedUserOf } from './admitted-users.js';
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
  plain() {}
  openButGroups() {}
}
Public()(Handlers.prototype, 'open', Object.getOwnPropertyDescriptor(Handlers.prototype, 'open')!);
Groups('c')(Handlers.prototype, 'openButGroups', Object.getOwnPropertyDescriptor(Handlers.prototype, 'openButGroups')!);
Public()(Handlers.prototype, 'openButGroups', Object.getOwnPropertyDescriptor(Handlers.prototype, 'openButGroups')!);
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

/** Same handlers, but the controller requires group z. */
class GroupHandlers extends Handlers {}
Groups('z')(GroupHandlers);

function context(
  type: string,
  handler: keyof Handlers,
  request: Record<string, unknown> = {},
  controller: typeof Handlers = Handlers,
  args: unknown[] = [request],
): ExecutionContext {
  return {
    getType: () => type,
    getHandler: () => Handlers.prototype[handler],
    getClass: () => controller,
    getArgs: () => args,
    getArgByIndex: (index: number) => args[index],
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => undefined }),
  } as unknown as ExecutionContext;
}

/** The context Nest gives every guard of one call: the same arguments array for each. */
function rpcCall(handler: keyof Handlers, args: unknown[]): ExecutionContext {
  return context('rpc', handler, args[1] as Record<string, unknown>, Handlers, args);
}

/** A subclass for an RPC transport whose call context carries the request head, as the README shows. */
class RpcGuard extends TrustedHeaderGuard {
  protected override supportsContext(ctx: ExecutionContext): boolean {
    return ctx.getType() === 'rpc' || super.supportsContext(ctx);
  }
  protected override getRequest(ctx: ExecutionContext): { user?: AuthenticatedUser } {
    return ctx.getType() === 'rpc' ? (ctx.getArgs()[1] as { user?: AuthenticatedUser }) : super.getRequest(ctx);
  }
}

describe('TrustedHeaderGuard', () => {
  const validate = jest.fn<(request: unknown) => Promise<AuthenticatedUser>>();
  /** The strategy answers a cached user without a promise. */
  const answerAtOnce = (user: AuthenticatedUser) =>
    validate.mockImplementation((() => user) as unknown as () => Promise<AuthenticatedUser>);
  const strategy = { resolveUser: validate } as unknown as TrustedHeaderStrategy;
  const guard = new TrustedHeaderGuard(new Reflector(), strategy);
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
    await expect(activate(context('http', 'plain', {}, PublicHandlers))).resolves.toBe(true);
    expect(validate).not.toHaveBeenCalled();
    await expect(activate(context('http', 'plain', {}, Handlers))).resolves.toBe(true);
    expect(validate).toHaveBeenCalledTimes(1);
    await expect(activate(context('http', 'plain', {}, PublicHandlers))).resolves.toBe(true);
    expect(validate).toHaveBeenCalledTimes(1);
  });

  it('never lets @Public() switch off @Groups(): on the controller, or on the same handler', async () => {
    // alice holds a and b: anyAC admits her, openButGroups (c) refuses her.
    await expect(activate(context('http', 'anyAC', {}, PublicHandlers))).resolves.toBe(true);
    expect(validate).toHaveBeenCalledTimes(1);
    await expect(activate(context('http', 'allAC', {}, PublicHandlers))).rejects.toMatchObject({
      status: 403,
      reason: 'missing_group',
    });
    await expect(activate(context('http', 'openButGroups', {}, Handlers))).rejects.toMatchObject({
      status: 403,
      reason: 'missing_group',
    });
    validate.mockRejectedValue(new TrustedHeaderException(401, 'missing_identity', 'Not logged in'));
    await expect(activate(context('http', 'anyAC', {}, PublicHandlers))).rejects.toMatchObject({ status: 401 });
  });

  it("lets a handler's @Public() override its controller's @Groups()", async () => {
    await expect(activate(context('http', 'open', {}, GroupHandlers))).resolves.toBe(true);
    expect(validate).not.toHaveBeenCalled();
    await expect(activate(context('http', 'plain', {}, GroupHandlers))).rejects.toMatchObject({
      reason: 'missing_group',
    });
  });

  describe('beside a subclass for another context (what @Groups() attaches while the APP_GUARD is the subclass)', () => {
    const rpcGuard = new RpcGuard(new Reflector(), strategy);
    const bob: AuthenticatedUser = { ...alice, id: '2', username: 'bob', groups: ['c'] };

    it('admits a call the subclass admitted, and applies the route groups to that user', async () => {
      const args = [{ note: 'payload' }, {}];
      await expect(Promise.resolve(rpcGuard.canActivate(rpcCall('allAB', args)))).resolves.toBe(true);
      expect(guard.canActivate(rpcCall('allAB', args))).toBe(true);
      expect(() => guard.canActivate(rpcCall('allAC', args))).toThrow(
        expect.objectContaining({ reason: 'missing_group', status: 403 }),
      );
      expect(validate).toHaveBeenCalledTimes(1);
    });

    it('refuses a call nobody admitted, even one sharing objects with an admitted call', async () => {
      const payload = { note: 'shared' };
      await rpcGuard.canActivate(rpcCall('anyAC', [payload, {}]));
      for (const args of [[payload, {}], [{ note: 'shared' }], [payload], []]) {
        expect(() => guard.canActivate(rpcCall('anyAC', args))).toThrow(
          expect.objectContaining({ reason: 'unsupported_context', status: 403 }),
        );
      }
    });

    it('refuses a call the subclass let through as @Public() without authenticating', async () => {
      const args = [{}, {}];
      expect(rpcGuard.canActivate(rpcCall('open', args))).toBe(true);
      expect(() => guard.canActivate(rpcCall('open', args))).toThrow(
        expect.objectContaining({ reason: 'unsupported_context' }),
      );
    });

    it('records nothing for a refused call, nor for an HTTP request', async () => {
      validate.mockResolvedValue(bob);
      const refused = rpcCall('allAB', [{}, {}]);
      await expect(Promise.resolve(rpcGuard.canActivate(refused))).rejects.toMatchObject({ reason: 'missing_group' });
      expect(admittedUserOf(refused)).toBeUndefined();

      answerAtOnce(alice);
      const http = context('http', 'anyAC', {});
      expect(rpcGuard.canActivate(http)).toBe(true);
      expect(admittedUserOf(http)).toBeUndefined();
    });
  });

  it('passes the context to every hook, and the refusals are hooks of their own', async () => {
    const seen: string[] = [];
    class Custom extends TrustedHeaderGuard {
      protected override handleRequest(error: unknown, user: AuthenticatedUser | undefined, ctx: ExecutionContext) {
        seen.push(`handleRequest:${ctx.getType()}`);
        return super.handleRequest(error, user, ctx);
      }
      protected override hasRequiredGroups(
        user: AuthenticatedUser,
        requirement: GroupRequirement,
        ctx: ExecutionContext,
      ) {
        seen.push(`hasRequiredGroups:${ctx.getType()}`);
        return super.hasRequiredGroups(user, requirement, ctx);
      }
      protected override throwMissingGroup(
        ctx: ExecutionContext,
        requirement: GroupRequirement,
        user: AuthenticatedUser,
      ): never {
        throw new Error(`${user.username} lacks all of ${requirement.groups.join('+')} on ${ctx.getHandler().name}`);
      }
      protected override throwUnsupportedContext(ctx: ExecutionContext): never {
        throw new Error(`no ${ctx.getType()} here`);
      }
    }
    const custom = new Custom(new Reflector(), strategy);
    await expect(Promise.resolve(custom.canActivate(context('http', 'allAC')))).rejects.toThrow(
      'alice lacks all of a+c on allAC',
    );
    expect(seen).toEqual(['handleRequest:http', 'hasRequiredGroups:http']);
    expect(() => custom.canActivate(context('ws', 'anyAC'))).toThrow('no ws here');
  });
});
