/** Injection token of the validated, resolved options (see config/resolve-options.ts). */
export const TRUSTED_HEADER_OPTIONS = Symbol('TRUSTED_HEADER_OPTIONS');

/** Name under which the passport-custom strategy is registered. */
export const TRUSTED_HEADER_STRATEGY = 'trusted-header';

/** Metadata key set by @Public(). */
export const IS_PUBLIC_KEY = 'trusted-header:public';

/** Metadata key set by @Groups(...). */
export const REQUIRED_GROUPS_KEY = 'trusted-header:groups';
