import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { TrustedHeaderOptions } from 'nestjs-trusted-header';
import { resolveTrustedHeaderOptions } from 'nestjs-trusted-header/building-blocks';

/**
 * Serves the OpenAPI document and Swagger UI at /docs. The identity headers are declared as API-key security
 * schemes: in a browser behind the proxy they are set by the proxy; calling the app directly, only requests
 * from a trusted address are believed.
 */
export function setupOpenApi(app: INestApplication, trustedHeader: TrustedHeaderOptions): void {
  const resolved = resolveTrustedHeaderOptions(trustedHeader);
  const builder = new DocumentBuilder()
    .setTitle('nestjs-trusted-header reference app')
    .setDescription(
      'Trusted-header login, /me, and the admin API for group mappings, groups, users and the audit trail.',
    )
    .setVersion('0.1.0');
  for (const profile of resolved.profiles) {
    // A signing proxy's token is the credential; otherwise the username header.
    const names =
      profile.assertion !== null
        ? [profile.assertion.header]
        : [
            profile.identity.headers.user,
            profile.identity.headers.groups,
            profile.identity.headers.email,
            profile.identity.headers.name,
          ];
    for (const name of names) {
      builder.addApiKey({ type: 'apiKey', in: 'header', name, description: `Set by the authenticating proxy` }, name);
    }
    builder.addSecurityRequirements(names[0]!);
  }
  if (resolved.session !== null) {
    // With persistent sessions, the cookie the first login set stands for the headers until logout.
    builder.addCookieAuth(
      resolved.session.cookieName,
      { type: 'apiKey', in: 'cookie', description: 'Persistent session, set at login through the proxy' },
      'session',
    );
    builder.addSecurityRequirements('session');
  }
  const document = SwaggerModule.createDocument(app, builder.build());
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
}
