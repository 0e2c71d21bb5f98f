import type { IncomingMessage } from 'node:http';
import { All, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { CurrentUser, Groups, Public } from 'nestjs-trusted-header';
import { TRUSTED_HEADER_STRATEGY } from 'nestjs-trusted-header/building-blocks';

/** Routes the tests use to look at what a controller sees. Mounted next to the reference app's own. */
@Controller('probe')
@Groups('class-group')
export class ProbeController {
  /** What identity headers a public handler can still read after the library has run. */
  @Get('headers')
  @Public()
  headers(@Req() request: { headers: Record<string, unknown>; raw?: { rawHeaders: string[] }; rawHeaders?: string[] }) {
    const rawHeaders = request.raw?.rawHeaders ?? request.rawHeaders ?? [];
    const identity = (name: string) => /remote[-_.]/i.test(name);
    return {
      headers: Object.keys(request.headers).filter(identity),
      rawHeaders: rawHeaders.filter((_, i) => i % 2 === 0).filter(identity),
    };
  }

  /** What a public handler finds as `request.user` when nobody was admitted, and whether it is declared. */
  @Get('request-user')
  @Public()
  requestUser(@Req() request: { user?: unknown }) {
    return { declared: Object.hasOwn(request, 'user'), user: request.user === undefined ? 'undefined' : request.user };
  }

  /** Node's per-name view of the header lines, after the library has run (built on first read). */
  @Get('headers-distinct')
  @Public()
  headersDistinct(@Req() request: { raw?: IncomingMessage } & Partial<IncomingMessage>) {
    const message = (request.raw ?? request) as IncomingMessage;
    return { names: Object.keys(message.headersDistinct).filter((name) => /remote[-_.]/i.test(name)) };
  }

  /** Plain @nestjs/passport usage of the strategy, without TrustedHeaderGuard. */
  @Get('passport')
  @Public()
  @UseGuards(AuthGuard(TRUSTED_HEADER_STRATEGY))
  passport(@CurrentUser('username') username: string) {
    return { username };
  }

  /** Needs the class-level group. */
  @Get('class')
  classLevel(@CurrentUser('username') username: string) {
    return { username };
  }

  /** Overrides the class: needs both `b` and `c`. */
  @Get('all')
  @Groups('b', 'c', { mode: 'all' })
  all(@CurrentUser('username') username: string) {
    return { username };
  }

  /** An unsafe method behind the class-level group: what the cross-site check guards. */
  @Post('echo')
  @HttpCode(200)
  echo(@CurrentUser('username') username: string) {
    return { username };
  }

  /** Every method, WebDAV's and the other ones Node parses too: the cross-site check must cover them all. */
  @All('any-method')
  @HttpCode(200)
  anyMethod(@CurrentUser('username') username: string) {
    return { username };
  }

  /** Overrides the class: `b` or `c`. */
  @Get('any')
  @Groups('b', 'c')
  any(@CurrentUser('username') username: string) {
    return { username };
  }
}
