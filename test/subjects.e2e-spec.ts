import {
  TRUSTED_HEADER_ENTITIES,
  TRUSTED_HEADER_MIGRATIONS,
  UserSyncService,
  type AuthenticatedUser,
  type ResolvedTrustedHeaderOptions,
  type TrustedHeaderOptions,
} from 'nestjs-trusted-header';
import {
  DatabaseGate,
  TRUSTED_HEADER_OPTIONS,
  canonicaliseUsername,
  type Identity,
} from 'nestjs-trusted-header/building-blocks';
import { DataSource } from 'typeorm';
import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, describeWithConcurrentDatabase, type TestDatabase } from './support/test-database.js';

/**
 * Accounts keyed on the identity provider's stable subject (THREATS 4 and 5): the username follows renames at
 * the provider, a username another account holds is refused with 409 `username_taken` (never merged, never
 * handed over), a username-only account is adopted once, and racing logins end in one account.
 *
 * The sync is driven through UserSyncService.userFor with the identities the request side hands it; the HTTP
 * cases are the answers a client sees.
 */

const ISSUER = 'authentik';

/** A frozen identity, as the identity reader hands out. */
function identity(username: string, subjectId?: string, extra: { groups?: string[]; issuer?: string } = {}): Identity {
  return Object.freeze({
    username,
    email: null,
    displayName: null,
    groups: Object.freeze([...(extra.groups ?? [])].sort()),
    ...(subjectId === undefined ? {} : { subject: Object.freeze({ issuer: extra.issuer ?? ISSUER, id: subjectId }) }),
  });
}

/** userFor answers synchronously from memory or with a promise; either way a promise here. */
const login = (sync: UserSyncService, who: Identity): Promise<AuthenticatedUser> =>
  Promise.resolve().then(() => sync.userFor(who));

const mainOptions: TrustedHeaderOptions = { createUnknownUser: true, adminGroups: ['idp-admins'] };

