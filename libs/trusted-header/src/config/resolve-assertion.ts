import { readFileSync } from 'node:fs';
import { HEADER_NAME_TOKEN } from '../identity/header-names.js';
import type {
  AssertionKeySource,
  AssertionPresetName,
  ResolvedAssertionOptions,
} from '../trust/assertion/assertion-options.js';
import type { AssertionPreset } from './presets.js';
import type { FailSetting } from './setting-values.js';
import { DEFAULTS, INTEGER_RANGES } from './settings.js';
import type { AssertionProfileOptions } from './trusted-header-options.js';

/**
 * Asymmetric signature algorithms only. `none` would accept any token; an HMAC algorithm would let anyone who
 * has the public key (everyone) sign with it (algorithm confusion, CVE-2015-9235 and its many descendants).
 */
const ASYMMETRIC_ALGORITHMS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

const CLAIM_NAME = /^[A-Za-z0-9_:./-]{1,128}$/;
/** arn:<partition>:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id> */
const ALB_ARN =
  /^arn:aws(-[a-z]+)*:elasticloadbalancing:([a-z0-9-]+):[0-9]{12}:loadbalancer\/app\/[A-Za-z0-9-]+\/[0-9a-f]+$/;

/** Fixed key-fetching rules: a fetch waits at most this long, and unknown `kid`s trigger at most one per cooldown. */
const FETCH_TIMEOUT_MS = 5_000;
const FETCH_COOLDOWN_MS = 30_000;
const KEYS_MAX_AGE_MS = 600_000;

export interface AssertionContext {
  readonly preset: AssertionPreset | null;
  readonly presetName: AssertionPresetName | null;
  readonly cacheMaxEntries: number;
  readonly fail: FailSetting;
}

/** Validates a profile's signed-assertion settings once, at startup, reading the key file if one is named. */
export function resolveAssertion(given: AssertionProfileOptions, context: AssertionContext): ResolvedAssertionOptions {
  const { preset, presetName, fail } = context;
  const text = (key: keyof AssertionProfileOptions, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.trim() === '') fail(`assertion.${key}`, value, 'must be a non-empty string');
    return (value as string).trim();
  };

  const header = text('header', given.header) ?? preset?.header;
  if (header === undefined) fail('assertion.header', undefined, 'is required: the header that carries the token');
  if (!HEADER_NAME_TOKEN.test(header!)) fail('assertion.header', header, 'is not a valid HTTP header name');
  const bearer = header!.toLowerCase() === 'authorization';

  const issuer = text('issuer', given.issuer) ?? preset?.issuer ?? undefined;
  if (issuer === undefined) fail('assertion.issuer', undefined, 'is required: tokens of any other issuer are refused');
  // `profile:` names the namespace of header subjects; an issuer spelled so would share their accounts.
  if (issuer!.startsWith('profile:')) fail('assertion.issuer', issuer, 'must not start with profile:');
  // Accounts keep the issuer beside the subject (subject_issuer, 255 characters): a longer one could never be saved.
  if (issuer!.length > 255) fail('assertion.issuer', issuer, 'must be at most 255 characters');

  const audience = audiences(given.audience, fail);
  const algorithms = resolveAlgorithms(
    given.algorithms ?? preset?.algorithms ?? DEFAULTS['assertion.algorithms'],
    fail,
  );

  const tolerance = given.clockToleranceSeconds ?? DEFAULTS['assertion.clockToleranceSeconds'];
  const [min, max] = INTEGER_RANGES['assertion.clockToleranceSeconds'];
  if (!Number.isInteger(tolerance) || tolerance < min || tolerance > max) {
    fail('assertion.clockToleranceSeconds', tolerance, `must be an integer from ${min} to ${max}`);
  }

  const claim = (key: 'usernameClaim' | 'emailClaim' | 'nameClaim' | 'groupsClaim', fallback: string | null) => {
    const value = given[key] === undefined ? fallback : given[key];
    if (value !== null && (typeof value !== 'string' || !CLAIM_NAME.test(value))) {
      fail(`assertion.${key}`, value, 'must be a claim name');
    }
    return value as string | null;
  };
  const claims = {
    username: claim('usernameClaim', preset?.usernameClaim ?? DEFAULTS['assertion.usernameClaim'])!,
    email: claim('emailClaim', preset ? preset.emailClaim : null),
    name: claim('nameClaim', preset ? preset.nameClaim : null),
    groups: claim('groupsClaim', preset ? preset.groupsClaim : null),
  };

  let albArn: string | null = null;
  let keys: AssertionKeySource;
  if (presetName === 'aws-alb') {
    albArn = text('albArn', given.albArn) ?? null;
    const match = albArn === null ? null : ALB_ARN.exec(albArn);
    if (match === null) {
      fail('assertion.albArn', albArn ?? undefined, 'must be the load balancer ARN (arn:aws:elasticloadbalancing:...)');
    }
    if (given.publicKeyFile !== undefined)
      fail('assertion.publicKeyFile', given.publicKeyFile, 'is not used with aws-alb');
    // The region's endpoint serves one PEM per kid; a given URL replaces it (a mirror, or a test's key server).
    const base = text('jwksUrl', given.jwksUrl) ?? `https://public-keys.auth.elb.${match![2]}.amazonaws.com/`;
    const baseUrl = keyUrl(base.endsWith('/') ? base : `${base}/`, 'assertion.jwksUrl', fail);
    keys = { kind: 'alb', baseUrl };
  } else {
    if (given.albArn !== undefined) fail('assertion.albArn', given.albArn, 'is only used with the aws-alb preset');
    keys = keySource(given, text('jwksUrl', given.jwksUrl) ?? preset?.jwksUrlFor?.(issuer!) ?? undefined, fail);
  }

  return {
    header: header!,
    bearer,
    keys,
    issuer: issuer!,
    audience,
    algorithms,
    clockToleranceSeconds: tolerance,
    claims,
    albArn,
    preset: presetName,
    fetchTimeoutMs: FETCH_TIMEOUT_MS,
    fetchCooldownMs: FETCH_COOLDOWN_MS,
    keysMaxAgeMs: KEYS_MAX_AGE_MS,
    cacheMaxEntries: context.cacheMaxEntries,
  };
}

