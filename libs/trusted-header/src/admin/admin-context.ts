import { Injectable, Optional } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { recordAuditEvent, type AuditEntry } from '../persistence/audit.js';
import type { ChangeNotice } from '../persistence/change-notifications/change-notice.js';
import {
  announceChange,
  mergeNotices,
  noticeOfAuditEvent,
} from '../persistence/change-notifications/announce-change.js';
import { DatabaseGate } from '../persistence/database-gate.service.js';
import { NO_METRICS, TrustedHeaderMetrics, type SessionEnd } from '../observability/trusted-header-metrics.js';
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
    @Optional() private readonly metrics: TrustedHeaderMetrics = NO_METRICS,
  ) {}

  async apply<T>(
    work: (runner: QueryRunner, audit: (entry: AdminAuditEntry) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    const notices: ChangeNotice[] = [];
    const revoked: AdminAuditEntry[] = [];
    const committed = this.gate.withRunner((runner) =>
      this.gate.inTransaction(runner, async () => {
        const result = await work(runner, (entry) => {
          const notice = noticeOfAuditEvent(entry);
          if (notice !== null) notices.push(notice);
          if (entry.type === 'session_revoked') revoked.push(entry);
          return recordAuditEvent(runner, { ...entry, actorType: 'admin' });
        });
        for (const notice of mergeNotices(notices)) await announceChange(runner, notice);
        return result;
      }),
    );
    // A change that outlives the request's time bound may still commit: drop the cache whenever it does, not
    // only when the request is still waiting for it.
    committed.then(
      () => this.forget(notices),
      () => undefined,
    );
    const result = await this.gate.bounded(committed);
    this.forget(notices);
    for (const entry of revoked) this.countRevoked(entry);
    return result;
  }

  /** An admin ends one session (`sessionId`) or, disabling a user, all of them (`sessionIds`). */
  private countRevoked({ details }: AdminAuditEntry): void {
    const reason = details?.reason;
    if (reason !== 'admin' && reason !== 'user_disabled') return;
    const ids = details?.sessionIds;
    this.metrics.sessionsRevoked(reason satisfies SessionEnd, Array.isArray(ids) ? ids.length : 1);
  }

  private forget(notices: readonly ChangeNotice[]): void {
    for (const notice of mergeNotices(notices)) {
      if (notice.kind === 'all') this.userSync.invalidate();
      else this.userSync.invalidateUser(notice.userId);
    }
  }
}
