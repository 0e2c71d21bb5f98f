import type { ExecutionContext } from '@nestjs/common';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { admittedUserOf, recordAdmission } from './admitted-users.js';

const userNamed = (username: string): AuthenticatedUser => ({
  id: username,
  username,
  email: null,
  displayName: null,
  groups: [],
  externalGroups: [],
  isAdmin: false,
});

/** Guards of one call share its arguments array; param decorators get a copy with the same objects. */
const call = (args: unknown[]) => ({ getArgs: () => args }) as unknown as ExecutionContext;
const paramsOf = (args: unknown[]) => call([...args]);

describe('admitted users of non-HTTP calls', () => {
  it('finds the user for the guards and for the param decorators of the same call', () => {
    const args = [{ note: 'payload' }, { rpc: 'context' }];
    recordAdmission(call(args), userNamed('alice'));
    expect(admittedUserOf(call(args))?.username).toBe('alice');
    expect(admittedUserOf(paramsOf(args))?.username).toBe('alice');
  });

  it('keeps overlapping calls apart on a shared object with primitive payloads (one WebSocket client)', () => {
    const client = {};
    const first = [client, 'read', 'events'];
    const second = [client, 'write', 'events'];
    recordAdmission(call(first), userNamed('alice'));
    recordAdmission(call(second), userNamed('bob'));
    expect(admittedUserOf(paramsOf(first))?.username).toBe('alice');
    expect(admittedUserOf(paramsOf(second))?.username).toBe('bob');
    // Another message on that connection was admitted by nobody.
    expect(admittedUserOf(paramsOf([client, 'delete', 'events']))).toBeUndefined();
    expect(admittedUserOf(paramsOf([client, 'read']))).toBeUndefined();
  });

  it('forgets the oldest admissions under a busy shared object rather than mixing users up', () => {
    const client = {};
    const oldest = [client, 0];
    recordAdmission(call(oldest), userNamed('user-0'));
    for (let i = 1; i <= 16; i++) recordAdmission(call([client, i]), userNamed(`user-${i}`));
    expect(admittedUserOf(paramsOf(oldest))).toBeUndefined();
    expect(admittedUserOf(paramsOf([client, 1]))?.username).toBe('user-1');
    expect(admittedUserOf(paramsOf([client, 16]))?.username).toBe('user-16');
  });

  it('lets a newer call with equal arguments shadow an older admission, even before admitting anyone', () => {
    const client = {};
    recordAdmission(call([client, 'tick']), userNamed('carol'));
    expect(admittedUserOf(paramsOf([client, 'tick']))?.username).toBe('carol');
    recordAdmission(call([client, 'tick']), undefined); // a guard took the next call and admitted nobody
    expect(admittedUserOf(paramsOf([client, 'tick']))).toBeUndefined();
    recordAdmission(call([client, 'tick']), userNamed('dave'));
    expect(admittedUserOf(paramsOf([client, 'tick']))?.username).toBe('dave');
  });

  it('keeps an admission with the arguments the guard saw, whatever an interceptor does to the array later', () => {
    const payload = {};
    const args: unknown[] = [payload, 'a'];
    recordAdmission(call(args), userNamed('erin'));
    args[1] = 'b';
    expect(admittedUserOf(paramsOf([payload, 'a']))?.username).toBe('erin');
    expect(admittedUserOf(paramsOf([payload, 'b']))).toBeUndefined();
  });

  it('finds nothing for a call without objects that was never admitted', () => {
    expect(admittedUserOf(call(['a', 1]))).toBeUndefined();
    expect(admittedUserOf(call([]))).toBeUndefined();
  });
});
