import { Injectable } from '@nestjs/common';
import type { AuditActorType } from '../../persistence/audit.js';
import { DatabaseGate } from '../../persistence/database-gate.service.js';
import type { AuditEventsQueryDto } from '../dto/admin.dto.js';
import type { Page } from '../dto/page.dto.js';
import { paginate } from '../paginate.js';

export interface AuditEventView {
  id: string;
  occurredAt: string;
  type: string;
  actorType: AuditActorType;
  actor: string;
  userId: string | null;
  username: string | null;
  details: Record<string, unknown>;
}

/** The audit trail, newest first, filterable by type, actor, user and time. */
@Injectable()
export class AuditEventsService {
  constructor(private readonly gate: DatabaseGate) {}

  list(query: AuditEventsQueryDto): Promise<Page<AuditEventView>> {
    const where: string[] = [];
    const parameters: unknown[] = [];
    const filter = (condition: (parameter: string) => string, value: unknown) => {
      parameters.push(value);
      where.push(condition(`$${parameters.length}`));
    };
    if (query.type !== undefined) filter((p) => `type = ${p}`, query.type);
    if (query.actorType !== undefined) filter((p) => `actor_type = ${p}`, query.actorType);
    if (query.actor !== undefined) filter((p) => `actor = ${p}`, query.actor);
    if (query.user !== undefined) filter((p) => `username = ${p}`, query.user);
    if (query.since !== undefined) filter((p) => `occurred_at >= ${p}::timestamptz`, query.since);
    if (query.until !== undefined) filter((p) => `occurred_at < ${p}::timestamptz`, query.until);
    return paginate<AuditEventView>(
      this.gate,
      {
        select: `id::text AS id, occurred_at AS "occurredAt", type, actor_type AS "actorType", actor, user_id AS "userId", username, details`,
        from: 'auth_proxy_audit_events',
        where,
        parameters,
        orderBy: 'occurred_at DESC, id DESC',
      },
      query,
    );
  }
}
