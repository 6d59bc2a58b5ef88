/**
 * The edit window (api.md "Messages", EDIT_WINDOW_SECONDS): a node started with a 1-second
 * window, so that a message can be seen leaving it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectError } from './helpers/expect-error.js';
import { createChannel, seedGuild, sleep, startTestNode, type TestNode } from './helpers/harness.js';
import { post } from './helpers/messages.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ env: { FABRIC_BACKEND_GUILD_EDIT_WINDOW_SECONDS: '1' } });
});
afterAll(async () => t?.close());

describe('PATCH /api/messages/:messageId after EDIT_WINDOW_SECONDS', () => {
  it('returns 409 edit_window_expired once the window has passed, leaves the message unchanged, and still allows delete', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'slow', xType: 'general' });
    const m = await post(t, owner.token, ch.id, 'too late to fix');
    await sleep(1100); // past the 1 s window: createdAt is fixed, so this is not a race
    expectError(await t.api('PATCH', `/api/messages/${m.id}`, { token: owner.token, body: { content: 'fixed' } }), 409, 'edit_window_expired');
    // The window is checked before the body (409 before 400).
    expectError(await t.api('PATCH', `/api/messages/${m.id}`, { token: owner.token, body: { content: 42 } }), 409, 'edit_window_expired');
    const got = await t.api('GET', `/api/messages/${m.id}`, { token: owner.token });
    expect(got.body.message).toMatchObject({ content: 'too late to fix', editedAt: null });
    expect((await t.api('DELETE', `/api/messages/${m.id}`, { token: owner.token })).status).toBe(204);
  });

  it('answers 403 before 409 edit_window_expired for someone who is not the author', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const ch = await createChannel(t, owner.token, { guildId, name: 'old', xType: 'general', memberUserIds: [members[0].id] });
    const m = await post(t, owner.token, ch.id, 'old news');
    await sleep(1100);
    expectError(await t.api('PATCH', `/api/messages/${m.id}`, { token: members[0].token, body: { content: 'x' } }), 403, 'forbidden');
  });
});

describe("the edit window and editedAt/deletedAt on createdAt's clock", () => {
  // createdAt is the database's clock on MySQL (the post path stamps it in SQL); here this
  // host's clock is shifted against it (on SQLite it is the one clock, shifted along).
  const withNodeClock = async <T>(offsetMs: number, fn: () => Promise<T>): Promise<T> => {
    const real = Date.now.bind(Date);
    const shifted = vi.spyOn(Date, 'now').mockImplementation(() => real() + offsetMs);
    try {
      return await fn();
    } finally {
      shifted.mockRestore();
    }
  };
  const ms = (iso: string) => Date.parse(iso);

  it('closes the window EDIT_WINDOW_SECONDS after createdAt, and deletedAt is not before createdAt, with the node 30 s behind', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'behind', xType: 'general' });
    await withNodeClock(-30_000, async () => {
      const m = await post(t, owner.token, ch.id, 'window on the database clock');
      await sleep(1100);
      expectError(await t.api('PATCH', `/api/messages/${m.id}`, { token: owner.token, body: { content: 'late' } }), 409, 'edit_window_expired');
      expect((await t.api('DELETE', `/api/messages/${m.id}`, { token: owner.token })).status).toBe(204);
      const got = (await t.api('GET', `/api/messages/${m.id}`, { token: owner.token })).body.message;
      expect(got.editedAt).toBeNull();
      expect(ms(got.deletedAt)).toBeGreaterThanOrEqual(ms(got.createdAt));
    });
  });

  it('lets an edit right after the post through, with editedAt not before createdAt, with the node 30 s ahead', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'ahead', xType: 'general' });
    await withNodeClock(30_000, async () => {
      const m = await post(t, owner.token, ch.id, 'typo');
      const r = await t.api('PATCH', `/api/messages/${m.id}`, { token: owner.token, body: { content: 'fixed' } });
      expect(r.status).toBe(200);
      expect(r.body.message.content).toBe('fixed');
      expect(ms(r.body.message.editedAt)).toBeGreaterThanOrEqual(ms(m.createdAt));
      expect(ms(r.body.message.editedAt) - ms(m.createdAt)).toBeLessThanOrEqual(1000);
    });
  });
});
