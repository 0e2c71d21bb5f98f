import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { admittedUserOf } from '../guards/admitted-users.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';

/**
 * The logged-in user, or one of its fields: `@CurrentUser('username')`. Over HTTP that is `request.user`; in
 * another execution context it is the user a TrustedHeaderGuard subclass admitted for this very call, never
 * a `user` field of the payload, which the caller wrote.
 */
export const CurrentUser = createParamDecorator(
  (field: keyof AuthenticatedUser | undefined, context: ExecutionContext) => {
    const user =
      context.getType() === 'http'
        ? context.getArgByIndex<{ user?: AuthenticatedUser }>(0).user
        : admittedUserOf(context);
    return field ? user?.[field] : user;
  },
);
