import { jest } from '@jest/globals';
import { stripVTControlCharacters } from 'node:util';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { loadAppConfig, logFormatFromEnv } from '../config/app-config.js';
import { createAppLogger, reasonOf, ReasonJsonLogger } from './app-logger.js';

/** What the logger writes to stdout and stderr while `body` runs, one entry per write. */
function captured(body: () => void): string[] {
  const lines: string[] = [];
  const write = (chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  };
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(write);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(write);
  try {
    body();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return lines;
}

function records(lines: string[]): Record<string, unknown>[] {
  return lines.map((line) => {
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n'); // one object per line
    return JSON.parse(line) as Record<string, unknown>;
  });
}

describe('LOG_FORMAT', () => {
  it('is text by default, text or json when set', () => {
    expect(logFormatFromEnv({})).toBe('text');
    expect(logFormatFromEnv({ LOG_FORMAT: 'text' })).toBe('text');
    expect(logFormatFromEnv({ LOG_FORMAT: 'json' })).toBe('json');
    expect(loadAppConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
  });

  it.each(['JSON', 'pretty', '', ' json'])('stops startup on %j, naming the variable', (value) => {
    expect(() => logFormatFromEnv({ LOG_FORMAT: value })).toThrow(
      `LOG_FORMAT=${JSON.stringify(value)} must be text or json`,
    );
    expect(() => loadAppConfig({ LOG_FORMAT: value })).toThrow(/^LOG_FORMAT=/);
  });
});

describe('reasonOf', () => {
  it.each([
    ['untrusted_proxy: peer 10.0.0.9 is not in 10.0.0.2/32', 'untrusted_proxy'],
    ['untrusted_proxy: profile idp: assertion_invalid (ERR_JWT_EXPIRED): "exp" claim failed', 'untrusted_proxy'],
    ['database_unavailable: connect ECONNREFUSED 127.0.0.1:5432 (3 more since the last line)', 'database_unavailable'],
    ['user_created: "alice"', 'user_created'],
    ['internal_error: Error: boom\n    at handler (file.js:1:1)', 'internal_error'],
  ])('reads the code of %j', (line, reason) => {
    expect(reasonOf(line)).toBe(reason);
  });

  it.each([
    'database: embedded PGlite in memory',
    'listening on http://127.0.0.1:3000 (express)',
    'proxy authelia (preset authelia): peers 127.0.0.1/32',
    'Untrusted_proxy: capitalised',
    'untrusted_proxy:no space',
    ' untrusted_proxy: indented',
    'session last-seen not written: timeout',
  ])('finds none in %j', (line) => {
    expect(reasonOf(line)).toBeUndefined();
  });

  it('finds none in what is not a string', () => {
    expect(reasonOf(new Error('untrusted_proxy: inside an error'))).toBeUndefined();
    expect(reasonOf({ reason: 'untrusted_proxy' })).toBeUndefined();
  });
});

describe('ReasonJsonLogger', () => {
  it('writes one JSON object per line, with the leading code as reason and the message unchanged', () => {
    const logger = new ReasonJsonLogger();
    const lines = captured(() => {
      logger.warn('untrusted_proxy: peer 10.0.0.9 is not in 10.0.0.2/32', 'TrustedHeaderStrategy');
      logger.log('listening on http://127.0.0.1:3000 (express)', 'ReferenceApp');
      logger.error('database_unavailable: connect ECONNREFUSED', 'DatabaseGate');
    });
    expect(records(lines)).toEqual([
      expect.objectContaining({
        level: 'warn',
        context: 'TrustedHeaderStrategy',
        message: 'untrusted_proxy: peer 10.0.0.9 is not in 10.0.0.2/32',
        reason: 'untrusted_proxy',
      }),
      expect.not.objectContaining({ reason: expect.anything() }),
      expect.objectContaining({ level: 'error', reason: 'database_unavailable' }),
    ]);
    expect(records(lines)[1]).toMatchObject({ level: 'log', message: 'listening on http://127.0.0.1:3000 (express)' });
  });

  it('serves the library, whose classes log through Nest Logger instances, once it is the app logger', () => {
    const library = new Logger('TrustedHeader');
    Logger.overrideLogger(createAppLogger('json'));
    try {
      const lines = captured(() => library.warn('untrusted_proxy: profile idp: assertion_invalid (ERR_JWS_INVALID)'));
      expect(records(lines)).toEqual([
        expect.objectContaining({ context: 'TrustedHeader', level: 'warn', reason: 'untrusted_proxy' }),
      ]);
    } finally {
      Logger.overrideLogger(new ConsoleLogger());
    }
  });

  it('leaves the text format as Nest prints it', () => {
    const logger = createAppLogger('text');
    expect(logger).not.toBeInstanceOf(ReasonJsonLogger);
    const lines = captured(() => logger.warn('untrusted_proxy: peer 10.0.0.9 is not in 10.0.0.2/32', 'Strategy'));
    expect(lines).toHaveLength(1);
    expect(stripVTControlCharacters(lines[0]!)).toMatch(
      /WARN .*\[Strategy\] .*untrusted_proxy: peer 10\.0\.0\.9 is not in 10\.0\.0\.2\/32/,
    );
    expect(() => JSON.parse(lines[0]!)).toThrow();
  });
});
