import { ADAPTERS, useTestApp } from './support/test-app.js';

/**
 * THREATS 8: a group name is matched exactly. A proxy group that merely resembles the bootstrap admin group or
 * a mapped group (Unicode spaces around it, a Kelvin sign for K, a decomposed accent) grants nothing.
 */
describe.each(ADAPTERS)('exact group names (%s)', (adapter) => {
  const app = useTestApp(
    adapter,
    { createUnknownUser: true, adminGroups: ['ops'], adminLocalGroup: 'admin' },
    async (api) => {
      await api.sql(`INSERT INTO auth_proxy_groups (name) VALUES ('kube'), ('team')`);
      await api.sql(
        `INSERT INTO auth_proxy_group_mappings (external_group, group_id)
         SELECT 'Kops', id FROM auth_proxy_groups WHERE name = 'kube'
         UNION ALL SELECT 'Équipe', id FROM auth_proxy_groups WHERE name = 'team'`,
      );
    },
  );

  const me = (user: string, groups: string) =>
    app.api.request('/me', [
      ['Remote-User', user],
      ['Remote-Groups', groups],
    ]);

  it('gives the bootstrap admin group for exactly the configured name', async () => {
    const response = await me('exact-admin', ' ops ');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ externalGroups: ['ops'], groups: ['admin'], isAdmin: true });
  });

  it.each([
    ['a trailing no-break space', 'ops\u00a0'],
    ['a leading ideographic space', '\u3000ops'],
    ['a trailing em space', 'ops\u2003'],
  ])('gives nothing to ops with %s', async (_what, group) => {
    const response = await me(`spaced-${group.length}-${group.codePointAt(0)}`, group);
    expect(response.status).toBe(200);
    expect(response.body.externalGroups).toEqual([group]);
    expect(response.body).toMatchObject({ groups: [], isAdmin: false });
  });

  it('gives the mapping of Kops to Kops only, not to the Kelvin-sign spelling', async () => {
    expect((await me('k-plain', 'Kops')).body.groups).toEqual(['kube']);
    const kelvin = await me('k-kelvin', '\u212Aops');
    expect(kelvin.status).toBe(200);
    expect(kelvin.body).toMatchObject({ externalGroups: ['\u212Aops'], groups: [] });
  });

  it('keeps a decomposed accent apart from the composed one the mapping names', async () => {
    expect((await me('e-composed', 'Équipe')).body.groups).toEqual(['team']);
    expect((await me('e-decomposed', 'E\u0301quipe')).body).toMatchObject({
      externalGroups: ['E\u0301quipe'],
      groups: [],
    });
  });
});
