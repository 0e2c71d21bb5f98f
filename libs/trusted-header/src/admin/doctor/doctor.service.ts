import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  configurationWarnings,
  type ConfigurationWarning,
  type RuntimeState,
} from '../../config/configuration-warnings.js';
import type { ResolvedTrustedHeaderOptions } from '../../config/trusted-header-options.js';
import { ChangeListener } from '../../persistence/change-notifications/change-listener.service.js';
import { DatabaseGate } from '../../persistence/database-gate.service.js';
import { RequestInspector } from '../../request/request-inspector.service.js';
import { formatRequestReport, type RequestReport } from '../../request/request-report.js';
import type { AuthenticatedUser } from '../../sync/authenticated-user.js';
import { effectiveGroups, type EffectiveGroup } from '../../sync/effective-groups.js';
import { TRUSTED_HEADER_OPTIONS } from '../../trusted-header.constants.js';

export interface DoctorReport {
  readonly request: RequestReport;
  readonly user: {
    readonly id: string;
    readonly username: string;
    readonly isAdmin: boolean;
    /** What said who the user is: identity headers, a verified assertion, or a session cookie. */
    readonly authenticatedBy: 'headers' | 'assertion' | 'session';
    readonly groups: EffectiveGroup[];
  };
  readonly warnings: ConfigurationWarning[];
}

/**
 * GET /admin/doctor: the caller's own request as the library saw it (peer, profiles and their checks, identity
 * headers, what was removed, the identity), the caller's effective groups with where each comes from, and
 * warnings about the configuration. Written to the log at debug level too. Refused requests never reach it:
 * the strategy logs the same report for them (at debug level).
 */
@Injectable()
export class DoctorService {
  private readonly logger = new Logger('TrustedHeader');

  constructor(
    private readonly inspector: RequestInspector,
    private readonly gate: DatabaseGate,
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
    @Optional() private readonly listener?: ChangeListener,
  ) {}

  async diagnose(request: unknown, user: AuthenticatedUser): Promise<DoctorReport> {
    const report = await this.inspector.report(request);
    // The admin guard admitted the request, so it is an HTTP request Node made: a report always exists.
    if (report === null) throw new Error('GET /admin/doctor reached without an HTTP request');
    const groups = await effectiveGroups(
      (sql: string, parameters: unknown[]) => this.gate.query(sql, parameters),
      this.options,
      user.externalGroups,
      user.id,
    );
    const profile = this.options.profiles.find((candidate) => candidate.name === report.profile);
    const doctor: DoctorReport = {
      request: report,
      user: {
        id: user.id,
        username: user.username,
        isAdmin: user.isAdmin,
        authenticatedBy:
          report.identity.outcome !== 'identity' ? 'session' : profile?.assertion ? 'assertion' : 'headers',
        groups,
      },
      warnings: configurationWarnings(this.options, this.runtimeState()),
    };
    if (Logger.isLevelEnabled('debug')) this.logger.debug(formatDoctorReport(doctor));
    return doctor;
  }

  /** What the warnings need to know of the running application beyond its options. */
  protected runtimeState(): RuntimeState {
    return { listener: this.listenerState() };
  }

  /**
   * Whether the change listener (LISTEN/NOTIFY) is connected; null when it does not run (embedded PGlite, or an
   * application without it).
   */
  protected listenerState(): RuntimeState['listener'] {
    const listener = this.listener;
    if (listener === undefined || listener === null || listener.state === 'off') return null;
    return { connected: listener.connected };
  }
}

/** The doctor's report as one log line: the request's report, the groups and their sources, the warnings. */
export function formatDoctorReport(doctor: DoctorReport): string {
  const groups = doctor.user.groups
    .map(
      (group) =>
        `${group.name} (${group.sources
          .map((source) => (source.type === 'manual' ? 'manual grant' : `${source.type} of ${source.externalGroup}`))
          .join(', ')})`,
    )
    .join(', ');
  const warnings = doctor.warnings.map((warning) => warning.code).join(', ');
  return (
    `doctor: ${formatRequestReport(doctor.request)}; user ${JSON.stringify(doctor.user.username)} by ` +
    `${doctor.user.authenticatedBy}, groups: ${groups || 'none'}; warnings: ${warnings || 'none'}`
  );
}
