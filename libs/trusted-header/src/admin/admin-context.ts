import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { recordAuditEvent, type AuditEntry } from '../persistence/audit.js';
import type { ChangeNotice } from '../persistence/change-notifications/change-notice.js';
import { noticeOfAuditEvent } from '../persistence/change-notifications/announce-change.js';
import { DatabaseGate } from '../persistence/database-gate.service.js';
import { UserSyncService } from '../sync/user-sync.service.js';

/** An admin's change: `actor` is the admin's username, recorded with the actor type `admin`. */
export type AdminAuditEntry = Omit<AuditEntry, 'actorType'>;

/**
 * What every admin change needs: one bounded transaction that also writes the audit event (which announces the
 * change to the other instances at commit), and, once it has committed, what this instance cached of the
 * change dropped, so it applies from the next request: the users the audit events name, or everyone after a
 * group or mapping change.
 */
@Injectable()
export class AdminChanges {
  constructor(
    readonly gate: DatabaseGate,
    private readonly userSync: UserSyncService,
  ) {}

  async apply<T>(
    work: (runner: QueryRunner, audit: (entry: AdminAuditEntry) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    const notices: ChangeNotice[] = [];
    const committed = this.gate.withRunner((runner) =>
      this.gate.inTransaction(runner, () =>
        work(runner, (entry) => {
          const notice = noticeOfAuditEvent(entry);
          if (notice !== null) notices.push(notice);
          return recordAuditEvent(runner, { ...entry, actorType: 'admin' });
        }),
      ),
    );
    // A change that outlives the request's time bound may still commit: drop the cache whenever it does, not
    // only when the request is still waiting for it.
    committed.then(
      () => this.forget(notices),
      () => undefined,
    );
    const result = await this.gate.bounded(committed);
    this.forget(notices);
    return result;
  }

  private forget(notices: readonly ChangeNotice[]): void {
    const users = new Set<string>();
    for (const notice of notices) {
      if (notice.kind === 'all') {
        this.userSync.invalidate();
        return;
      }
      users.add(notice.userId);
    }
    for (const userId of users) this.userSync.invalidateUser(userId);
  }
}
