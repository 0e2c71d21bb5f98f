/** A value now, or later: the hot path answers cached users without allocating a promise. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * `run()`, then `onValue` or `onError`, staying synchronous when `run` is: one place where the synchronous fast
 * path and the promise path meet. As with `promise.then(onValue, onError)`, an error thrown by `onValue` is not
 * passed to `onError`.
 */
export function settle<T, R>(
  run: () => MaybePromise<T>,
  onValue: (value: T) => MaybePromise<R>,
  onError: (error: unknown) => MaybePromise<R>,
): MaybePromise<R> {
  let value: MaybePromise<T>;
  try {
    value = run();
  } catch (error) {
    return onError(error);
  }
  return value instanceof Promise ? value.then(onValue, onError) : onValue(value);
}