describe('accounts keyed on a stable subject', () => {
  let database: TestDatabase;
  let api: TestApp;
  let sync: UserSyncService;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp('express', mainOptions, await database.options({ poolSize: 20 }));
    sync = api.app.get(UserSyncService);
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  /** Another instance of the sync on the same database: its own cache and queues, as on another server. */
  const otherInstance = (overrides: Partial<ResolvedTrustedHeaderOptions> = {}) =>
    new UserSyncService(
      { ...api.app.get<ResolvedTrustedHeaderOptions>(TRUSTED_HEADER_OPTIONS), ...overrides },
      api.app.get(DatabaseGate),
    );
  const row = async (where: string, parameters: unknown[]) =>
    (
      await api.sql(
        `SELECT id, username, subject_issuer, subject, disabled FROM auth_proxy_users WHERE ${where}`,
        parameters,
      )
    )[0];
  const bySubject = (id: string) => row('subject_issuer = $1 AND subject = $2', [ISSUER, id]);
  const byUsername = (username: string) => row('username = $1', [username]);
  const events = (userId: string) =>
    api.sql(`SELECT type, actor_type, username, details FROM auth_proxy_audit_events WHERE user_id = $1 ORDER BY id`, [
      userId,
    ]);
  const count = async (where: string, parameters: unknown[]) =>
    (await api.sql(`SELECT count(*)::int AS n FROM auth_proxy_users WHERE ${where}`, parameters))[0].n as number;

  it('creates the account of a first login with its subject', async () => {
    const user = await login(sync, identity('first', 'uid-first'));
    expect(user.username).toBe('first');
    expect(await byUsername('first')).toEqual({
      id: user.id,
      username: 'first',
      subject_issuer: ISSUER,
      subject: 'uid-first',
      disabled: false,
    });
    expect(await events(user.id)).toEqual([
      {
        type: 'user_created',
        actor_type: 'proxy',
        username: 'first',
        details: { subject: { issuer: ISSUER, id: 'uid-first' } },
      },
    ]);
    // The same person again: the same account, nothing written.
    api.queries.reset();
    sync.invalidate();
    expect((await login(sync, identity('first', 'uid-first'))).id).toBe(user.id);
    expect(api.queries.writes).toBe(0);
  });

  it('follows a rename at the identity provider: same id, sessions and grants kept, one audit event', async () => {
    const before = await login(sync, identity('renamee', 'uid-renamee'));
    const [group] = await api.sql(`INSERT INTO auth_proxy_groups (name) VALUES ('renamee-helpers') RETURNING id`);
    await api.sql(`INSERT INTO auth_proxy_user_groups (user_id, group_id) VALUES ($1, $2)`, [before.id, group.id]);
    await api.sql(
      `INSERT INTO auth_proxy_sessions (token_hash, user_id, expires_at) VALUES (repeat('a', 64), $1, now() + interval '1 day')`,
      [before.id],
    );
    // Read by id as a session does, so that the rename must replace what is remembered.
    expect((await Promise.resolve(sync.userById(before.id))).username).toBe('renamee');

    const after = await login(sync, identity('renamed', 'uid-renamee'));
    expect(after).toMatchObject({ id: before.id, username: 'renamed', groups: ['renamee-helpers'] });
    expect(await bySubject('uid-renamee')).toMatchObject({ id: before.id, username: 'renamed' });
    expect(await byUsername('renamee')).toBeUndefined();
    expect(await count('subject = $1', ['uid-renamee'])).toBe(1);
    expect(await api.sql(`SELECT user_id FROM auth_proxy_sessions WHERE token_hash = repeat('a', 64)`)).toEqual([
      { user_id: before.id },
    ]);
    expect(await api.sql(`SELECT user_id FROM auth_proxy_user_groups WHERE group_id = $1`, [group.id])).toEqual([
      { user_id: before.id },
    ]);
    expect((await Promise.resolve(sync.userById(before.id))).username).toBe('renamed');
    expect((await events(before.id)).filter((event) => event.type === 'user_renamed')).toEqual([
      { type: 'user_renamed', actor_type: 'proxy', username: 'renamed', details: { from: 'renamee', to: 'renamed' } },
    ]);
    expect(
      api.logs.matching('log', new RegExp(`user_renamed: account ${before.id} "renamee" -> "renamed"`)),
    ).toHaveLength(1);
  });

  it('refuses a rename onto a username another account holds: username_taken, logged, both accounts untouched', async () => {
    const holder = await login(sync, identity('holder', 'uid-holder'));
    const mover = await login(sync, identity('mover', 'uid-mover'));
    const holderBefore = await byUsername('holder');

    await expect(login(sync, identity('holder', 'uid-mover'))).rejects.toMatchObject({ reason: 'username_taken' });
    expect(await byUsername('holder')).toEqual(holderBefore);
    expect(await bySubject('uid-mover')).toMatchObject({ id: mover.id, username: 'mover' });
    expect((await events(mover.id)).map((event) => event.type)).toEqual(['user_created']);
    expect((await events(holder.id)).map((event) => event.type)).toEqual(['user_created']);
    const warnings = api.logs.matching('warn', new RegExp(`username_taken: account ${mover.id} .*${holder.id}`));
    expect(warnings).toHaveLength(1);
    // The same refusal for a username-only account holding the name: never a merge either.
    await login(sync, identity('plain-holder'));
    await expect(login(sync, identity('plain-holder', 'uid-mover'))).rejects.toMatchObject({
      reason: 'username_taken',
    });
    expect(await byUsername('plain-holder')).toMatchObject({ subject: null });
  });

  it('adopts a username-only account once, with an audit event; a second subject asserting it is refused', async () => {
    const legacy = await login(sync, identity('legacy'));
    expect(await byUsername('legacy')).toMatchObject({ subject: null });

    const adopted = await login(sync, identity('legacy', 'uid-legacy'));
    expect(adopted.id).toBe(legacy.id);
    expect(await byUsername('legacy')).toMatchObject({ id: legacy.id, subject_issuer: ISSUER, subject: 'uid-legacy' });
    expect((await events(legacy.id)).filter((event) => event.type === 'subject_adopted')).toEqual([
      {
        type: 'subject_adopted',
        actor_type: 'proxy',
        username: 'legacy',
        details: { subject: { issuer: ISSUER, id: 'uid-legacy' } },
      },
    ]);

    // Another person the identity provider now calls `legacy`: never handed this account.
    await expect(login(sync, identity('legacy', 'uid-someone-else'))).rejects.toMatchObject({
      reason: 'username_taken',
    });
    expect(await bySubject('uid-someone-else')).toBeUndefined();
    expect(await byUsername('legacy')).toMatchObject({ id: legacy.id, subject: 'uid-legacy' });
    expect(
      api.logs.matching('warn', new RegExp(`username_taken: "legacy" is held by account ${legacy.id}`)),
    ).toHaveLength(1);
    // The same subject under another issuer is another person too.
    await expect(login(sync, identity('legacy', 'uid-legacy', { issuer: 'other-idp' }))).rejects.toMatchObject({
      reason: 'username_taken',
    });
    expect((await events(legacy.id)).filter((event) => event.type === 'subject_adopted')).toHaveLength(1);
  });

  it('never reaches an account keyed on a subject by its username alone, not even from memory', async () => {
    // Logged in by username alone first, so that instance remembers the account under the username.
    const early = await login(sync, identity('switcher'));
    expect(await login(sync, identity('switcher'))).toBe(early);
    await login(sync, identity('switcher', 'uid-switcher'));
    await expect(login(sync, identity('switcher'))).rejects.toMatchObject({ reason: 'username_taken' });
    await expect(login(otherInstance(), identity('switcher'))).rejects.toMatchObject({ reason: 'username_taken' });
    expect(
      api.logs.matching('warn', /username_taken: "switcher" asserted without a subject; account \S+ is keyed on one/),
    ).not.toHaveLength(0);
  });

  it('creates no account for an unknown subject when auto-create is off, and still adopts an existing one', async () => {
    const noCreate = otherInstance({ createUnknownUser: false });
    await expect(login(noCreate, identity('nobody-yet', 'uid-nobody'))).rejects.toMatchObject({
      reason: 'unknown_user',
    });
    expect(await bySubject('uid-nobody')).toBeUndefined();
    const known = await login(sync, identity('known-plain'));
    expect((await login(noCreate, identity('known-plain', 'uid-known'))).id).toBe(known.id);
  });

  it('keeps a disabled account out and unchanged: no rename, no adoption', async () => {
    const user = await login(sync, identity('disabled-one', 'uid-disabled'));
    await api.sql(`UPDATE auth_proxy_users SET disabled = true WHERE id = $1`, [user.id]);
    sync.invalidate();
    await expect(login(sync, identity('disabled-two', 'uid-disabled'))).rejects.toMatchObject({
      reason: 'user_disabled',
    });
    expect(await bySubject('uid-disabled')).toMatchObject({ username: 'disabled-one' });
  });

  it('keys on the canonical username: `Alice` and `alice` are one name when folded, a rename when not', async () => {
    const canonical = (value: string, caseFold: boolean) => {
      const result = canonicaliseUsername(value, caseFold);
      if (!result.ok) throw new Error(result.problem);
      return result.username;
    };
    const folded = await login(sync, identity(canonical('Alice-Fold', true), 'uid-fold'));
    const again = await login(sync, identity(canonical('alice-fold', true), 'uid-fold'));
    expect(again).toMatchObject({ id: folded.id, username: 'alice-fold' });
    expect((await events(folded.id)).map((event) => event.type)).toEqual(['user_created']);

    const exact = await login(sync, identity(canonical('Alice-Exact', false), 'uid-exact'));
    expect(exact.username).toBe('Alice-Exact');
    const renamed = await login(sync, identity(canonical('alice-exact', false), 'uid-exact'));
    expect(renamed).toMatchObject({ id: exact.id, username: 'alice-exact' });
    expect((await events(exact.id)).map((event) => event.type)).toEqual(['user_created', 'user_renamed']);
  });

  it('shows the subject in the admin API, read-only', async () => {
    const user = await login(sync, identity('shown', 'uid-shown'));
    const admin: [string, string][] = [
      ['Remote-User', 'subjects-admin'],
      ['Remote-Groups', 'idp-admins'],
    ];
    const detail = await api.request(`/admin/users/${user.id}`, admin);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ username: 'shown', subjectIssuer: ISSUER, subject: 'uid-shown' });
    const list = await api.request(`/admin/users?search=subjects-admin`, admin);
    expect(list.body.items).toEqual([expect.objectContaining({ subjectIssuer: null, subject: null })]);
  });

  describeWithConcurrentDatabase('racing', () => {
    it('20 concurrent first logins of one subject on 20 instances give one account', async () => {
      const instances = Array.from({ length: 20 }, () => otherInstance());
      const users = await Promise.all(
        instances.map((instance, i) => login(instance, identity('racer', 'uid-racer', { groups: [`g${i % 3}`] }))),
      );
      expect(new Set(users.map((user) => user.id)).size).toBe(1);
      expect(await count('subject = $1 OR username = $2', ['uid-racer', 'racer'])).toBe(1);
      const [user] = users;
      expect((await events(user!.id)).filter((event) => event.type === 'user_created')).toHaveLength(1);
    });

    it('a rename racing another account created with the same username: one of them is username_taken', async () => {
      const outcomes = new Set<string>();
      for (let round = 0; round < 10; round += 1) {
        const target = `contested-${round}`;
        const mover = await login(sync, identity(`mover-${round}`, `uid-mover-${round}`));
        const [renaming, creating] = await Promise.allSettled([
          login(otherInstance(), identity(target, `uid-mover-${round}`)),
          login(otherInstance(), identity(target, `uid-newcomer-${round}`)),
        ]);
        const settled = [renaming, creating];
        expect(settled.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        const [refused] = settled.filter((result) => result.status === 'rejected') as PromiseRejectedResult[];
        expect(refused!.reason).toMatchObject({ reason: 'username_taken' });
        const holder = await byUsername(target);
        if (renaming.status === 'fulfilled') {
          outcomes.add('renamed');
          expect(holder).toMatchObject({ id: mover.id, subject: `uid-mover-${round}` });
          expect(await bySubject(`uid-newcomer-${round}`)).toBeUndefined();
        } else {
          outcomes.add('created');
          expect(holder).toMatchObject({ subject: `uid-newcomer-${round}` });
          expect(await bySubject(`uid-mover-${round}`)).toMatchObject({ id: mover.id, username: `mover-${round}` });
        }
        // Never half-written: a rename has its audit event, a refusal left none.
        const renames = (await events(mover.id)).filter((event) => event.type === 'user_renamed');
        expect(renames).toHaveLength(renaming.status === 'fulfilled' ? 1 : 0);
      }
      console.info(`rename races: ${[...outcomes].join(', ')}`);
    });
  });
});

