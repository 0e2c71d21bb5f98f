import { Controller, Get } from '@nestjs/common';
import { CurrentUser, type AuthenticatedUser } from 'nestjs-trusted-header';

@Controller('me')
export class MeController {
  /** The logged-in user; 401 without identity (the global guard protects every route not marked @Public()). */
  @Get()
  me(@CurrentUser() user: AuthenticatedUser) {
    return {
      id: user.id,
      username: user.username,
      email: user.email,
      displayName: user.displayName,
      groups: user.groups,
      externalGroups: user.externalGroups,
      isAdmin: user.isAdmin,
    };
  }
}
