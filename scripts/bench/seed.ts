/** Seeding through the node's REST API and the Center emulator: one guild, its users and channels. */
import type { Target } from './target.js';

export async function call<T = unknown>(url: string, method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export interface SeededUser {
  id: string;
  token: string;
}

export interface Seeded {
  guildId: string;
  users: SeededUser[];
  /** `members`: indexes into `users`. */
  channels: { id: string; members: number[] }[];
}

/** One guild, `users` users, `channels` general channels; user i belongs to channel i % channels (and the owner to all). */
export async function seed(target: Target, opts: { users: number; channels: number }): Promise<Seeded> {
  const users: SeededUser[] = new Array(opts.users);
  const stamp = `${process.pid}-${Date.now()}`;
  // The Center emulator answers one user per call: 16 at a time.
  for (let i = 0; i < opts.users; i += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, opts.users - i) }, async (_, j) => {
        users[i + j] = await call<SeededUser>(target.centerUrl, 'POST', '/api/dev/users', null, { name: `bench-${stamp}-${i + j}` }, { 'x-api-key': target.centerKey });
      }),
    );
  }
  const owner = users[0];
  const { guild } = await call<{ guild: { id: string } }>(target.url, 'POST', '/api/guilds', owner.token, { name: 'bench' });
  // api.md takes at most 100 ids per call.
  for (let i = 1; i < users.length; i += 100) {
    await call(target.url, 'POST', `/api/guilds/${guild.id}/members`, owner.token, { userIds: users.slice(i, i + 100).map((u) => u.id) });
  }
  const channels: Seeded['channels'] = [];
  for (let c = 0; c < opts.channels; c++) {
    const members = users.map((_, i) => i).filter((i) => i % opts.channels === c);
    const { channel } = await call<{ channel: { id: string } }>(target.url, 'POST', '/api/channels', owner.token, {
      guildId: guild.id,
      name: `bench-${c}`,
      xType: 'general',
      // api.md takes at most 100 member ids at creation and per call.
      memberUserIds: members.slice(0, 100).map((i) => users[i].id),
    });
    for (let i = 100; i < members.length; i += 100) {
      await call(target.url, 'POST', `/api/channels/${channel.id}/members`, owner.token, { userIds: members.slice(i, i + 100).map((m) => users[m].id) });
    }
    channels.push({ id: channel.id, members: members.length > 0 ? members : [0] });
  }
  return { guildId: guild.id, users, channels };
}

/** The user of a channel's k-th subscriber (its members, round robin). */
export const subscriberUser = (seeded: Seeded, channel: Seeded['channels'][number], k: number) => seeded.users[channel.members[k % channel.members.length]];
