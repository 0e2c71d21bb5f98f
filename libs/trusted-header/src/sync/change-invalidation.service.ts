import { Injectable } from '@nestjs/common';
import { ChangeListener } from '../persistence/change-notifications/change-listener.service.js';
import type { ChangeNotice } from '../persistence/change-notifications/change-notice.js';
import { UserSyncService } from './user-sync.service.js';

/** Applies a change notice to what this instance remembers. */
export function applyChangeNotice(
  userSync: Pick<UserSyncService, 'invalidate' | 'invalidateUser'>,
  notice: ChangeNotice,
): void {
  if (notice.kind === 'user') userSync.invalidateUser(notice.userId);
  else userSync.invalidate();
}

/**
 * Drops what other instances' changes made stale, as the listener hears of them: one user's identities and
 * sessions for a notice of that user, everything for anything else (a mapping or group change, an unreadable
 * payload, a listener that has just reconnected). A notice only makes the next request read the database.
 */
@Injectable()
export class ChangeInvalidation {
  constructor(listener: ChangeListener, userSync: UserSyncService) {
    listener.subscribe((notice) => applyChangeNotice(userSync, notice));
  }
}
