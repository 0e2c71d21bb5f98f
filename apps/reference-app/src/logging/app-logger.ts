import { ConsoleLogger, type LogLevel } from '@nestjs/common';

export type LogFormat = 'text' | 'json';

/**
 * The library starts each line about a rejection or an account event with its code (`untrusted_proxy: peer
 * ...`, `user_created: "alice"`). Only a snake_case word with at least one underscore counts, so ordinary
 * lines that happen to begin with a word and a colon (`database: embedded PGlite`) carry no reason.
 */
const LEADING_REASON = /^([a-z][a-z0-9]*(?:_[a-z0-9]+)+): /;

/** The code a log line starts with, or undefined when it starts with none. */
export function reasonOf(message: unknown): string | undefined {
  return typeof message === 'string' ? LEADING_REASON.exec(message)?.[1] : undefined;
}

type JsonLogOptions = Parameters<ConsoleLogger['getJsonLogObject']>[1];

/**
 * Nest's JSON console logger, with the line's code as a `reason` field beside the unchanged message, so log
 * pipelines can count and alert on rejections without parsing the text.
 */
export class ReasonJsonLogger extends ConsoleLogger {
  constructor(options: { logLevels?: LogLevel[] } = {}) {
    super({ ...options, json: true });
  }

  protected override getJsonLogObject(message: unknown, options: JsonLogOptions) {
    const record = super.getJsonLogObject(message, options);
    const reason = reasonOf(message);
    if (reason !== undefined && !('reason' in record)) record.reason = reason;
    return record;
  }
}

/** The logger of the reference app: Nest's default human format, or one JSON object per line. */
export function createAppLogger(format: LogFormat): ConsoleLogger {
  return format === 'json' ? new ReasonJsonLogger() : new ConsoleLogger();
}
