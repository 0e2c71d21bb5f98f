/** Bound on tracked keys, so that a flood of distinct peers cannot grow memory. */
const MAX_KEYS = 4096;

/**
 * Allows one log line per key per interval and counts what it held back, so an attacker (or an outage)
 * cannot flood the log while the operator still learns how often it happened.
 */
export class LogThrottle {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly intervalMs: number) {}

  /** Returns null when the line must be skipped, otherwise how many lines were skipped since the last one. */
  admit(key: string, now = Date.now()): number | null {
    const entry = this.lastLogged.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed += 1;
      return null;
    }
    if (!entry && this.lastLogged.size >= MAX_KEYS) this.lastLogged.clear();
    const suppressed = entry?.suppressed ?? 0;
    this.lastLogged.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }
}

/** At most `limit` log lines per window across all keys: the ceiling a flood of distinct keys cannot pass. */
export class LogBudget {
  private windowStart = 0;
  private used = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  spend(now = Date.now()): boolean {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= this.limit) return false;
    this.used += 1;
    return true;
  }
}
