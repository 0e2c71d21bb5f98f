import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiExcludeController } from '@nestjs/swagger';
import {
  Public,
  TrustedHeaderException,
  TrustedHeaderStrategy,
  type AuthenticatedUser,
  type RejectionReason,
  type ResolvedTrustedHeaderOptions,
} from 'nestjs-trusted-header';
import { TRUSTED_HEADER_OPTIONS } from 'nestjs-trusted-header/building-blocks';
import { homePageHeaders, renderHomePage } from './home-page.js';

/**
 * Refusals that mean "nobody is logged in here": no identity, identity headers from a peer that may not assert
 * them (already removed), a session that ended or expired (its cookie is cleared). Every other refusal (a
 * malformed header, a disabled user, a database outage) is answered as on any other route.
 */
const NOBODY: ReadonlySet<RejectionReason> = new Set(['missing_identity', 'untrusted_proxy', 'invalid_session']);

/** An HTML page for people, not part of the API: left out of the OpenAPI document. */
@ApiExcludeController()
@Controller()
export class HomeController {
  private readonly headers: Record<string, string>;
  private readonly logoutPath: string | null;

  constructor(
    private readonly strategy: TrustedHeaderStrategy,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(TRUSTED_HEADER_OPTIONS) options: ResolvedTrustedHeaderOptions,
  ) {
    this.logoutPath = options.logout?.path ?? null;
    this.headers = homePageHeaders(options.logout?.redirectTo ?? null);
  }

  /**
   * Who is logged in, and a logout button; "Not logged in" otherwise. Public, so that it answers without a
   * login; the user is resolved here, by the same strategy the guard uses (it also starts or continues the
   * browser's session).
   */
  @Get()
  @Public()
  async home(@Req() request: unknown, @Res({ passthrough: true }) response: unknown): Promise<string> {
    const user = await this.currentUser(request, response);
    const adapter = this.adapterHost.httpAdapter;
    for (const [name, value] of Object.entries(this.headers)) adapter.setHeader(response, name, value);
    return renderHomePage({ user, logoutPath: this.logoutPath });
  }

  private async currentUser(request: unknown, response: unknown): Promise<AuthenticatedUser | null> {
    try {
      return await this.strategy.resolveUser(request, response);
    } catch (error) {
      if (error instanceof TrustedHeaderException && NOBODY.has(error.reason)) return null;
      throw error;
    }
  }
}
