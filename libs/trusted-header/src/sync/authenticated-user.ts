/** What `request.user` and `@CurrentUser()` hold after a successful login. */
export interface AuthenticatedUser {
  readonly id: string;
  readonly username: string;
  /** The stored email: null when none was asserted or another user already holds it. */
  readonly email: string | null;
  readonly displayName: string | null;
  /** Effective local groups: mapped from external groups, granted by hand, or the admin bootstrap. */
  readonly groups: readonly string[];
  /** External groups exactly as the proxy asserted them. */
  readonly externalGroups: readonly string[];
  /** Member of AUTH_PROXY_ADMIN_GROUPS (through the proxy) or of the local admin group. */
  readonly isAdmin: boolean;
}
