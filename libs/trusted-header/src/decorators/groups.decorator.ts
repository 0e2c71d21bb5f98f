import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { TrustedHeaderGuard } from '../guards/trusted-header.guard.js';
import { REQUIRED_GROUPS_KEY } from '../trusted-header.constants.js';

export interface GroupsOptions {
  /** `any` (default): one of the groups suffices; `all`: every group is needed. */
  mode?: 'any' | 'all';
}

export interface GroupRequirement {
  readonly groups: readonly string[];
  readonly mode: 'any' | 'all';
}

/**
 * Requires effective local groups: `@Groups('editors', 'admins')` or `@Groups('a', 'b', { mode: 'all' })`.
 * On a handler it replaces the class-level requirement. Checked by TrustedHeaderGuard (403 `missing_group`),
 * which the decorator attaches itself: a route marked with @Groups is never left to a guard that ignores it
 * (such as AuthGuard('trusted-header')). With the global guard as well, the second run is cheap: the
 * identity is parsed once per request and the user comes from the cache. In an execution context other than
 * HTTP, the attached guard applies the requirement to the user that a TrustedHeaderGuard subclass (the
 * APP_GUARD, say) admitted for that very call, and refuses the call (403 `unsupported_context`) when none did.
 */
export function Groups(
  ...args: [...groups: string[], options: GroupsOptions] | string[]
): MethodDecorator & ClassDecorator {
  const last = args[args.length - 1];
  const options: GroupsOptions = typeof last === 'object' && last !== null ? last : {};
  const groups = (args as (string | GroupsOptions)[]).filter((arg): arg is string => typeof arg === 'string');
  if (groups.length === 0) throw new Error('@Groups() needs at least one group name');
  const mode = options.mode ?? 'any';
  if (mode !== 'any' && mode !== 'all') throw new Error(`@Groups() mode must be 'any' or 'all', got ${String(mode)}`);
  return applyDecorators(
    SetMetadata(REQUIRED_GROUPS_KEY, { groups, mode } satisfies GroupRequirement),
    UseGuards(TrustedHeaderGuard),
  );
}
