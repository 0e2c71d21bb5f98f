import { addNotice, applyChanges, MAX_USERS_PER_PASS, type PendingChanges } from './change-invalidation.service.js';

function recorder() {
  const calls: string[] = [];
  return {
    calls,
    invalidate: () => calls.push('everyone'),
    invalidateUsers: (users: ReadonlySet<string>) => calls.push(`users:${[...users].sort().join(',')}`),
  };
}

const empty = (): PendingChanges => ({ users: new Set(), everyone: false });

describe('change notices applied in batches', () => {
  it('drops the users named in one pass, each once', () => {
    const pending = empty();
    for (const userId of ['b', 'a', 'b']) addNotice(pending, { kind: 'user', userId });
    const sync = recorder();
    applyChanges(sync, pending);
    expect(sync.calls).toEqual(['users:a,b']);
  });

  it('drops everything when any notice is about everyone', () => {
    const pending = empty();
    addNotice(pending, { kind: 'user', userId: 'a' });
    addNotice(pending, { kind: 'all' });
    const sync = recorder();
    applyChanges(sync, pending);
    expect(sync.calls).toEqual(['everyone']);
  });

  it('drops everything rather than look for more users than a pass is worth (a flood of notices)', () => {
    const pending = empty();
    for (let i = 0; i <= MAX_USERS_PER_PASS; i++) addNotice(pending, { kind: 'user', userId: `u${i}` });
    const sync = recorder();
    applyChanges(sync, pending);
    expect(sync.calls).toEqual(['everyone']);
  });
});