/** The HTTP answer of a refusal, on both adapters. */
describe.each(ADAPTERS)('username_taken over HTTP (%s)', (adapter) => {
  let database: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(adapter, mainOptions, await database.options());
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  it('answers 409 username_taken to a username-only login of an account keyed on a subject', async () => {
    const user = await login(api.app.get(UserSyncService), identity('keyed', 'uid-keyed'));
    const response = await api.request('/me', [['Remote-User', 'Keyed']]);
    expect(response.status).toBe(409);
    expect(response.body).toEqual({
      statusCode: 409,
      reason: 'username_taken',
      message: 'This username belongs to another account',
    });
    const [stored] = await api.sql(`SELECT username, subject FROM auth_proxy_users WHERE id = $1`, [user.id]);
    expect(stored).toEqual({ username: 'keyed', subject: 'uid-keyed' });
    // An account without a subject is reached by its username as before.
    expect((await api.request('/me', [['Remote-User', 'plain']])).status).toBe(200);
  });
});

/** authentik's proxy outpost: the stable `X-authentik-uid` beside the username, keyed in the profile's name. */
describe.each(ADAPTERS)('X-authentik-uid over HTTP (%s)', (adapter) => {
  let database: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(
      adapter,
      { createUnknownUser: true, preset: 'authentik', userIdHeader: 'X-authentik-uid' },
      await database.options(),
    );
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  const me = (username: string, uid: string) =>
    api.request('/me', [
      ['X-authentik-username', username],
      ['X-authentik-uid', uid],
    ]);

  it('keys the account on the uid: a rename follows, a username held by another uid is 409 username_taken', async () => {
    const first = await me('Hugo', 'uid-hugo');
    expect(first.status).toBe(200);
    expect(first.body.username).toBe('hugo');
    const [stored] = await api.sql(`SELECT id, subject_issuer, subject FROM auth_proxy_users WHERE username = 'hugo'`);
    expect(stored).toEqual({ id: first.body.id, subject_issuer: 'profile:authentik', subject: 'uid-hugo' });

    const renamed = await me('hugo-renamed', 'uid-hugo');
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: first.body.id, username: 'hugo-renamed' });

    const other = await me('hugo-renamed', 'uid-other');
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ statusCode: 409, reason: 'username_taken' });
    expect(await api.sql(`SELECT username FROM auth_proxy_users WHERE subject = 'uid-other'`)).toEqual([]);
    expect(await api.sql(`SELECT count(*)::int AS n FROM auth_proxy_users`)).toEqual([{ n: 1 }]);
  });
});

