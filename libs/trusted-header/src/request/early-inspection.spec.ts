import { inspectBeforeMiddleware } from './early-inspection.js';

type Hook = (request: unknown, response: unknown, done: () => void) => unknown;

/** Keeps its hook in `onRequestHook`, as Nest's Express and Fastify adapters do, and runs it per request. */
class KeepingAdapter {
  onRequestHook?: Hook;
  setOnRequestHook(hook: Hook): void {
    this.onRequestHook = hook;
  }
  handle(request: string): string[] {
    const order: string[] = [];
    (this.onRequestHook ?? ((_request, _response, done) => done()))(request, order, () => order.push('route'));
    return order;
  }
}

describe('inspectBeforeMiddleware', () => {
  const inspectInto = (request: unknown, response: unknown) =>
    (response as string[]).push(`inspect ${String(request)}`);
  const appHook: Hook = (_request, response, done) => {
    (response as string[]).push('app hook');
    done();
  };

  it('puts the inspection before a hook set before it and any set later, however it is set', () => {
    const adapter = new KeepingAdapter();
    adapter.setOnRequestHook(appHook);
    expect(inspectBeforeMiddleware(adapter, inspectInto)).toBe(true);
    expect(adapter.handle('a')).toEqual(['inspect a', 'app hook', 'route']);
    adapter.setOnRequestHook(appHook);
    expect(adapter.handle('b')).toEqual(['inspect b', 'app hook', 'route']);
    KeepingAdapter.prototype.setOnRequestHook.call(adapter, appHook);
    expect(adapter.handle('c')).toEqual(['inspect c', 'app hook', 'route']);
    adapter.onRequestHook = appHook;
    expect(adapter.handle('d')).toEqual(['inspect d', 'app hook', 'route']);
    adapter.onRequestHook = undefined;
    expect(adapter.handle('e')).toEqual(['inspect e', 'route']);
    expect(() => Object.defineProperty(adapter, 'onRequestHook', { value: appHook })).toThrow(TypeError);
    expect(adapter.handle('f')).toEqual(['inspect f', 'route']);
  });

  it.each([
    ['has no setOnRequestHook', {}],
    ['has the base class’s setOnRequestHook, which keeps nothing', { setOnRequestHook: () => undefined }],
    [
      'keeps the hook elsewhere',
      new (class {
        kept: Hook | undefined;
        setOnRequestHook(hook: Hook) {
          this.kept = hook;
        }
      })(),
    ],
  ] as [string, object][])('declines (the caller inspects another way) for an adapter that %s', (_what, adapter) => {
    expect(inspectBeforeMiddleware(adapter, inspectInto)).toBe(false);
    expect(Object.getOwnPropertyDescriptor(adapter, 'onRequestHook')?.get).toBeUndefined();
  });
});
