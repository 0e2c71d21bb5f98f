/** How keys are fetched: the bounds of one request and the pacing between two. */
export interface KeyFetchSettings {
  readonly fetchTimeoutMs: number;
  readonly fetchCooldownMs: number;
  readonly keysMaxAgeMs: number;
}

/**
 * A key fetch that produced no key. `answered` says whether the endpoint itself said no (a status, a body that
 * is not a key) or could not be asked at all (refused connection, timeout, a 5xx): only the second is an
 * outage, the first is a verdict on what was asked for.
 */
export class KeyFetchError extends Error {
  readonly code = 'ERR_KEY_FETCH_FAILED';

  constructor(
    message: string,
    readonly answered: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KeyFetchError';
  }
}

export interface FetchLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly accept: string;
}

/** Milliseconds on a clock that never goes back, for cooldowns and ages. */
export const monotonicMs = (): number => performance.now();

/**
 * GET one small text document. Redirects are answers, never followed: a key set served through a redirect
 * lets whoever controls the redirect target choose the keys (THREATS 10). The body is bounded so a hostile or
 * broken endpoint cannot make us buffer without limit.
 */
export async function fetchKeyText(url: string, limits: FetchLimits): Promise<string> {
  const where = new URL(url).host;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'GET',
      redirect: 'manual',
      signal: AbortSignal.timeout(limits.timeoutMs),
      headers: { accept: limits.accept },
    });
  } catch (cause) {
    throw new KeyFetchError(`the key endpoint at ${where} could not be reached`, false, { cause });
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    const redirect = response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : '';
    throw new KeyFetchError(
      `the key endpoint at ${where} answered HTTP ${response.status}${redirect}`,
      response.status < 500,
    );
  }
  return readBounded(response, limits.maxBytes, where);
}

async function readBounded(response: Response, maxBytes: number, where: string): Promise<string> {
  const tooLarge = () => new KeyFetchError(`the key endpoint at ${where} sent more than ${maxBytes} bytes`, true);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (cause) {
    if (cause instanceof KeyFetchError) throw cause;
    throw new KeyFetchError(`the key endpoint at ${where} stopped while sending`, false, { cause });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch (cause) {
    throw new KeyFetchError(`the key endpoint at ${where} sent text that is not UTF-8`, true, { cause });
  }
}
