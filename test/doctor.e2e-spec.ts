import { randomBytes } from 'node:crypto';
import type { HttpAdapterName } from '../apps/reference-app/src/config/app-config.js';
import { ADAPTERS, useTestApp } from './support/test-app.js';

type Header = [name: string, value: string];

const SECRET = randomBytes(32).toString('hex');

/**
 * GET /admin/doctor: the caller's request as the library saw it, for admins only, with nothing secret in it;
 * and the same report, at debug level, for requests refused before any handler could explain them.
 */
describe.each(ADAPTERS)('doctor (%s)', (adapter: HttpAdapterName) => {
  const name = (base: string) => `${base}-doctor-${adapter}`;
  const root: Header[] = [
    ['Remote-User', name('root')],
    ['Remote-Email', `${name('root')}@example.com`],
    ['Remote-Groups', `idp-admins,${name('analysts')}`],
  ];

  describe('one proxy on loopback', () => {
    const setup = useTestApp(adapter, { createUnknownUser: true, adminGroups: ['idp-admins'] });

    it('shows an admin the peer, the profile and its checks, the headers redacted, and the groups with their sources', async () => {
      const { api } = setup;
      // A mapping and a manual grant of one local group, so both sources show.
      await api.request('/me', root);
      await api.sql(`INSERT INTO auth_proxy_groups (name) VALUES ('reports')`);
      await api.sql(
        `INSERT INTO auth_proxy_group_mappings (external_group, group_id)
         SELECT $1, id FROM auth_proxy_groups WHERE name = 'reports'`,
        [name('analysts')],
      );
      await api.sql(
        `INSERT INTO auth_proxy_user_groups (user_id, group_id)
         SELECT u.id, g.id FROM auth_proxy_users u, auth_proxy_groups g WHERE u.username = $1 AND g.name = 'reports'`,
        [name('root')],
      );
      api.invalidate();

      const response = await api.request('/admin/doctor', root);
      expect(response.status).toBe(200);
      const { request, user, warnings } = response.body;
      expect(request).toMatchObject({ peer: '127.0.0.1', trusted: true, profile: 'default' });
      expect(request.profiles).toEqual([
        {
          profile: 'default',
          outcome: 'accepted',
          checks: [{ check: 'peer_address', passed: true, detail: 'peer 127.0.0.1 is in 127.0.0.1/32, ::1/128' }],
        },
      ]);
      expect(request.headers.seen).toEqual([
        { name: 'Remote-User', role: 'user', value: name('root') },
        { name: 'Remote-Email', role: 'email', value: '[redacted]' },
        { name: 'Remote-Groups', role: 'groups', value: '[redacted]' },
      ]);
      expect(request.headers.findings).toEqual([]);
      expect(request.identity).toEqual({
        outcome: 'identity',
        username: name('root'),
        subjectIssuer: null,
        emailAsserted: true,
        displayNameAsserted: false,
        externalGroupCount: 2,
      });
      expect(request.assertion).toBeNull();
      expect(response.text).not.toContain('@example.com');
      expect(user).toMatchObject({ username: name('root'), isAdmin: true, authenticatedBy: 'headers' });
      expect(user.groups).toEqual([
        { name: 'admin', sources: [{ type: 'bootstrap', externalGroup: 'idp-admins' }] },
        {
          name: 'reports',
          sources: expect.arrayContaining([
            { type: 'mapping', externalGroup: name('analysts'), mappingId: expect.any(String) },
            { type: 'manual' },
          ]),
        },
      ]);
      expect(user.groups[1].sources).toHaveLength(2);
      // With PostgreSQL the change listener may still be connecting when the test starts: that warning is true
      // then, and not about the configuration this test checks.
      expect(warnings.filter((warning: { code: string }) => warning.code !== 'listener_not_connected')).toEqual([]);
      expect(api.logs.matching('debug', new RegExp(`^doctor: .*user "${name('root')}" by headers`))).toHaveLength(1);
    });

    it('is for admins only: 401 anonymous, 403 admin_required for others', async () => {
      const { api } = setup;
      const anonymous = await api.request('/admin/doctor');
      expect({ status: anonymous.status, reason: anonymous.body.reason }).toEqual({
        status: 401,
        reason: 'missing_identity',
      });
      const plain = await api.request('/admin/doctor', [
        ['Remote-User', name('plain')],
        ['Remote-Groups', 'staff'],
      ]);
      expect({ status: plain.status, reason: plain.body.reason }).toEqual({ status: 403, reason: 'admin_required' });
    });

    // A request with an ambiguous identity is refused before any handler: the doctor cannot see it, so the
    // refusal's debug line carries the report, with every problem rather than the first.
    it('logs the report of a refused request at debug level, listing every twin, duplicate and Connection token', async () => {
      const { api } = setup;
      const response = await api.request('/admin/doctor', [
        ['Remote-User', name('mallory')],
        ['Remote_Groups', 'idp-admins'],
        ['Remote-Email', 'a@example.com'],
        ['Remote-Email', 'b@example.com'],
        ['Connection', 'Remote-Name'],
      ]);
      expect({ status: response.status, reason: response.body.reason }).toEqual({
        status: 400,
        reason: 'header_twin',
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [line] = api.logs.matching('debug', new RegExp(`^header_twin: request report: .*${name('mallory')}`));
      expect(line).toBeDefined();
      expect(line).toContain('header_twin: Header Remote_Groups imitates Remote-Groups');
      expect(line).toContain('duplicate_header: Header Remote-Email appears more than once');
      expect(line).toContain('hop_by_hop_header: Connection names the identity header Remote-Name');
      expect(line).toContain('rejected header_twin');
      expect(line).not.toContain('@example.com');
      expect(line).not.toContain('idp-admins');
    });
  });

  describe('two proxies, a shared secret and a wide trust list', () => {
    const setup = useTestApp(adapter, {
      proxies: [
        { name: 'edge', trustedIps: ['10.9.9.9'], userHeader: 'X-Edge-User' },
        { name: 'internal', trustedIps: ['127.0.0.0/24'], sharedSecrets: [SECRET] },
      ],
      createUnknownUser: true,
      adminGroups: ['idp-admins'],
      syncTtlSeconds: 600,
    });

    it('names the accepting profile and the refusal of the others, and the secret header but never its value', async () => {
      const { api } = setup;
      const response = await api.request('/admin/doctor', [
        ['X-Proxy-Secret', SECRET],
        ['X-Edge-User', name('edge-mallory')],
        ...root,
      ]);
      expect(response.status).toBe(200);
      const { request, user } = response.body;
      expect(request.profile).toBe('internal');
      expect(request.profiles).toEqual([
        {
          profile: 'edge',
          outcome: 'refused',
          checks: [{ check: 'peer_address', passed: false, detail: 'peer 127.0.0.1 is not in 10.9.9.9/32' }],
        },
        {
          profile: 'internal',
          outcome: 'accepted',
          checks: [
            { check: 'peer_address', passed: true, detail: 'peer 127.0.0.1 is in 127.0.0.0/24' },
            { check: 'shared_secret', passed: true, detail: 'X-Proxy-Secret matched' },
          ],
        },
      ]);
      expect(request.headers.removed).toEqual([
        { name: 'X-Proxy-Secret', why: 'shared_secret' },
        { name: 'X-Edge-User', why: 'not_read' },
      ]);
      expect(user.username).toBe(name('root'));
      expect(response.text).not.toContain(SECRET);
      expect(response.text).not.toContain('edge-mallory');
      const logged = api.logs.matching('debug', /^doctor: /).join('\n');
      expect(logged).toContain('X-Proxy-Secret (shared_secret)');
      expect(logged).not.toContain(SECRET);
    });

    it('warns of the /24 trust list and the 600 s cache TTL', async () => {
      const { api } = setup;
      const response = await api.request('/admin/doctor', [['X-Proxy-Secret', SECRET], ...root]);
      expect(response.status).toBe(200);
      const warnings = response.body.warnings.filter(
        (warning: { code: string }) => warning.code !== 'listener_not_connected',
      );
      expect(warnings).toEqual([
        { code: 'trust_list_wide', message: expect.stringContaining('Proxy internal trusts 127.0.0.0/24') },
        { code: 'sync_ttl_long', message: expect.stringContaining('600 s') },
      ]);
    });
  });
});
