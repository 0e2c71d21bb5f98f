import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';

/** The logged-in user (`request.user`), or one of its fields: `@CurrentUser('username')`. */
export const CurrentUser = createParamDecorator(
  (field: keyof AuthenticatedUser | undefined, context: ExecutionContext) => {
    const user = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user;
    return field ? user?.[field] : user;
  },
);
