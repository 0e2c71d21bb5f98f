import fc from 'fast-check';
import { isWellFormedSessionToken, newSessionToken } from './session-token.js';

/** The shape a token has, as a regular expression: what the character-by-character check must agree with. */
const SHAPE = /^[A-Za-z0-9_-]{43}$/;

describe('isWellFormedSessionToken', () => {
  it('accepts the tokens newSessionToken makes', () => {
    for (let i = 0; i < 1_000; i += 1) expect(isWellFormedSessionToken(newSessionToken())).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['one short', 'A'.repeat(42)],
    ['one long', 'A'.repeat(44)],
    ['padded', `${'A'.repeat(42)}=`],
    ['base64, not base64url', `${'A'.repeat(42)}+`],
    ['a slash', `${'A'.repeat(42)}/`],
    ['a space', ` ${'A'.repeat(42)}`],
    ['a NUL', `${'A'.repeat(42)}\0`],
    ['latin1 beyond ASCII', `${'A'.repeat(42)}\u00e9`],
    ['a character whose low byte is a letter', `${'A'.repeat(42)}\u0141`],
    ['a fullwidth letter', `${'A'.repeat(42)}\uff21`],
    ['an astral character (two code units)', `${'A'.repeat(41)}\u{1d400}`],
  ])('refuses %s', (_what, value) => {
    expect(isWellFormedSessionToken(value)).toBe(false);
  });

  it('agrees with the regular expression on any string, and on strings of 43 characters near the alphabet', () => {
    const near = fc.constantFrom(...'AZaz09-_+/=. \t\u00a0\u0100\u0141\uff21\u0000\u007f'.split(''));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 50 }), fc.string({ unit: near, minLength: 43, maxLength: 43 })),
        (value) => isWellFormedSessionToken(value) === SHAPE.test(value),
      ),
      { numRuns: 20_000 },
    );
  });
});
