import { sharedGroupList } from './group-lists.js';

describe('sharedGroupList', () => {
  it('hands out one frozen list for equal lists, in the given order, never the caller array', () => {
    const given = ['finance', 'ops', 'staff'];
    const first = sharedGroupList(given);
    expect(first).toEqual(given);
    expect(first).not.toBe(given);
    expect(Object.isFrozen(first)).toBe(true);
    expect(sharedGroupList(['finance', 'ops', 'staff'])).toBe(first);
    expect(sharedGroupList(['ops', 'finance', 'staff'])).toEqual(['ops', 'finance', 'staff']);
    expect(sharedGroupList([])).toEqual([]);
  });

  it('starts over under a flood of distinct names, so what it holds stays bounded', () => {
    const first = sharedGroupList(['flood-probe']);
    for (let i = 0; i < 20_000; i += 1) sharedGroupList([`flood-${i}-${'x'.repeat(20)}`]);
    const again = sharedGroupList(['flood-probe']);
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
  });

  it('freezes a list too long to remember without remembering it', () => {
    const huge = [`${'g'.repeat(200_000)}`];
    const list = sharedGroupList(huge);
    expect(list).toEqual(huge);
    expect(Object.isFrozen(list)).toBe(true);
    expect(sharedGroupList(huge)).not.toBe(list);
  });
});
