import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ChangeListener } from '../persistence/change-notifications/change-listener.service.js';
import type { ChangeNotice } from '../persistence/change-notifications/change-notice.js';
import { UserSyncService } from './user-sync.service.js';

/**
 * Least time between two passes over the caches. A pass walks every cached identity and session; anyone who can
 * connect to the database can NOTIFY, and a flood of well-formed notices, each costing a pass, would keep the
 * event loop busy for as long as it lasts. Notices that arrive meanwhile wait for the next pass, together.
 */
export const PASS_INTERVAL_MS = 25;

/** Past this many users in one pass, dropping everything is cheaper than looking for each of them. */
export const MAX_USERS_PER_PASS = 256;

/** What a batch of notices asks for: these users, or everyone. */
export type PendingChanges = { readonly users: Set<string>; everyone: boolean };

/** Adds a notice to the batch waiting for the next pass. */
export function addNotice(pending: PendingChanges, notice: ChangeNotice): void {
  if (notice.kind === 'user') pending.users.add(notice.userId);
  else pending.everyone = true;
}

/** Applies a batch of notices to what this instance remembers. */
export function applyChanges(
  userSync: Pick<UserSyncService, 'invalidate' | 'invalidateUsers'>,
  pending: PendingChanges,
): void {
  if (pending.everyone || pending.users.size > MAX_USERS_PER_PASS) userSync.invalidate();
  else userSync.invalidateUsers(pending.users);
}

/**
 * Drops what other instances' changes made stale, as the listener hears of them: the users named, or everything
 * for anything else (a mapping or group change, an unreadable payload, a listener that has just reconnected). A
 * notice only makes the next request read the database. Notices are applied in batches, at most one pass every
 * PASS_INTERVAL_MS, so the cost of a flood is bounded whatever its size.
 */
@Injectable()
export class ChangeInvalidation implements OnModuleDestroy {
  private pending: PendingChanges = { users: new Set(), everyone: false };
  private timer: NodeJS.Timeout | undefined;
  private lastPass = 0;

  constructor(
    listener: ChangeListener,
    private readonly userSync: UserSyncService,
  ) {
    listener.subscribe((notice) => this.queue(notice));
  }

  onModuleDestroy(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private queue(notice: ChangeNotice): void {
    addNotice(this.pending, notice);
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastPass + PASS_INTERVAL_MS - performance.now());
    this.timer = setTimeout(() => this.pass(), wait);
    this.timer.unref();
  }

  private pass(): void {
    this.timer = undefined;
    this.lastPass = performance.now();
    const pending = this.pending;
    this.pending = { users: new Set(), everyone: false };
    applyChanges(this.userSync, pending);
  }
}
