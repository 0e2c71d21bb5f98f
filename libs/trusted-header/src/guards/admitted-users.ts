import type { ExecutionContext } from '@nestjs/common';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';

/**
 * Which user a TrustedHeaderGuard admitted for one call of a handler outside HTTP (RPC, WebSocket, GraphQL
 * through a subclass), for what runs after it in that call: the TrustedHeaderGuard that @Groups() attaches,
 * and @CurrentUser(). Over HTTP both read `request.user` and nothing is recorded here.
 *
 * Nest hands every guard of a call the same arguments array, and param decorators a copy of it holding the
 * same objects (payload, client, RPC or GraphQL context). So an admission is filed under the array and under
 * each object in it, and is found again only for a call with the very same arguments: an object that outlives
 * a call (a WebSocket client) cannot carry a user into a call with other arguments. WeakMaps, so nothing is
 * written onto those objects and nothing outlives them.
 */
interface Admission {
  readonly args: readonly unknown[];
  /** Undefined: a guard that can authenticate this context took the call and has admitted nobody (yet). */
  readonly user: AuthenticatedUser | undefined;
}

/**
 * Calls can overlap on one shared object (messages with primitive payloads on one WebSocket connection, each
 * waiting for the database), so the latest few admissions filed under an object are kept, not only the last.
 * Past that a call finds no user: it is refused, never given another call's user.
 */
const ADMISSIONS_KEPT_PER_OBJECT = 16;

const admissions = new WeakMap<object, Admission[]>();

/**
 * Files who a guard admitted for this call; `undefined` when a guard that can authenticate the call starts on
 * it, so an earlier call with equal arguments (a long-lived client and the same primitive payload) can never
 * lend its user to this one, whatever this call's guard decides. The arguments are copied: an interceptor
 * that rewrites the array in place must not change which call an admission belongs to.
 */
export function recordAdmission(context: ExecutionContext, user: AuthenticatedUser | undefined): void {
  const args = [...context.getArgs()];
  const admission: Admission = { args, user };
  file(args, admission);
  for (const arg of args) {
    if (isObject(arg)) file(arg, admission);
  }
}

/** The user a TrustedHeaderGuard admitted for this very call, if any: the newest admission that matches it. */
export function admittedUserOf(context: ExecutionContext): AuthenticatedUser | undefined {
  const args = context.getArgs();
  for (const arg of args) {
    if (!isObject(arg)) continue;
    const found = findUnder(arg, args);
    if (found !== undefined) return found.user;
  }
  return findUnder(args, args)?.user;
}

function file(key: object, admission: Admission): void {
  const kept = admissions.get(key);
  if (kept === undefined) {
    admissions.set(key, [admission]);
    return;
  }
  kept.push(admission);
  if (kept.length > ADMISSIONS_KEPT_PER_OBJECT) kept.shift();
}

function findUnder(key: object, args: readonly unknown[]): Admission | undefined {
  const kept = admissions.get(key);
  if (kept === undefined) return undefined;
  for (let i = kept.length - 1; i >= 0; i--) {
    if (sameArguments(kept[i]!.args, args)) return kept[i];
  }
  return undefined;
}

function sameArguments(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) return false;
  }
  return true;
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}