describe('migration AddUserSubjects1732700000000', () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = new DataSource({
      ...(await database.options()),
      entities: TRUSTED_HEADER_ENTITIES,
      migrations: TRUSTED_HEADER_MIGRATIONS,
      migrationsRun: false,
      synchronize: false,
    });
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await database?.close();
  });

  const columns = async () =>
    (
      await dataSource.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'auth_proxy_users' AND column_name LIKE 'subject%'
          ORDER BY 1`,
      )
    ).map((column: { column_name: string }) => column.column_name);

  it('refuses half a subject and a subject twice in one namespace', async () => {
    await expect(
      dataSource.query(`INSERT INTO auth_proxy_users (username, subject_issuer) VALUES ('half', 'idp')`),
    ).rejects.toMatchObject({ driverError: { constraint: 'auth_proxy_users_subject_pair_check' } });
    await dataSource.query(
      `INSERT INTO auth_proxy_users (username, subject_issuer, subject) VALUES ('one', 'idp', 'x')`,
    );
    await dataSource.query(
      `INSERT INTO auth_proxy_users (username, subject_issuer, subject) VALUES ('two', 'kc', 'x')`,
    );
    await expect(
      dataSource.query(`INSERT INTO auth_proxy_users (username, subject_issuer, subject) VALUES ('three', 'idp', 'x')`),
    ).rejects.toMatchObject({ driverError: { constraint: 'auth_proxy_users_subject_key' } });
  });

  it('goes down and up again', async () => {
    expect(await columns()).toEqual(['subject', 'subject_issuer']);
    await dataSource.undoLastMigration({ transaction: 'each' });
    expect(await columns()).toEqual([]);
    await dataSource.runMigrations({ transaction: 'each' });
    expect(await columns()).toEqual(['subject', 'subject_issuer']);
  });
});
