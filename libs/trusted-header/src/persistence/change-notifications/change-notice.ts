import { randomUUID } from 'node:crypto';

/**
 * What one instance tells the others through PostgreSQL NOTIFY when it changes who a user is. A notice is a
 * hint to read the database again, never data: any role that can connect may NOTIFY on any channel, so a notice
 * can only make an instance forget what it remembers. Whatever cannot be read as a notice of one user forgets
 * everything, so no payload can keep a stale entry alive.
 */
export const CHANGE_CHANNEL = 'trusted_header_changes';

/** One user's identity, groups, grants or sessions changed; or something that may touch every user. */
export type ChangeNotice = { readonly kind: 'user'; readonly userId: string } | { readonly kind: 'all' };

export const EVERYONE: ChangeNotice = Object.freeze({ kind: 'all' });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A notice as sent: `from` is the sending instance's id (senderIdOf), so that it can skip its own notices. */
export interface ChangeMessage {
  readonly notice: ChangeNotice;
  /** null when the payload names no sender or is not one this library sends. */
  readonly from: string | null;
  /** Whether the payload is exactly what this library sends (anything else is logged, then read as EVERYONE). */
  readonly wellFormed: boolean;
}

/** The payload: `{"user":"<uuid>","from":"<uuid>"}` or `{"all":true,"from":"<uuid>"}`. */
export function encodeChangeNotice(notice: ChangeNotice, from: string | null = null): string {
  const body: Record<string, unknown> = notice.kind === 'user' ? { user: notice.userId } : { all: true };
  if (from !== null) body.from = from;
  return JSON.stringify(body);
}

/** Reads a payload; anything but a well-formed notice of one user means every user. Never throws. */
export function decodeChangeNotice(payload: string | undefined): ChangeNotice {
  return decodeChangeMessage(payload).notice;
}

export function decodeChangeMessage(payload: string | undefined): ChangeMessage {
  const unexpected: ChangeMessage = { notice: EVERYONE, from: null, wellFormed: false };
  if (payload === undefined || payload.length > 200) return unexpected;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return unexpected;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return unexpected;
  const { user, all, from } = parsed as { user?: unknown; all?: unknown; from?: unknown };
  const sender = typeof from === 'string' && UUID.test(from) ? from : null;
  const notice: ChangeNotice | null =
    typeof user === 'string' && UUID.test(user) ? { kind: 'user', userId: user } : all === true ? EVERYONE : null;
  if (notice === null || encodeChangeNotice(notice, sender) !== payload) return unexpected;
  return { notice, from: sender, wellFormed: true };
}

/** Whether a payload is one this library sends. */
export function isWellFormedNotice(payload: string | undefined): boolean {
  return decodeChangeMessage(payload).wellFormed;
}

/** Wait before reconnect attempt `attempt` (1, 2, ...): doubling from `firstMs`, never more than `maxMs`. */
export function reconnectDelay(attempt: number, firstMs = 100, maxMs = 5_000): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(firstMs * 2 ** exponent, maxMs);
}

const senderIds = new WeakMap<object, string>();

/**
 * A random id per DataSource, hence per application instance (two instances in one process have one each).
 * The instance that made a change has already dropped what the change made stale; the id in its notice lets it
 * skip its own notice instead of dropping the entries it has just refreshed. A forged notice that carries this
 * id is skipped too, which costs nothing: notices only ever make an instance forget.
 */
export function senderIdOf(dataSource: object): string {
  let id = senderIds.get(dataSource);
  if (id === undefined) {
    id = randomUUID();
    senderIds.set(dataSource, id);
  }
  return id;
}
