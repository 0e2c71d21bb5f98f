import { twinKey } from './header-names.js';
import type { IdentityRules } from './identity.js';

/** What an identity-related header carries: a field of the identity, or the proxy's signed assertion. */
export type IdentityHeaderRole = 'user' | 'email' | 'name' | 'groups' | 'subject' | 'assertion';

/** One header the identity is read from, by its configured (display) name. */
export interface WatchedHeader {
  readonly role: IdentityHeaderRole;
  readonly header: string;
}

/** One identity-related header line of a request, as it would appear in a report. */
export interface SeenIdentityHeader {
  /** The name as sent. */
  readonly name: string;
  readonly role: IdentityHeaderRole;
  /** The username as sent; every other value is replaced by REDACTED (emails, groups, subjects, tokens). */
  readonly value: string;
}

/**
 * What makes a request's identity ambiguous, by the reason code the request is refused with: a header sent
 * twice, a twin spelling of one (`Remote_User` for `Remote-User`), or a Connection header naming one.
 */
export interface HeaderFinding {
  readonly reason: 'duplicate_header' | 'header_twin' | 'hop_by_hop_header';
  /** The configured header concerned. */
  readonly header: string;
  readonly detail: string;
}

export interface IdentityHeaderFindings {
  readonly seen: SeenIdentityHeader[];
  readonly findings: HeaderFinding[];
}

export const REDACTED = '[redacted]';

/** The headers a profile's identity comes from: the identity headers, or only the assertion's header. */
export function watchedHeaders(rules: IdentityRules, assertionHeader: string | null): WatchedHeader[] {
  if (assertionHeader !== null) return [{ role: 'assertion', header: assertionHeader }];
  const { headers, subject } = rules;
  return [
    { role: 'user', header: headers.user },
    { role: 'email', header: headers.email },
    { role: 'name', header: headers.name },
    { role: 'groups', header: headers.groups },
    ...(subject === null ? [] : [{ role: 'subject' as const, header: subject.header }]),
  ];
}

/**
 * Every identity-related line of a raw header list and everything ambiguous about them, all of it rather than
 * the first: the identity reader stops at the first problem, since one is enough to refuse, while an operator
 * fixing a proxy wants the whole list. Not on the request path; only the report of one request calls it.
 */
export function findIdentityHeaderProblems(
  watched: readonly WatchedHeader[],
  rawHeaders: readonly string[],
): IdentityHeaderFindings {
  const exact = new Map(watched.map((entry) => [entry.header.toLowerCase(), entry]));
  const twins = new Map(watched.map((entry) => [twinKey(entry.header), entry]));
  const seen: SeenIdentityHeader[] = [];
  const findings: HeaderFinding[] = [];
  const counts = new Map<WatchedHeader, number>();
  const hopByHop: HeaderFinding[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    const entry = exact.get(lower);
    if (entry !== undefined) {
      seen.push({ name, role: entry.role, value: entry.role === 'user' ? value : REDACTED });
      const count = (counts.get(entry) ?? 0) + 1;
      counts.set(entry, count);
      // One finding per header, however many extra lines: the second line is what makes it ambiguous.
      if (count === 2) {
        findings.push({
          reason: 'duplicate_header',
          header: entry.header,
          detail: `Header ${entry.header} appears more than once`,
        });
      }
      continue;
    }
    if (lower === 'connection') {
      for (const part of value.split(',')) {
        const named = twins.get(twinKey(part.trim()));
        if (named !== undefined) {
          hopByHop.push({
            reason: 'hop_by_hop_header',
            header: named.header,
            detail: `Connection names the identity header ${named.header}`,
          });
        }
      }
      continue;
    }
    const twinOf = twins.get(twinKey(name));
    if (twinOf !== undefined) {
      seen.push({ name, role: twinOf.role, value: twinOf.role === 'user' ? value : REDACTED });
      findings.push({
        reason: 'header_twin',
        header: twinOf.header,
        detail: `Header ${name} imitates ${twinOf.header}`,
      });
    }
  }
  // Listed last, as the identity reader weighs them: a duplicate or twin anywhere in the list is named first.
  return { seen, findings: [...findings, ...hopByHop] };
}
