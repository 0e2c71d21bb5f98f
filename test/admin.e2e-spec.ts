import request from 'supertest';
import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

type Headers = Record<string, string>;

/** The admin REST API through HTTP: resources, authorization, validation, and the mapping flow. */
describe.each(ADAPTERS)('admin API (%s)', (adapter) => {
  let database: TestDatabase;
  let api: TestApp;
  const name = (base: string) => `${base}-${adapter}`;
  const root: Headers = { 'Remote-User': name('root'), 'Remote-Groups': 'idp-admins' };
  const plain: Headers = { 'Remote-User': name('plain'), 'Remote-Groups': 'staff' };

  beforeAll(async () => {
    database = await createTestDatabase();
    // ';' separates groups so external groups can be LDAP DNs with commas.
    api = await startTestApp(
      adapter,
      { createUnknownUser: true, adminGroups: ['idp-admins'], groupsSeparator: ';' },
      await database.options(),
    );
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  const http = () => request(api.app.getHttpServer());
  const as = (headers: Headers) => ({
    get: (path: string) => http().get(path).set(headers),
    post: (path: string, body?: object) =>
      http().post(path).set(headers).set('Content-Type', 'application/json').send(body),
    patch: (path: string, body: object) => http().patch(path).set(headers).send(body),
    delete: (path: string) => http().delete(path).set(headers),
  });
  const admin = as(root);
  const userId = async (username: string) =>
    (await api.sql(`SELECT id FROM auth_proxy_users WHERE username = $1`, [username]))[0]?.id as string;
  const audit = async (query: string) =>
    (await admin.get(`/admin/audit-events?perPage=100&${query}`).expect(200)).body.items;

  describe('authorization', () => {
    const endpoints: [method: 'get' | 'post' | 'patch' | 'delete', path: string, body?: object][] = [
      ['get', '/admin/groups'],
      ['post', '/admin/groups', { name: 'x' }],
      ['get', '/admin/groups/00000000-0000-4000-8000-000000000000'],
      ['patch', '/admin/groups/00000000-0000-4000-8000-000000000000', { name: 'x' }],
      ['delete', '/admin/groups/00000000-0000-4000-8000-000000000000'],
      ['get', '/admin/group-mappings'],
      ['post', '/admin/group-mappings', { externalGroup: 'x', group: 'x' }],
      ['post', '/admin/group-mappings/preview', { externalGroups: ['x'] }],
      ['delete', '/admin/group-mappings/00000000-0000-4000-8000-000000000000'],
      ['get', '/admin/external-groups'],
      ['get', '/admin/users'],
      ['get', '/admin/users/00000000-0000-4000-8000-000000000000'],
      ['post', '/admin/users/00000000-0000-4000-8000-000000000000/disable', {}],
      ['post', '/admin/users/00000000-0000-4000-8000-000000000000/enable', {}],
      ['post', '/admin/users/00000000-0000-4000-8000-000000000000/grants', { group: 'x' }],
      ['delete', '/admin/users/00000000-0000-4000-8000-000000000000/grants/00000000-0000-4000-8000-000000000000'],
      ['get', '/admin/users/00000000-0000-4000-8000-000000000000/sessions'],
      ['delete', '/admin/users/00000000-0000-4000-8000-000000000000/sessions'],
      ['delete', '/admin/users/00000000-0000-4000-8000-000000000000/sessions/00000000-0000-4000-8000-000000000000'],
      ['get', '/admin/audit-events'],
    ];

    // Rows as objects: a row shorter than the callback's parameter list would make Jest pass a `done` callback.
    it.each(endpoints.map(([method, path, body]) => ({ method, path, body })))(
      '$method $path: 401 anonymous, 403 for a non-admin, admins get through',
      async ({ method, path, body }) => {
        const anonymous = await (method === 'get' || method === 'delete'
          ? http()[method](path)
          : http()[method](path).send(body));
        expect({ status: anonymous.status, reason: anonymous.body.reason }).toEqual({
          status: 401,
          reason: 'missing_identity',
        });
        const user = as(plain);
        const forbidden = await (method === 'get' || method === 'delete'
          ? user[method](path)
          : user[method](path, body!));
        expect({ status: forbidden.status, reason: forbidden.body.reason }).toEqual({
          status: 403,
          reason: 'admin_required',
        });
        const allowed = await (method === 'get' || method === 'delete'
          ? admin[method](path)
          : admin[method](path, body!));
        expect([200, 201, 204, 404, 409]).toContain(allowed.status);
      },
    );

    it('treats members of the local admin group as admins too', async () => {
      const [{ id: adminGroupId }] = await api.sql(
        `INSERT INTO auth_proxy_groups (name) VALUES ('admin') ON CONFLICT (name) DO UPDATE SET name = 'admin' RETURNING id`,
      );
      await admin.post('/admin/group-mappings', { externalGroup: name('ops-leads'), group: 'admin' }).expect(201);
      const lead = as({ 'Remote-User': name('lead'), 'Remote-Groups': name('ops-leads') });
      await lead.get('/admin/groups').expect(200);
      expect(adminGroupId).toBeDefined();
    });

    it('refuses POSTs a cross-site form could send: 415 unless the body is JSON', async () => {
      const form = await http()
        .post('/admin/group-mappings')
        .set(root)
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('externalGroup=staff&group=admin');
      expect({ status: form.status, reason: form.body.reason }).toEqual({
        status: 415,
        reason: 'unsupported_media_type',
      });
      const bodiless = await http().post('/admin/users/00000000-0000-4000-8000-000000000000/disable').set(root);
      expect(bodiless.status).toBe(415);
      const text = await http().post('/admin/groups').set(root).set('Content-Type', 'text/plain').send('x');
      expect(text.status).toBe(415);
      const mappings = await admin.get('/admin/group-mappings').query({ externalGroup: 'staff' });
      expect(mappings.body.total).toBe(0);
    });

    it('ignores a spoofed admin from an untrusted peer', async () => {
      const response = await api.request(
        '/admin/groups',
        [
          ['Remote-User', name('root')],
          ['Remote-Groups', 'idp-admins'],
        ],
        {
          localAddress: '127.0.0.2',
        },
      );
      expect(response.status).toBe(401);
      expect(response.body.reason).toBe('untrusted_proxy');
    });
  });

  describe('groups', () => {
    it('creates, reads, updates, lists and deletes a local group', async () => {
      const created = await admin
        .post('/admin/groups', { name: `  ${name('editors')} `, description: 'Edit things' })
        .expect(201);
      expect(created.body).toMatchObject({ name: name('editors'), description: 'Edit things', id: expect.any(String) });
      await admin.get(`/admin/groups/${created.body.id}`).expect(200, created.body);
      const updated = await admin.patch(`/admin/groups/${created.body.id}`, { name: name('writers') }).expect(200);
      expect(updated.body).toMatchObject({ name: name('writers'), description: 'Edit things' });
      const cleared = await admin.patch(`/admin/groups/${created.body.id}`, { description: null }).expect(200);
      expect(cleared.body.description).toBeNull();
      const list = await admin.get(`/admin/groups?search=${name('writers')}&perPage=5`).expect(200);
      expect(list.body).toEqual({
        items: [expect.objectContaining({ name: name('writers') })],
        total: 1,
        page: 1,
        perPage: 5,
      });
      await admin.delete(`/admin/groups/${created.body.id}`).expect(204);
      const gone = await admin.get(`/admin/groups/${created.body.id}`).expect(404);
      expect(gone.body).toEqual({ statusCode: 404, message: expect.any(String), reason: 'not_found' });
      const events = await audit(`actor=${name('root')}`);
      expect(events.map((event: { type: string }) => event.type)).toEqual(
        expect.arrayContaining(['group_created', 'group_updated', 'group_deleted']),
      );
    });

    it('answers 409 for a duplicate name, on create and on rename', async () => {
      const first = await admin.post('/admin/groups', { name: name('dup-a') }).expect(201);
      await admin.post('/admin/groups', { name: name('dup-b') }).expect(201);
      const duplicate = await admin.post('/admin/groups', { name: name('dup-a') }).expect(409);
      expect(duplicate.body.reason).toBe('conflict');
      await admin.patch(`/admin/groups/${first.body.id}`, { name: name('dup-b') }).expect(409);
    });

    it('paginates with the real total, also past the last page', async () => {
      for (let i = 0; i < 3; i += 1) await admin.post('/admin/groups', { name: name(`page-${i}`) }).expect(201);
      const second = await admin.get(`/admin/groups?search=page-&perPage=2&page=2`).expect(200);
      expect(second.body).toMatchObject({ total: 3, page: 2, perPage: 2 });
      expect(second.body.items).toHaveLength(1);
      const beyond = await admin.get(`/admin/groups?search=page-&perPage=2&page=9`).expect(200);
      expect(beyond.body).toEqual({ items: [], total: 3, page: 9, perPage: 2 });
    });

    it.each([
      [{ name: '' }, 'name', 'must not be empty'],
      [{ name: '   ' }, 'name', 'must not be empty'],
      [{ name: 'x'.repeat(257) }, 'name', 'must be at most 256 characters'],
      [{ name: 'bad\u0007name' }, 'name', 'must not contain control or invisible characters'],
      [{ name: 'zero\u200bwidth' }, 'name', 'must not contain control or invisible characters'],
      [{ name: 42 }, 'name', 'must be a string'],
      [{}, 'name', 'must be a string'],
      [{ name: 'ok', description: 'd'.repeat(1001) }, 'description', 'must be at most 1000 characters'],
      [{ name: 'ok', admin: true }, 'admin', 'is not an accepted field'],
    ])('400 naming the field for %j', async (body, field, problem) => {
      const response = await admin.post('/admin/groups', body).expect(400);
      expect(response.body).toMatchObject({ statusCode: 400, reason: 'validation_failed' });
      expect(response.body.errors).toEqual([{ field, problem }]);
      expect(response.body.message).toContain(`${field}: ${problem}`);
    });

    it('keeps the one error shape for errors the HTTP layer raises itself', async () => {
      const malformed = await http()
        .post('/admin/groups')
        .set(root)
        .set('Content-Type', 'application/json')
        .send('{"name":');
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual({ statusCode: 400, message: expect.any(String), reason: 'bad_request' });
      const unknown = await admin.get('/admin/no-such-resource').expect(404);
      expect(unknown.body).toEqual({ statusCode: 404, message: expect.any(String), reason: 'not_found' });
      // A malformed URL: Fastify answers it itself, before routing (the reference app passes fastifyFrameworkErrors).
      // (Express matches the undecoded path: no route is /me%E0%A4%A, so that one is a 404 there.)
      for (const path of ['/me%E0%A4%A', '/admin/groups/%E0%A4%A']) {
        const badUrl = await admin.get(path);
        const [status, reason] =
          adapter === 'express' && path === '/me%E0%A4%A' ? [404, 'not_found'] : [400, 'bad_request'];
        expect(badUrl.status).toBe(status);
        expect(badUrl.body).toEqual({ statusCode: status, message: expect.any(String), reason });
      }
      // class-transformer would recurse through it until the stack runs out: a 400 first, never a 500.
      const deep = await http()
        .post('/admin/groups')
        .set(root)
        .set('Content-Type', 'application/json')
        .send(`{"name":"deep","x":${'['.repeat(5000)}${']'.repeat(5000)}}`);
      expect(deep.status).toBe(400);
      expect(deep.body).toMatchObject({ statusCode: 400, reason: 'validation_failed' });
      // A path parameter past Fastify's maxParamLength (100): Fastify answers 414 itself; Express validates it.
      const longParam = await admin.get(`/admin/groups/${'a'.repeat(200)}`);
      const [longStatus, longReason] = adapter === 'fastify' ? [414, 'uri_too_long'] : [400, 'validation_failed'];
      expect(longParam.status).toBe(longStatus);
      expect(longParam.body).toMatchObject({ statusCode: longStatus, reason: longReason });
      const huge = await admin.post('/admin/groups', { name: 'x', description: 'd'.repeat(3_000_000) });
      expect(huge.status).toBe(413);
      expect(huge.body).toEqual({ statusCode: 413, message: expect.any(String), reason: 'payload_too_large' });
    });

    it('400 for ids and query values that are not what they should be', async () => {
      const id = await admin.get('/admin/groups/not-a-uuid').expect(400);
      expect(id.body.errors).toEqual([{ field: 'id', problem: 'must be a UUID' }]);
      const page = await admin.get('/admin/groups?page=0&perPage=1000').expect(400);
      expect(page.body.errors).toEqual(
        expect.arrayContaining([
          { field: 'page', problem: 'must be at least 1' },
          { field: 'perPage', problem: 'must be at most 100' },
        ]),
      );
    });
  });

  describe('group mappings and external groups', () => {
    const dn = (cn: string) => `cn=${name(cn)},ou=groups/eu,dc=example,dc=org`;

    it('maps an external group (an LDAP DN, in the body) to a local group; 409 on a duplicate; 404 for an unknown group', async () => {
      await admin.post('/admin/groups', { name: name('analysts') }).expect(201);
      const created = await admin
        .post('/admin/group-mappings', { externalGroup: dn('analysts'), group: name('analysts') })
        .expect(201);
      expect(created.body).toMatchObject({ externalGroup: dn('analysts'), group: { name: name('analysts') } });
      const duplicate = await admin
        .post('/admin/group-mappings', { externalGroup: dn('analysts'), group: name('analysts') })
        .expect(409);
      expect(duplicate.body.reason).toBe('conflict');
      const unknown = await admin
        .post('/admin/group-mappings', { externalGroup: dn('analysts'), group: name('nope') })
        .expect(404);
      expect(unknown.body.reason).toBe('not_found');
      const events = await audit('type=mapping_created');
      expect(
        events.filter(
          (event: { details: { externalGroup: string } }) => event.details.externalGroup === dn('analysts'),
        ),
      ).toHaveLength(1);
    });

    it('lists mappings filtered by external group (query string) or local group', async () => {
      const byExternal = await admin
        .get('/admin/group-mappings')
        .query({ externalGroup: dn('analysts') })
        .expect(200);
      expect(byExternal.body.items.map((item: { group: { name: string } }) => item.group.name)).toEqual([
        name('analysts'),
      ]);
      const byGroup = await admin
        .get('/admin/group-mappings')
        .query({ group: name('analysts') })
        .expect(200);
      expect(byGroup.body.items.map((item: { externalGroup: string }) => item.externalGroup)).toEqual([dn('analysts')]);
      expect(byGroup.body.total).toBe(1);
    });

    it('previews the local groups external groups would give, with the bootstrap', async () => {
      const preview = await admin
        .post('/admin/group-mappings/preview', { externalGroups: [dn('analysts'), 'idp-admins', 'unmapped'] })
        .expect(200);
      expect(preview.body.groups).toEqual(['admin', name('analysts')].sort());
      expect(preview.body.details).toEqual(
        expect.arrayContaining([
          { name: 'admin', sources: [{ type: 'bootstrap', externalGroup: 'idp-admins' }] },
          {
            name: name('analysts'),
            sources: [{ type: 'mapping', externalGroup: dn('analysts'), mappingId: expect.any(String) }],
          },
        ]),
      );
      const invalid = await admin.post('/admin/group-mappings/preview', { externalGroups: ['ok', ''] }).expect(400);
      expect(invalid.body.errors).toEqual([{ field: 'externalGroups', problem: 'must not be empty' }]);
    });

    it('shows every asserted external group with its user count and whether it is mapped', async () => {
      await as({ 'Remote-User': name('eg-1'), 'Remote-Groups': `${dn('analysts')};${name('unmapped')}` })
        .get('/me')
        .expect(200);
      await as({ 'Remote-User': name('eg-2'), 'Remote-Groups': dn('analysts') })
        .get('/me')
        .expect(200);
      const all = await admin.get('/admin/external-groups').query({ search: adapter, perPage: 100 }).expect(200);
      expect(all.body.items).toEqual(
        expect.arrayContaining([
          { externalGroup: dn('analysts'), users: 2, mapped: true, groups: [name('analysts')] },
          { externalGroup: name('unmapped'), users: 1, mapped: false, groups: [] },
        ]),
      );
      const unmapped = await admin
        .get('/admin/external-groups')
        .query({ search: adapter, mapped: 'false' })
        .expect(200);
      expect(unmapped.body.items.map((item: { externalGroup: string }) => item.externalGroup)).toContain(
        name('unmapped'),
      );
      expect(unmapped.body.items.every((item: { mapped: boolean }) => !item.mapped)).toBe(true);
    });

    it('deletes a mapping: 204, then 404', async () => {
      const [mapping] = (await admin.get('/admin/group-mappings').query({ externalGroup: dn('analysts') })).body.items;
      await admin.delete(`/admin/group-mappings/${mapping.id}`).expect(204);
      const again = await admin.delete(`/admin/group-mappings/${mapping.id}`).expect(404);
      expect(again.body.reason).toBe('not_found');
    });
  });

  describe('users', () => {
    it('lists users with search and pagination', async () => {
      for (const who of ['carol', 'carla', 'dave'])
        await as({ 'Remote-User': name(who) })
          .get('/me')
          .expect(200);
      const found = await admin.get('/admin/users').query({ search: 'car', perPage: 1 }).expect(200);
      expect(found.body).toMatchObject({ total: 2, page: 1, perPage: 1 });
      expect(found.body.items[0].username).toBe(name('carla'));
    });

    it('shows one user with external groups and where each effective group comes from', async () => {
      await admin.post('/admin/groups', { name: name('viewers') }).expect(201);
      await admin.post('/admin/groups', { name: name('helpers') }).expect(201);
      await admin
        .post('/admin/group-mappings', { externalGroup: name('ext-viewers'), group: name('viewers') })
        .expect(201);
      const erin = as({ 'Remote-User': name('erin'), 'Remote-Groups': `${name('ext-viewers')};idp-admins` });
      await erin.get('/me').expect(200);
      const id = await userId(name('erin'));
      await admin.post(`/admin/users/${id}/grants`, { group: name('helpers') }).expect(201);
      const detail = await admin.get(`/admin/users/${id}`).expect(200);
      expect(detail.body).toMatchObject({
        username: name('erin'),
        externalGroups: [name('ext-viewers'), 'idp-admins'].sort(),
        isAdmin: true,
      });
      expect(detail.body.groups).toEqual(
        expect.arrayContaining([
          { name: 'admin', sources: [{ type: 'bootstrap', externalGroup: 'idp-admins' }] },
          { name: name('helpers'), sources: [{ type: 'manual' }] },
          {
            name: name('viewers'),
            sources: [{ type: 'mapping', externalGroup: name('ext-viewers'), mappingId: expect.any(String) }],
          },
        ]),
      );
      await admin.get('/admin/users/00000000-0000-4000-8000-000000000000').expect(404);
    });

    it('grants and revokes manual groups; sync never removes a grant; 404 and 409 where due', async () => {
      const frank = as({ 'Remote-User': name('frank'), 'Remote-Groups': 'a' });
      await frank.get('/me').expect(200);
      const id = await userId(name('frank'));
      await admin.post(`/admin/users/${id}/grants`, { group: name('helpers') }).expect(201);
      expect((await frank.get('/me')).body.groups).toEqual([name('helpers')]);
      // The proxy now asserts other groups: the manual grant stays.
      const changed = as({ 'Remote-User': name('frank'), 'Remote-Groups': 'b' });
      expect((await changed.get('/me')).body.groups).toEqual([name('helpers')]);
      expect((await admin.post(`/admin/users/${id}/grants`, { group: name('helpers') }).expect(409)).body.reason).toBe(
        'conflict',
      );
      expect((await admin.post(`/admin/users/${id}/grants`, { group: name('nope') }).expect(404)).body.reason).toBe(
        'not_found',
      );
      const [{ id: groupId }] = (await admin.get('/admin/groups').query({ search: name('helpers') })).body.items;
      await admin.delete(`/admin/users/${id}/grants/${groupId}`).expect(204);
      expect((await changed.get('/me')).body.groups).toEqual([]);
      await admin.delete(`/admin/users/${id}/grants/${groupId}`).expect(404);
      const events = await audit(`user=${name('frank')}`);
      expect(events.map((event: { type: string; actor: string }) => [event.type, event.actor])).toEqual(
        expect.arrayContaining([
          ['grant_added', name('root')],
          ['grant_removed', name('root')],
          ['user_groups_changed', 'proxy'],
          ['user_created', 'proxy'],
        ]),
      );
    });

    it('disables and enables a user, effective from the next request; an admin cannot disable themself', async () => {
      const gina = as({ 'Remote-User': name('gina') });
      await gina.get('/me').expect(200);
      const id = await userId(name('gina'));
      expect((await admin.post(`/admin/users/${id}/disable`, {}).expect(200)).body.disabled).toBe(true);
      expect((await gina.get('/me').expect(403)).body.reason).toBe('user_disabled');
      expect((await admin.post(`/admin/users/${id}/enable`, {}).expect(200)).body.disabled).toBe(false);
      await gina.get('/me').expect(200);
      await admin.get('/me').expect(200);
      const rootId = await userId(name('root'));
      for (const spelling of [rootId, rootId.toUpperCase(), rootId.slice(0, 8).toUpperCase() + rootId.slice(8)]) {
        const self = await admin.post(`/admin/users/${spelling}/disable`, {}).expect(409);
        expect(self.body.reason).toBe('conflict');
      }
      await admin.get('/me').expect(200);
      expect((await admin.get(`/admin/users/${rootId.toUpperCase()}`).expect(200)).body.disabled).toBe(false);
      const types = (await audit(`user=${name('gina')}`)).map((event: { type: string }) => event.type);
      expect(types).toEqual(expect.arrayContaining(['user_disabled', 'user_enabled']));
    });
  });

  describe('audit events', () => {
    it('filters by type, actor, user and time, newest first, paginated', async () => {
      const since = new Date(Date.now() - 60_000).toISOString();
      const page = await admin
        .get('/admin/audit-events')
        .query({ actor: name('root'), since, perPage: 2 })
        .expect(200);
      expect(page.body.items).toHaveLength(2);
      expect(page.body.total).toBeGreaterThan(2);
      const [first, second] = page.body.items;
      expect(new Date(first.occurredAt).getTime()).toBeGreaterThanOrEqual(new Date(second.occurredAt).getTime());
      const none = await admin.get('/admin/audit-events').query({ until: '2000-01-01T00:00:00Z' }).expect(200);
      expect(none.body).toEqual({ items: [], total: 0, page: 1, perPage: 20 });
      const bad = await admin.get('/admin/audit-events').query({ type: 'nonsense', since: 'yesterday' }).expect(400);
      expect(bad.body.errors.map((error: { field: string }) => error.field).sort()).toEqual(['since', 'type']);
      for (const since of ['2024', '2024-W01-1', '2024-01-01T10:00:00,5Z']) {
        expect((await admin.get('/admin/audit-events').query({ since })).status).toBe(400);
      }
      expect((await admin.get('/admin/audit-events').query({ page: '900000000000000000' })).status).toBe(400);
      // Dates Date.parse accepts and PostgreSQL refuses: a 400 naming the field, not a failed statement (503).
      for (const since of [
        '2026-02-30',
        '0000-01-01',
        '2023-02-29',
        '2026-01-01T24:00:00Z',
        '2026-01-01T10:00:00+16:00',
      ]) {
        const refused = await admin.get('/admin/audit-events').query({ since, until: since });
        expect(refused.status).toBe(400);
        expect(refused.body.reason).toBe('validation_failed');
        expect(refused.body.errors.map((error: { field: string }) => error.field).sort()).toEqual(['since', 'until']);
      }
      await admin.get('/admin/audit-events').query({ since: '2024-02-29', until: '9999-12-31' }).expect(200);
      await admin
        .get('/admin/audit-events')
        .query({ since: '2024-01-01', until: '2999-01-01T00:00:00+01:00' })
        .expect(200);
    });

    it('tells an admin called proxy apart from the proxy itself', async () => {
      const proxyAdmin = as({ 'Remote-User': 'proxy', 'Remote-Groups': 'idp-admins' });
      await proxyAdmin.post('/admin/groups', { name: name('by-proxy-admin') }).expect(201);
      const byAdmin = await audit('actor=proxy&actorType=admin');
      expect(byAdmin.map((event: { type: string }) => event.type)).toEqual(['group_created']);
      expect(byAdmin[0]).toMatchObject({ actorType: 'admin', actor: 'proxy' });
      const byProxy = await audit('actorType=proxy');
      expect(byProxy.length).toBeGreaterThan(0);
      for (const event of byProxy) {
        expect(['user_created', 'user_attributes_changed', 'user_groups_changed']).toContain(event.type);
      }
      expect(byProxy.some((event: { username: string }) => event.username === 'proxy')).toBe(true); // its own login
    });

    it('writes nothing when the change fails', async () => {
      const before = (await admin.get('/admin/audit-events').query({ type: 'group_created' })).body.total;
      await admin.post('/admin/groups', { name: name('analysts') }).expect(409);
      expect((await admin.get('/admin/audit-events').query({ type: 'group_created' })).body.total).toBe(before);
    });
  });

  it('the whole flow: assert X -> map X to G -> G appears -> unmap -> G disappears -> all of it in the audit trail', async () => {
    const bob = as({ 'Remote-User': name('bob'), 'Remote-Groups': 'cn=finance,ou=groups,dc=example,dc=org' });
    expect((await bob.get('/me').expect(200)).body.groups).toEqual([]);
    await admin.post('/admin/groups', { name: name('finance') }).expect(201);
    const mapping = await admin
      .post('/admin/group-mappings', {
        externalGroup: 'cn=finance,ou=groups,dc=example,dc=org',
        group: name('finance'),
      })
      .expect(201);
    expect((await bob.get('/me').expect(200)).body.groups).toEqual([name('finance')]);
    await admin.delete(`/admin/group-mappings/${mapping.body.id}`).expect(204);
    expect((await bob.get('/me').expect(200)).body.groups).toEqual([]);

    const trail = (await audit(`since=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}`))
      .filter(
        (event: { username: string | null; details: { externalGroup?: string } }) =>
          event.username === name('bob') || event.details.externalGroup === 'cn=finance,ou=groups,dc=example,dc=org',
      )
      .reverse()
      .map((event: { type: string; actor: string }) => [event.type, event.actor]);
    expect(trail).toEqual([
      ['user_created', 'proxy'],
      ['user_groups_changed', 'proxy'],
      ['mapping_created', name('root')],
      ['mapping_deleted', name('root')],
    ]);
  });

  // Registered for Express only (see test/support/test-app.ts); the Fastify app's /docs is checked in
  // test/reference-app.e2e-spec.ts.
  const onExpress = adapter === 'express' ? it : () => undefined;
  onExpress('serves the OpenAPI document with the identity headers as security schemes', async () => {
    const document = await http().get('/docs/openapi.json').expect(200);
    expect(Object.keys(document.body.paths)).toEqual(
      expect.arrayContaining([
        '/admin/groups',
        '/admin/group-mappings',
        '/admin/group-mappings/preview',
        '/admin/users/{id}',
        '/admin/audit-events',
      ]),
    );
    expect(document.body.components.securitySchemes['Remote-User']).toEqual(
      expect.objectContaining({ type: 'apiKey', in: 'header', name: 'Remote-User' }),
    );
    const ui = await http().get('/docs').redirects(1);
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });
});
