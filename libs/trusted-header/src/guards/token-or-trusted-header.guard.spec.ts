import { UseGuards, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Groups } from '../decorators/groups.decorator.js';
import { httpExceptionFor } from '../errors/http-mapping.js';
import type { TrustedHeaderStrategy } from '../strategy/trusted-header.strategy.js';
import { TokenOrTrustedHeaderGuard } from './token-or-trusted-header.guard.js';
import { TrustedHeaderGuard } from './trusted-header.guard.js';

/** A strategy that finds nobody: every guard that decides answers 401 `missing_identity`. */
const nobody = {
  resolveUser: () => {
    throw httpExceptionFor('missing_identity', 'Not logged in');
  },
} as unknown as TrustedHeaderStrategy;

const JwtGuard = TokenOrTrustedHeaderGuard('jwt');
const ApiKeyGuard = TokenOrTrustedHeaderGuard('api-key');

class Routes {
  plain() {}
  groupsOnly() {}
  tokenRoute() {}
  tokenRouteWithGroups() {}
  tokenInstance() {}
  twoTokenGuards() {}
}
const decorate = (decorator: MethodDecorator, name: keyof Routes) =>
  decorator(Routes.prototype, name, Object.getOwnPropertyDescriptor(Routes.prototype, name)!);
decorate(Groups('a'), 'groupsOnly');
decorate(UseGuards(JwtGuard), 'tokenRoute');
decorate(Groups('a'), 'tokenRouteWithGroups');
decorate(UseGuards(JwtGuard), 'tokenRouteWithGroups');
decorate(UseGuards(new JwtGuard(new Reflector(), nobody)), 'tokenInstance');
decorate(UseGuards(JwtGuard, ApiKeyGuard), 'twoTokenGuards');

/** Every handler of this controller is guarded by the token guard at class level. */
class TokenRoutes extends Routes {}
UseGuards(JwtGuard)(TokenRoutes);

function http(handler: keyof Routes, controller: typeof Routes = Routes): ExecutionContext {
  const request = {};
  return {
    getType: () => 'http',
    getHandler: () => Routes.prototype[handler],
    getClass: () => controller,
    getArgs: () => [request, {}],
    getArgByIndex: (index: number) => [request, {}][index],
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
}

const decides = async (guard: TrustedHeaderGuard, context: ExecutionContext) => {
  try {
    await guard.canActivate(context);
    return false;
  } catch (error) {
    return (error as { reason?: string }).reason === 'missing_identity';
  }
};

describe('TrustedHeaderGuard beside TokenOrTrustedHeaderGuard', () => {
  const plain = new TrustedHeaderGuard(new Reflector(), nobody);

  it('decides on routes without a token guard', async () => {
    expect(await decides(plain, http('plain'))).toBe(true);
    expect(await decides(plain, http('groupsOnly'))).toBe(true);
  });

  it.each([
    ['a handler-level token guard', 'tokenRoute', Routes],
    ['a token guard after @Groups()', 'tokenRouteWithGroups', Routes],
    ['a token guard given as an instance', 'tokenInstance', Routes],
    ['a class-level token guard', 'plain', TokenRoutes],
  ] as const)('steps aside on a route with %s', async (_label, handler, controller) => {
    expect(await decides(plain, http(handler, controller))).toBe(false);
  });

  it('never lets a token guard step aside, so a route with two of them is never left open', async () => {
    const jwt = new JwtGuard(new Reflector(), nobody);
    const apiKey = new ApiKeyGuard(new Reflector(), nobody);
    expect(await decides(jwt, http('twoTokenGuards'))).toBe(true);
    expect(await decides(apiKey, http('twoTokenGuards'))).toBe(true);
    expect(await decides(apiKey, http('tokenRoute'))).toBe(true);
    expect(await decides(plain, http('twoTokenGuards'))).toBe(false);
  });

  it('a subclass of a token guard decides too', async () => {
    class Custom extends JwtGuard {}
    expect(await decides(new Custom(new Reflector(), nobody), http('tokenRoute'))).toBe(true);
  });
});