function audiences(given: unknown, fail: FailSetting): string[] {
  const list = typeof given === 'string' ? given.split(',') : given;
  if (list === undefined) {
    fail('assertion.audience', undefined, 'is required: a token minted for another application must not log in here');
  }
  if (!Array.isArray(list)) fail('assertion.audience', given, 'must be a string or a list of strings');
  const result = (list as unknown[]).map((entry) => (typeof entry === 'string' ? entry.trim() : ''));
  if (result.length === 0 || result.some((entry) => entry === '')) {
    fail('assertion.audience', given, 'must be non-empty audience values');
  }
  return result;
}

function resolveAlgorithms(given: unknown, fail: FailSetting): string[] {
  const list = typeof given === 'string' ? given.split(',').map((entry) => entry.trim()) : given;
  if (!Array.isArray(list) || list.length === 0)
    fail('assertion.algorithms', given, 'must list at least one algorithm');
  for (const algorithm of list as unknown[]) {
    if (typeof algorithm !== 'string' || !ASYMMETRIC_ALGORITHMS.has(algorithm)) {
      fail(
        'assertion.algorithms',
        algorithm,
        `is not accepted; use asymmetric algorithms only (${[...ASYMMETRIC_ALGORITHMS].join(', ')}): never none or HMAC`,
      );
    }
  }
  return [...new Set(list as string[])];
}

function keySource(given: AssertionProfileOptions, jwksUrl: string | undefined, fail: FailSetting): AssertionKeySource {
  const file = given.publicKeyFile;
  if (file !== undefined && given.jwksUrl !== undefined) {
    fail('assertion.publicKeyFile', file, 'and a key set URL are both set; use one');
  }
  if (file !== undefined) {
    if (typeof file !== 'string' || file.trim() === '') fail('assertion.publicKeyFile', file, 'must be a file path');
    let pem: string;
    try {
      pem = readFileSync(file.trim(), 'utf8');
    } catch (error) {
      fail('assertion.publicKeyFile', file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(pem!)) {
      fail('assertion.publicKeyFile', file, 'holds no PEM public key or certificate');
    }
    return { kind: 'pem', file: file.trim(), pem: pem! };
  }
  if (jwksUrl === undefined) {
    fail('assertion.jwksUrl', undefined, 'is required (or a public key file): the keys tokens are verified with');
  }
  return { kind: 'jwks', url: keyUrl(jwksUrl!, 'assertion.jwksUrl', fail) };
}

/** HTTPS, or plain HTTP to this machine only: keys fetched in the clear could be replaced on the way. */
function keyUrl(text: string, key: 'assertion.jwksUrl', fail: FailSetting): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail(key, text, 'is not a URL');
  }
  if (url!.username !== '' || url!.password !== '') fail(key, text, 'must not contain credentials');
  if (url!.protocol === 'https:') return url!;
  if (url!.protocol === 'http:' && isLoopbackHost(url!.hostname)) return url!;
  fail(key, text, 'must be an https URL (plain http only to a loopback address)');
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(hostname);
}
