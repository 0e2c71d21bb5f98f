import { readFileSync } from 'node:fs';
import {
  FORBIDDEN_IDENTITY_HEADERS,
  HEADER_NAME_TOKEN,
  headerNameFromConfig,
  twinKey,
} from '../identity/header-names.js';
import { hasInvisibleOrControlCharacter } from '../identity/header-value.js';
import type { IdentityHeaderNames } from '../identity/identity.js';
import type { AssertionPresetName } from '../trust/assertion/assertion-options.js';
import { parseClientCertificateOptions, type ResolvedClientCertificateOptions } from '../trust/client-certificate.js';
import { MAX_SHARED_SECRETS, MIN_SHARED_SECRET_LENGTH, type ResolvedSharedSecret } from '../trust/shared-secret.js';
import { TrustEntryError } from '../trust/trust-entry.js';
import { parseTrustList, type TrustList } from '../trust/trust-list.js';
import { DEFAULT_PRESET, isPresetName, PRESETS, type PresetName } from './presets.js';
import { resolveAssertion } from './resolve-assertion.js';
import type { FailSetting } from './setting-values.js';
import { DEFAULTS, type SettingKey } from './settings.js';
import type { ProxyProfileOptions, ResolvedProxyProfile } from './trusted-header-options.js';

const PROFILE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const HEADER_KEYS = { user: 'userHeader', email: 'emailHeader', name: 'nameHeader', groups: 'groupsHeader' } as const;

/** What every profile shares: the identity rules that are not about one proxy. */
export interface ProfileContext {
  readonly caseFoldUsername: boolean;
  readonly maxGroups: number;
  readonly cacheMaxEntries: number;
  readonly fail: FailSetting;
  /** Label of a setting, for errors about the combination of several. */
  readonly label: (key: SettingKey) => string;
}

/**
 * Validates one trusted proxy: its peers, its proofs (shared secret, client certificate, signed assertion) and
 * its header names. A profile must be narrower than "everyone": either peer ranges or a cryptographic check.
 */
export function resolveProfile(options: ProxyProfileOptions, context: ProfileContext): ResolvedProxyProfile {
  const { fail } = context;
  let presetName: PresetName | null = null;
  if (options.preset !== undefined) {
    if (typeof options.preset !== 'string' || !isPresetName(options.preset)) {
      fail('preset', options.preset, `is not a known preset; use one of ${Object.keys(PRESETS).join(', ')}`);
    }
    presetName = options.preset;
  }
  const preset = presetName === null ? DEFAULT_PRESET : PRESETS[presetName];

  const name = options.name ?? presetName ?? 'default';
  if (typeof name !== 'string' || !PROFILE_NAME.test(name)) {
    fail('name', name, 'must be 1 to 64 letters, digits, dots, dashes or underscores');
  }

  const seen = new Map<string, SettingKey>();
  const headerName = (key: SettingKey, given: unknown, allowStandard = false): string => {
    if (typeof given !== 'string' || given.trim() === '') fail(key, given, 'is empty');
    const header = headerNameFromConfig((given as string).trim());
    if (!HEADER_NAME_TOKEN.test(header)) fail(key, given, 'is not a valid HTTP header name');
    // Compared in twin form: X_Forwarded_For is X-Forwarded-For to every server that folds _ into -.
    if (!allowStandard && FORBIDDEN_IDENTITY_HEADERS.has(twinKey(header))) {
      fail(key, given, 'is a standard HTTP header that clients or intermediaries set; use a dedicated header');
    }
    const clash = seen.get(twinKey(header));
    if (clash) fail(key, given, `is the same header as ${context.label(clash)}`);
    seen.set(twinKey(header), key);
    return header;
  };

  const headers = {} as Record<keyof IdentityHeaderNames, string>;
  for (const [role, key] of Object.entries(HEADER_KEYS) as [
    keyof IdentityHeaderNames,
    (typeof HEADER_KEYS)[keyof typeof HEADER_KEYS],
  ][]) {
    headers[role] = headerName(key, options[key] ?? preset.headers[key]);
  }
  const subjectHeader = options.userIdHeader === undefined ? null : headerName('userIdHeader', options.userIdHeader);

  const groupsSeparator = options.groupsSeparator ?? preset.headers.groupsSeparator;
  if (typeof groupsSeparator !== 'string' || groupsSeparator.length === 0 || groupsSeparator.length > 8) {
    fail('groupsSeparator', groupsSeparator, 'must be 1 to 8 characters');
  }
  if (hasInvisibleOrControlCharacter(groupsSeparator)) {
    fail('groupsSeparator', groupsSeparator, 'must not contain control or invisible characters');
  }

  const sharedSecret = resolveSharedSecret(options, fail, headerName);
  const clientCertificate = resolveClientCertificate(options, fail);
  const assertionPreset = preset.assertion;
  let assertion = null;
  if (options.assertion !== undefined || assertionPreset !== null) {
    if (options.assertion !== undefined && (typeof options.assertion !== 'object' || options.assertion === null)) {
      fail('assertion.header', options.assertion, 'must be an object of assertion settings');
    }
    assertion = resolveAssertion(options.assertion ?? {}, {
      preset: assertionPreset,
      presetName: assertionPreset === null ? null : (presetName as AssertionPresetName),
      cacheMaxEntries: context.cacheMaxEntries,
      fail,
    });
    const bearer = assertion.header.toLowerCase() === 'authorization';
    headerName('assertion.header', assertion.header, bearer);
  }

  const hasProof = sharedSecret !== null || clientCertificate !== null || assertion !== null;
  const trust = resolveTrustList(options.trustedIps, hasProof, (value, problem) => fail('trustedIps', value, problem));
  if (options.userIdHeader !== undefined && assertion !== null) {
    fail('userIdHeader', options.userIdHeader, 'is not used with a signed assertion: its `sub` is the subject');
  }

  return {
    name,
    preset: presetName,
    trust,
    identity: {
      headers,
      groupsSeparator,
      maxGroups: context.maxGroups,
      caseFoldUsername: context.caseFoldUsername,
      // `profile:` keeps header subjects apart from token issuers: a profile could be named like a Pomerium
      // route's host, which is that token's whole `iss`, and one person's id would then open another's account.
      subject: subjectHeader === null ? null : { header: subjectHeader, issuer: `profile:${name}` },
    },
    unsignedHeaders: preset.unsignedHeaders,
    sharedSecret,
    clientCertificate,
    assertion,
  };
}

