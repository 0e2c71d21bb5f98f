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

  it('puts the inspection before a hook set before it and any set later through the adapter’s method', () => {
    const adapter = new KeepingAdapter();
    adapter.setOnRequestHook(appHook);
    expect(inspectBeforeMiddleware(adapter, inspectInto)).toBe(true);
    expect(adapter.handle('a')).toEqual(['inspect a', 'app hook', 'route']);
    adapter.setOnRequestHook(appHook);
    expect(adapter.handle('b')).toEqual(['inspect b', 'app hook', 'route']);
    adapter.setOnRequestHook(undefined as unknown as Hook);
    expect(adapter.handle('c')).toEqual(['inspect c', 'route']);
  });

  it('keeps the method in place: it cannot be assigned, deleted or redefined away', () => {
    const adapter = new KeepingAdapter();
    inspectBeforeMiddleware(adapter, inspectInto);
    const method = adapter.setOnRequestHook;
    expect(() => {
      adapter.setOnRequestHook = () => undefined;
    }).toThrow(TypeError);
    expect(() => delete (adapter as Partial<KeepingAdapter>).setOnRequestHook).toThrow(TypeError);
    expect(() => Object.defineProperty(adapter, 'setOnRequestHook', { value: () => undefined })).toThrow(TypeError);
    expect(adapter.setOnRequestHook).toBe(method);
    adapter.setOnRequestHook(appHook);
    expect(adapter.handle('a')).toEqual(['inspect a', 'app hook', 'route']);
  });

  it('leaves the field a plain data property, so the adapter keeps its fast layout', () => {
    const adapter = new KeepingAdapter();
    inspectBeforeMiddleware(adapter, inspectInto);
    const field = Object.getOwnPropertyDescriptor(adapter, 'onRequestHook');
    expect(field?.get).toBeUndefined();
    expect(typeof field?.value).toBe('function');
  });

  it('calls a subclass’s own setOnRequestHook, which reaches the field through super', () => {
    const calls: string[] = [];
    class Subclass extends KeepingAdapter {
      override setOnRequestHook(hook: Hook): void {
        calls.push('subclass');
        super.setOnRequestHook(hook);
      }
    }
    const adapter = new Subclass();
    expect(inspectBeforeMiddleware(adapter, inspectInto)).toBe(true);
    adapter.setOnRequestHook(appHook);
    expect(calls).toEqual(['subclass', 'subclass']);
    expect(adapter.handle('a')).toEqual(['inspect a', 'app hook', 'route']);
  });

  it('inspects before a request hook stored past the method, where the adapter runs its hook through runLifecycleHook', () => {
    const ran: string[] = [];
    class RunningAdapter extends KeepingAdapter {
      runLifecycleHook(hook: Hook, request: unknown, response: unknown, done: () => void): unknown {
        ran.push('run');
        return hook.call(this, request, response, done);
      }
      override handle(request: string): string[] {
        const order: string[] = [];
        if (this.onRequestHook) this.runLifecycleHook(this.onRequestHook, request, order, () => order.push('route'));
        else order.push('route');
        return order;
      }
    }
    const adapter = new RunningAdapter();
    expect(inspectBeforeMiddleware(adapter, inspectInto)).toBe(true);
    // The library's own hook inspects itself: no second inspection.
    expect(adapter.handle('a')).toEqual(['inspect a', 'route']);
    adapter.setOnRequestHook(appHook);
    expect(adapter.handle('b')).toEqual(['inspect b', 'app hook', 'route']);
    adapter.onRequestHook = appHook;
    expect(adapter.handle('c')).toEqual(['inspect c', 'app hook', 'route']);
    RunningAdapter.prototype.setOnRequestHook.call(adapter, appHook);
    expect(adapter.handle('d')).toEqual(['inspect d', 'app hook', 'route']);
    // Another hook it runs (the response hook) is not the request's: no inspection.
    const other: string[] = [];
    adapter.runLifecycleHook(
      (_request, response, done) => (response as string[]).push('other') && done(),
      'e',
      other,
      () => other.push('done'),
    );
    expect(other).toEqual(['other', 'done']);
    expect(ran).toHaveLength(5);
    expect(() => {
      adapter.runLifecycleHook = () => undefined;
    }).toThrow(TypeError);
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
