import fc from 'fast-check';
import {
  decodeChangeMessage,
  decodeChangeNotice,
  senderIdOf,
  encodeChangeNotice,
  EVERYONE,
  isWellFormedNotice,
  reconnectDelay,
} from './change-notice.js';

describe('change notices', () => {
  const id = '0b9ad2d4-2f5e-4a55-9d1b-5b7f4a0c3e21';

  it('round-trips a notice of one user and of everyone', () => {
    expect(decodeChangeNotice(encodeChangeNotice({ kind: 'user', userId: id }))).toEqual({ kind: 'user', userId: id });
    expect(decodeChangeNotice(encodeChangeNotice(EVERYONE))).toEqual(EVERYONE);
    expect(encodeChangeNotice({ kind: 'user', userId: id })).toBe(`{"user":"${id}"}`);
    expect(encodeChangeNotice(EVERYONE)).toBe('{"all":true}');
  });

  it.each([
    ['not JSON', 'garbage'],
    ['empty', ''],
    ['no payload', undefined],
    ['an array', `["${id}"]`],
    ['null', 'null'],
    ['a number', '42'],
    ['a user that is no uuid', '{"user":"admin"}'],
    ['an upper-case uuid', `{"user":"${id.toUpperCase()}"}`],
    ['a user beside another key', `{"user":"${id}","groups":["admin"]}`],
    ['all false', '{"all":false}'],
    ['a user that is an object', '{"user":{"id":"x"}}'],
    ['an oversized payload', `{"user":"${id}","pad":"${'x'.repeat(300)}"}`],
  ])('reads %s as a change of every user', (_name, payload) => {
    expect(decodeChangeNotice(payload)).toEqual(EVERYONE);
  });

  it('never throws, and reads any payload as everyone or one well-formed user id', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.uuid().map((uuid) => `{"user":"${uuid}"}`),
        ),
        (payload) => {
          const notice = decodeChangeNotice(payload);
          if (notice.kind === 'user') {
            expect(notice.userId).toMatch(/^[0-9a-f-]{36}$/);
            expect(isWellFormedNotice(payload)).toBe(true);
          } else {
            expect(notice).toEqual(EVERYONE);
          }
        },
      ),
    );
  });

  it('names the sender, one random id per DataSource', () => {
    const first = {};
    const second = {};
    expect(senderIdOf(first)).toBe(senderIdOf(first));
    expect(senderIdOf(first)).not.toBe(senderIdOf(second));
    const payload = encodeChangeNotice({ kind: 'user', userId: id }, senderIdOf(first));
    expect(decodeChangeMessage(payload)).toEqual({
      notice: { kind: 'user', userId: id },
      from: senderIdOf(first),
      wellFormed: true,
    });
    expect(decodeChangeMessage(`{"all":true,"from":"${senderIdOf(second)}"}`).from).toBe(senderIdOf(second));
    // A sender that is no id, or a payload otherwise odd, names no sender: nobody may skip it.
    expect(decodeChangeMessage(`{"all":true,"from":"me"}`)).toEqual({
      notice: EVERYONE,
      from: null,
      wellFormed: false,
    });
    expect(decodeChangeMessage(`{"user":"${id}","from":"${senderIdOf(first)}","x":1}`)).toEqual({
      notice: EVERYONE,
      from: null,
      wellFormed: false,
    });
  });

  it('tells the payloads it sends from others', () => {
    expect(isWellFormedNotice(`{"user":"${id}"}`)).toBe(true);
    expect(isWellFormedNotice('{"all":true}')).toBe(true);
    expect(isWellFormedNotice('{"all": true}')).toBe(false);
    expect(isWellFormedNotice('garbage')).toBe(false);
  });

  it('waits twice as long after each failed attempt, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50, 10_000].map((attempt) => reconnectDelay(attempt))).toEqual([
      100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000,
    ]);
    expect(reconnectDelay(0)).toBe(100);
  });
});
