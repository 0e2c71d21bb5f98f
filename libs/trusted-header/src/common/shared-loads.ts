/**
 * Database loads shared by key: callers asking for a key while its load is under way join that load, so many
 * concurrent requests of one user cost one round. `forget()` lets go of every load under way: its result is not
 * kept (a change made meanwhile must not be undone by a read made before it), and a caller that comes after
 * starts a new load rather than joining one made before the change.
 *
 * A load stays registered until it settles, even when its callers stopped waiting (each applies its own time
 * bound), so a slow row holds one connection, not one per request.
 */
export class SharedLoads<K, V> {
  private readonly pending = new Map<K, Promise<V>>();
  private generation = 0;

  /** The load of `key` under way, or a new one from `start`; `keep` receives its value unless forgotten since. */
  load(key: K, start: () => Promise<V>, keep: (value: V) => void): Promise<V> {
    let pending = this.pending.get(key);
    if (pending === undefined) {
      const generation = this.generation;
      const load = start();
      pending = load;
      this.pending.set(key, load);
      load
        .then(
          (value) => {
            if (this.generation === generation) keep(value);
          },
          () => undefined,
        )
        .finally(() => {
          if (this.pending.get(key) === load) this.pending.delete(key);
        });
    }
    return pending;
  }

  forget(): void {
    this.generation += 1;
    this.pending.clear();
  }
}
