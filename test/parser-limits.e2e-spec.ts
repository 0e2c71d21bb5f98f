import { ADAPTERS, useTestApp } from './support/test-app.js';

/** `count` header lines that mean nothing, as an attacker pads a request. */
const junk = (count: number): [string, string][] =>
  Array.from({ length: count }, (_, i) => [`X-Pad-${i}`, '1'] as [string, string]);

/** THREATS 7: hiding in the parser's limits, and removing headers without breaking Node's views of them. */
describe.each(ADAPTERS)('parser limits (%s)', (adapter) => {
  const app = useTestApp(adapter, { createUnknownUser: true });

  it('refuses a second Remote-User hidden behind more header lines than Node keeps, never the first copy', async () => {
    const response = await app.api.request('/me', [['Remote-User', 'admin'], ...junk(1020), ['Remote-User', 'alice']]);
    expect(response.status).toBe(431);
    expect(response.body).toEqual({ statusCode: 431, message: expect.any(String), reason: 'header_list_truncated' });
    expect(await app.api.sql(`SELECT username FROM auth_proxy_users WHERE username IN ('admin', 'alice')`)).toEqual([]);
  });

  it('refuses a header list that reached the limit even when no duplicate is visible', async () => {
    const response = await app.api.request('/me', [['Remote-User', 'padded'], ...junk(1000)]);
    expect(response.status).toBe(431);
    expect(response.body.reason).toBe('header_list_truncated');
  });

  it('still sees a duplicate below the limit, and lets a long but complete list through', async () => {
    const duplicate = await app.api.request('/me', [['Remote-User', 'admin'], ...junk(900), ['Remote-User', 'alice']]);
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.reason).toBe('duplicate_header');
    const long = await app.api.request('/me', [['Remote-User', 'long-list'], ...junk(900)]);
    expect(long.status).toBe(200);
    expect(long.body.username).toBe('long-list');
  });

  it('keeps public routes working for a truncated list (no identity is read there)', async () => {
    const response = await app.api.request('/probe/headers', [...junk(1020)]);
    expect(response.status).toBe(200);
  });

  it.each([
    ['an obs-fold continuation line', [['Remote-User', 'alice\r\n admin']], 400, 'bad_request'],
    ['a NUL in a value', [['Remote-User', 'al\u0000ice']], 400, 'bad_request'],
    [
      'a header block over 16 KB',
      [
        ['Remote-User', 'alice'],
        ['X-Big', 'x'.repeat(17_000)],
      ],
      431,
      'header_fields_too_large',
    ],
  ] as [string, [string, string][], number, string][])(
    "answers what Node's parser refuses (%s) in the error shape",
    async (_what, headers, status, reason) => {
      const response = await app.api.request('/me', headers);
      expect(response.status).toBe(status);
      expect(response.body).toEqual({ statusCode: status, message: expect.any(String), reason });
    },
  );

  it('answers an Expect header Node cannot meet in the error shape (417)', async () => {
    const response = await app.api.request('/me', [
      ['Remote-User', 'alice'],
      ['Expect', 'something-else'],
    ]);
    expect(response.status).toBe(417);
    expect(response.body).toEqual({ statusCode: 417, message: expect.any(String), reason: 'expectation_failed' });
  });

  it("leaves Node's headersDistinct usable after removing an untrusted peer's identity headers", async () => {
    const response = await app.api.request(
      '/probe/headers-distinct',
      [
        ['Remote-User', 'admin'],
        ['X-Other', '1'],
        ['Remote_Groups', 'admins'],
      ],
      { localAddress: '127.0.0.2' },
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ names: [] });
  });
});
