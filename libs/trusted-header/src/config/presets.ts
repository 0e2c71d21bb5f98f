import type { TrustedHeaderOptions } from './trusted-header-options.js';

export type PresetName = 'authelia' | 'authentik' | 'oauth2-proxy';

type PresetFields = Required<
  Pick<TrustedHeaderOptions, 'userHeader' | 'emailHeader' | 'nameHeader' | 'groupsHeader' | 'groupsSeparator'>
>;

/** Header names each proxy sends to the upstream application, from its documentation. */
export const PRESETS: Readonly<Record<PresetName, PresetFields>> = {
  // Authelia's forward-auth endpoints answer with Remote-User, Remote-Groups, Remote-Email, Remote-Name.
  authelia: {
    userHeader: 'Remote-User',
    emailHeader: 'Remote-Email',
    nameHeader: 'Remote-Name',
    groupsHeader: 'Remote-Groups',
    groupsSeparator: ',',
  },
  // authentik's proxy outpost sets X-authentik-* and joins groups with '|'.
  authentik: {
    userHeader: 'X-authentik-username',
    emailHeader: 'X-authentik-email',
    nameHeader: 'X-authentik-name',
    groupsHeader: 'X-authentik-groups',
    groupsSeparator: '|',
  },
  // oauth2-proxy with --pass-user-headers (reverse-proxy mode) sets X-Forwarded-*.
  'oauth2-proxy': {
    userHeader: 'X-Forwarded-User',
    emailHeader: 'X-Forwarded-Email',
    nameHeader: 'X-Forwarded-Preferred-Username',
    groupsHeader: 'X-Forwarded-Groups',
    groupsSeparator: ',',
  },
};

export const DEFAULT_HEADERS: PresetFields = PRESETS.authelia;

export function isPresetName(value: string): value is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, value);
}
