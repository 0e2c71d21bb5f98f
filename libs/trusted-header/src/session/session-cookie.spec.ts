import fc from 'fast-check';
import { trimAsciiWhitespace } from '../identity/header-value.js';
import { readSessionCookie, type SessionCookie } from './session-cookie.js';

const NAME = '__Host-trusted_header_session';

/** The plain reading: every Cookie line split on `;`, each pair's name up to its first `=`, trimmed. */
function splitReading(rawHeaders: readonly string[], cookieName: string): SessionCookie {
  let found: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'cookie') continue;
    for (const pair of rawHeaders[i + 1]!.split(';')) {
      const equals = pair.indexOf('=');
      if (equals < 0 || trimAsciiWhitespace(pair.slice(0, equals)) !== cookieName) continue;
      if (found !== undefined) return { kind: 'many' };
      const value = trimAsciiWhitespace(pair.slice(equals + 1));
      found = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    }
  }
  return found === undefined ? { kind: 'none' } : { kind: 'one', value: found };
}

describe('readSessionCookie', () => {
  it.each([
    [['Cookie', `${NAME}=abc`], { kind: 'one', value: 'abc' }],
    [['cookie', `a=1; ${NAME}=abc; b=2`], { kind: 'one', value: 'abc' }],
    [['COOKIE', ` \t${NAME} \t= "abc" ;`], { kind: 'one', value: 'abc' }],
    [['Cookie', `${NAME}=a=b`], { kind: 'one', value: 'a=b' }],
    [['Cookie', `${NAME}=`], { kind: 'one', value: '' }],
    [['Cookie', `${NAME}=abc; ${NAME}=def`], { kind: 'many' }],
    [['Cookie', `${NAME}=abc`, 'Cookie', `${NAME}=abc`], { kind: 'many' }],
    [['Cookie', `\xa0${NAME}=abc`], { kind: 'none' }],
    [['Cookie', `x${NAME}=abc; ${NAME}x=abc; ${NAME}`], { kind: 'none' }],
    [['Cookies', `${NAME}=abc`, 'Accept', `${NAME}=abc`], { kind: 'none' }],
    [['Cookie', ''], { kind: 'none' }],
  ])('reads %j as %j', (rawHeaders, expected) => {
    expect(readSessionCookie(rawHeaders, NAME)).toEqual(expected);
  });

  it('decides as the plain split-and-trim reading does, on any Cookie lines', () => {
    const piece = fc.constantFrom(NAME, 'a', '=', ';', ' ', '\t', '"', '\xa0', 'x', ' ;', '==', 'v');
    const line = fc.array(piece, { maxLength: 14 }).map((pieces) => pieces.join(''));
    const name = fc.constantFrom('Cookie', 'cookie', 'COOKIE', 'CooKie', 'Accept', 'Origin', 'Cookies', 'Host');
    const headers = fc.array(fc.tuple(name, line), { maxLength: 4 }).map((lines) => lines.flat());
    fc.assert(
      fc.property(headers, (rawHeaders) => {
        expect(readSessionCookie(rawHeaders, NAME)).toEqual(splitReading(rawHeaders, NAME));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('readSessionCookie on long lines', () => {
  it('reads a line of many pairs without `=` in time that grows with its length, not its square', () => {
    const time = (pairs: number) => {
      const line = `${';'.repeat(pairs)}=`;
      let fastest = Infinity;
      for (let round = 0; round < 5; round += 1) {
        const started = process.hrtime.bigint();
        for (let i = 0; i < 20; i += 1) readSessionCookie(['Cookie', line], NAME);
        fastest = Math.min(fastest, Number(process.hrtime.bigint() - started));
      }
      return fastest;
    };
    time(64_000);
    // 16 times the pairs: a square cost would be 256 times slower, a linear one 16 times.
    expect(time(256_000) / time(16_000)).toBeLessThan(64);
  });
});
