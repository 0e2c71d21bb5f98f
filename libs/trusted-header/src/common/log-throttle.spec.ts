import fc from 'fast-check';
import { LogThrottle } from './log-throttle.js';

describe('LogThrottle', () => {
  it('admits the first line of a key with nothing suppressed', () => {
    expect(new LogThrottle(60_000).admit('10.0.0.9', 1_000)).toBe(0);
  });

  it('admits one line per key per interval and reports how many were held back', () => {
    const throttle = new LogThrottle(60_000);
    expect(throttle.admit('peer', 0)).toBe(0);
    expect(throttle.admit('peer', 1)).toBeNull();
    expect(throttle.admit('peer', 30_000)).toBeNull();
    expect(throttle.admit('peer', 59_999)).toBeNull();
    expect(throttle.admit('peer', 60_000)).toBe(3);
    // The count restarts after being reported, and the interval restarts from the admitted line.
    expect(throttle.admit('peer', 60_001)).toBeNull();
    expect(throttle.admit('peer', 119_999)).toBeNull();
    expect(throttle.admit('peer', 120_000)).toBe(2);
    expect(throttle.admit('peer', 500_000)).toBe(0);
  });

  it('keeps keys independent', () => {
    const throttle = new LogThrottle(1_000);
    expect(throttle.admit('a', 0)).toBe(0);
    expect(throttle.admit('b', 10)).toBe(0);
    expect(throttle.admit('a', 20)).toBeNull();
    expect(throttle.admit('a', 30)).toBeNull();
    expect(throttle.admit('b', 40)).toBeNull();
    expect(throttle.admit('a', 1_000)).toBe(2);
    expect(throttle.admit('b', 1_000)).toBeNull();
    expect(throttle.admit('b', 1_010)).toBe(2);
  });

  it('an interval of 0 admits every line', () => {
    const throttle = new LogThrottle(0);
    expect(throttle.admit('k', 5)).toBe(0);
    expect(throttle.admit('k', 5)).toBe(0);
    expect(throttle.admit('k', 5)).toBe(0);
  });

  it('uses the current time when none is given', () => {
    const throttle = new LogThrottle(60_000);
    expect(throttle.admit('k')).toBe(0);
    expect(throttle.admit('k')).toBeNull();
  });

  it('bounds the number of tracked keys: a flood of distinct keys cannot grow memory', () => {
    const throttle = new LogThrottle(60_000);
    const size = () => (throttle as unknown as { lastLogged: Map<string, unknown> }).lastLogged.size;
    expect(throttle.admit('victim', 0)).toBe(0);
    expect(throttle.admit('victim', 1)).toBeNull();
    for (let i = 0; i < 20_000; i++) {
      expect(throttle.admit(`flood-${i}`, 2)).toBe(0);
      expect(size()).toBeLessThanOrEqual(4096);
    }
    // The flood pushed the old key out: it is admitted again, and its held-back count is lost with it.
    expect(throttle.admit('victim', 3)).toBe(0);
  });

  it('tracks up to 4096 keys without forgetting any of them', () => {
    const throttle = new LogThrottle(60_000);
    for (let i = 0; i < 4096; i++) throttle.admit(`k${i}`, 0);
    for (let i = 0; i < 4096; i++) expect(throttle.admit(`k${i}`, 1)).toBeNull();
  });

  it('property: per key, admitted lines are at least one interval apart and report exactly the lines skipped', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 500 })), { maxLength: 200 }),
        (interval, steps) => {
          const throttle = new LogThrottle(interval);
          const model = new Map<string, { at: number; skipped: number }>();
          let now = 0;
          for (const [key, delta] of steps) {
            now += delta;
            const result = throttle.admit(key, now);
            const state = model.get(key);
            if (state && now - state.at < interval) {
              state.skipped += 1;
              expect(result).toBeNull();
            } else {
              expect(result).toBe(state?.skipped ?? 0);
              model.set(key, { at: now, skipped: 0 });
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
