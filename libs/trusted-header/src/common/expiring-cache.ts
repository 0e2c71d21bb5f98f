/**
 * lru-cache settings for the caches read on every request (identities, users by id, sessions), whose entries
 * expire after a TTL:
 * - no purge timers: an entry past its TTL is dropped when next read;
 * - the clock read on every lookup (`ttlResolution: 0`). The default memoises `performance.now()` for 1 ms and
 *   starts an unref'd timer to forget it each time: under load that is a timer per millisecond per cache, where
 *   a clock read costs tens of nanoseconds.
 */
export const EXPIRING_CACHE = { ttlAutopurge: false, ttlResolution: 0 } as const;
