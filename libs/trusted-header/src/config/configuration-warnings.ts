import type { ResolvedTrustedHeaderOptions } from './trusted-header-options.js';

/** Stable codes: a monitoring rule or a runbook may key on them; the sentence may be reworded. */
export type ConfigurationWarningCode =
  | 'trust_list_wide'
  | 'session_cookie_not_secure'
  | 'sync_ttl_long'
  | 'listener_not_connected'
  | 'no_admin_groups'
  | 'cross_site_check_off';

export interface ConfigurationWarning {
  readonly code: ConfigurationWarningCode;
  readonly message: string;
}

/** What is known only while the application runs. */
export interface RuntimeState {
  /**
   * The change listener (LISTEN/NOTIFY) that drops cached identities when another instance changes them:
   * `null` when the application runs none.
   */
  readonly listener: { readonly connected: boolean } | null;
}

/** Past this, a group removed at the identity provider or by an admin elsewhere lingers for minutes. */
export const LONG_SYNC_TTL_MS = 5 * 60_000;

/**
 * Settings that are valid but often a mistake, each a stable code and a sentence that says why. Startup
 * refuses what is never right; these are left to the operator, who may have a reason.
 */
export function configurationWarnings(
  options: ResolvedTrustedHeaderOptions,
  runtime: RuntimeState,
): ConfigurationWarning[] {
  const warnings: ConfigurationWarning[] = [];
  for (const profile of options.profiles) {
    // Any host in a range can speak for the proxy: a container or VM next to it can log in as anyone.
    const wide = (profile.trust?.ranges ?? []).filter(
      (range) => range.prefixLength < (range.kind === 'ipv4' ? 32 : 128),
    );
    if (wide.length > 0) {
      warnings.push({
        code: 'trust_list_wide',
        message:
          `Proxy ${profile.name} trusts ${wide.map((range) => range.text).join(', ')}: every host in ` +
          `${wide.length === 1 ? 'that range' : 'those ranges'} can assert any identity; list each proxy's own address (/32, /128)`,
      });
    }
  }
  if (options.session !== null && !options.session.cookieSecure) {
    warnings.push({
      code: 'session_cookie_not_secure',
      message:
        'The session cookie is not Secure (AUTH_PROXY_SESSION_COOKIE_SECURE=false): browsers send it over plain HTTP, where anyone on the path can take the session',
    });
  }
  if (options.syncTtlMs > LONG_SYNC_TTL_MS) {
    warnings.push({
      code: 'sync_ttl_long',
      message:
        `AUTH_PROXY_SYNC_TTL_SECONDS is ${options.syncTtlMs / 1000} s: a user disabled or a grant revoked on another ` +
        'instance keeps working here that long unless change notifications reach this instance; 300 s at most is advised',
    });
  }
  if (runtime.listener !== null && !runtime.listener.connected) {
    warnings.push({
      code: 'listener_not_connected',
      message:
        'The change listener is not connected: changes made on other instances reach this one only when cached identities expire',
    });
  }
  if (options.createUnknownUser && options.adminGroups.length === 0) {
    warnings.push({
      code: 'no_admin_groups',
      message:
        `New users are created on first sight but AUTH_PROXY_ADMIN_GROUPS is empty: admins come only from mappings to, ` +
        `or grants of, the local group ${options.adminLocalGroup}`,
    });
  }
  if (!options.csrf.enabled) {
    warnings.push({
      code: 'cross_site_check_off',
      message:
        'AUTH_PROXY_CSRF_CHECK is off: another site can make a logged-in browser send unsafe requests (POST, DELETE) as its user',
    });
  }
  return warnings;
}
