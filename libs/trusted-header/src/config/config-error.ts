/**
 * Thrown at startup for an unusable configuration. The message names the setting (the environment variable
 * when the value came from the environment) and the bad value, so the operator can fix it without reading code.
 */
export class TrustedHeaderConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly value: unknown,
    readonly problem: string,
  ) {
    super(`Invalid trusted-header configuration: ${setting}=${JSON.stringify(value)} ${problem}`);
    this.name = 'TrustedHeaderConfigError';
  }
}
