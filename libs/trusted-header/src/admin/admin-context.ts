import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { recordAuditEvent, type AuditEntry } from '../persistence/audit.js';
import { DatabaseGate } from '../persistence/database-gate.service.js';
import { UserSyncService } from '../sync/user-sync.service.js';

/** An admin's change: `actor` is the admin's username, recorded with the actor type `admin`. */
export type AdminAuditEntry = Omit<AuditEntry, 'actorType'>;

/**
 * What every admin change needs: one bounded transaction that also writes the audit event, and, once it has
 * committed, the identity cache of this instance dropped so the change applies from the next request.
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
    const committed = this.gate.withRunner((runner) =>
      this.gate.inTransaction(runner, () =>
        work(runner, (entry) => recordAuditEvent(runner, { ...entry, actorType: 'admin' })),
      ),
    );
    // A change that outlives the request's time bound may still commit: drop the cache whenever it does, not
    // only when the request is still waiting for it.
    committed.then(
      () => this.userSync.invalidate(),
      () => undefined,
    );
    const result = await this.gate.bounded(committed);
    this.userSync.invalidate();
    return result;
  }
}
