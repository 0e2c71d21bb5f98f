import { SharedLoads } from './shared-loads.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

describe('SharedLoads', () => {
  it('lets concurrent callers of one key join one load, and keeps its value', async () => {
    const loads = new SharedLoads<string, number>();
    const kept: number[] = [];
    const load = deferred<number>();
    let starts = 0;
    const start = () => ((starts += 1), load.promise);
    const first = loads.load('a', start, (value) => kept.push(value));
    const second = loads.load('a', start, (value) => kept.push(value));
    expect(second).toBe(first);
    load.resolve(7);
    await expect(first).resolves.toBe(7);
    await Promise.resolve();
    expect({ starts, kept }).toEqual({ starts: 1, kept: [7] });
  });

  it('after forget(), a load under way is not kept and is not joined by later callers', async () => {
    const loads = new SharedLoads<string, number>();
    const kept: number[] = [];
    const old = deferred<number>();
    const before = loads.load(
      'a',
      () => old.promise,
      (value) => kept.push(value),
    );
    loads.forget();
    const after = loads.load(
      'a',
      () => Promise.resolve(2),
      (value) => kept.push(value),
    );
    expect(after).not.toBe(before);
    old.resolve(1);
    await Promise.all([before, after]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(kept).toEqual([2]);
  });

  it('a failed load is let go, and the next caller starts a new one', async () => {
    const loads = new SharedLoads<string, number>();
    await expect(
      loads.load(
        'a',
        () => Promise.reject(new Error('down')),
        () => undefined,
      ),
    ).rejects.toThrow('down');
    await new Promise((resolve) => setImmediate(resolve));
    await expect(
      loads.load(
        'a',
        () => Promise.resolve(3),
        () => undefined,
      ),
    ).resolves.toBe(3);
  });
});