function resolveSharedSecret(
  options: ProxyProfileOptions,
  fail: FailSetting,
  headerName: (key: SettingKey, given: unknown) => string,
): ResolvedSharedSecret | null {
  const secrets = options.sharedSecrets;
  if (secrets === undefined) {
    if (options.sharedSecretHeader !== undefined) {
      fail('sharedSecretHeader', options.sharedSecretHeader, 'is set but no shared secret is');
    }
    return null;
  }
  // The values never appear in errors or logs: only their position and length.
  if (!Array.isArray(secrets) || secrets.length === 0 || secrets.length > MAX_SHARED_SECRETS) {
    fail('sharedSecrets', '<redacted>', `must list 1 or ${MAX_SHARED_SECRETS} secrets (two while rotating)`);
  }
  for (const [index, secret] of (secrets as unknown[]).entries()) {
    if (typeof secret !== 'string' || [...secret].length < MIN_SHARED_SECRET_LENGTH) {
      fail(
        'sharedSecrets',
        `<redacted #${index + 1}>`,
        `must be at least ${MIN_SHARED_SECRET_LENGTH} characters each (such as \`openssl rand -hex 32\`)`,
      );
    }
    // Printable ASCII only: Node reads header values byte by byte, so a non-ASCII secret could never match.
    if (!/^[\x21-\x7e]+$/.test(secret as string)) {
      fail('sharedSecrets', `<redacted #${index + 1}>`, 'must be printable ASCII without spaces');
    }
  }
  const header = headerName('sharedSecretHeader', options.sharedSecretHeader ?? DEFAULTS.sharedSecretHeader);
  return { header, secrets: [...(secrets as string[])] };
}

function resolveClientCertificate(
  options: ProxyProfileOptions,
  fail: FailSetting,
): ResolvedClientCertificateOptions | null {
  const given = options.clientCertificate;
  if (given === undefined) return null;
  if (typeof given !== 'object' || given === null || typeof given.caFile !== 'string' || given.caFile.trim() === '') {
    fail('clientCertificate.caFile', (given as { caFile?: unknown } | null)?.caFile, 'must be the CA certificate file');
  }
  const caFile = given.caFile.trim();
  let caPem: string;
  try {
    caPem = readFileSync(caFile, 'utf8');
  } catch (error) {
    fail('clientCertificate.caFile', caFile, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const names = given.allowedNames ?? [];
  if (!Array.isArray(names)) fail('clientCertificate.allowedNames', names, 'must be a list of names');
  try {
    return parseClientCertificateOptions(caFile, caPem!, names as string[]);
  } catch (error) {
    const key = /name/i.test((error as Error).message) ? 'clientCertificate.allowedNames' : 'clientCertificate.caFile';
    fail(key, key === 'clientCertificate.caFile' ? caFile : names, (error as Error).message);
  }
}

function resolveTrustList(
  entries: unknown,
  hasProof: boolean,
  fail: (value: unknown, problem: string) => never,
): TrustList | null {
  // With a proof the proxy's address need not be known (Cloudflare's shared ranges, changing pod addresses).
  if (entries === undefined && hasProof) return null;
  const list = entries ?? DEFAULTS.trustedIps;
  if (!Array.isArray(list) || list.length === 0) {
    fail(list, 'is empty; list the IP addresses or CIDR ranges of your proxies');
  }
  for (const entry of list as unknown[]) {
    if (typeof entry !== 'string') fail(entry, 'is not a string');
  }
  try {
    return parseTrustList(list as string[]);
  } catch (error) {
    if (error instanceof TrustEntryError) fail(error.entry, error.problem);
    throw error;
  }
}
