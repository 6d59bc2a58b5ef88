/**
 * `npm run dev` (scripts/dev.ts) as a newcomer runs it: one process with the Center
 * emulator, the node on SQLite and a seeded demo guild; the printed tokens work; Ctrl-C
 * (SIGINT) stops everything cleanly. Always SQLite, whatever FABRIC_TEST_DB says.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../lib/db/index.js';
import { apiClient, connectSocket, emitAck, spawnNode, waitFor, type ChildRun } from './helpers/harness.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-dev-'));
const dbFile = path.join(dir, 'guild.sqlite');
const children: ChildRun[] = [];
afterAll(async () => {
  await Promise.all(children.map((c) => c.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

function startDev() {
  const child = spawnNode(
    'scripts/dev.ts',
    { FABRIC_BACKEND_GUILD_DB_FILE: dbFile, FABRIC_BACKEND_GUILD_FILE_DIR: path.join(dir, 'files') },
    {
      args: ['--port', '0', '--center-port', '0'],
    },
  );
  children.push(child);
  return child;
}

/** Reads what dev printed: node URL, users with tokens, channels. */
async function banner(child: ChildRun) {
  const out = await waitFor('the dev banner', async () => (child.stdout().includes('Press Ctrl-C to stop.') ? child.stdout() : undefined), 60_000);
  const nodeUrl = /Node:\s+(http:\/\/\S+)/.exec(out)![1];
  const users = [...out.matchAll(/^ {2}(demo-\S+)\s+id (\S+)\s+token (\S+)/gm)].map((m) => ({ name: m[1], id: m[2], token: m[3] }));
  const channels = [...out.matchAll(/^ {2}#(\S+)\s+(\S+)\s+(\S+)$/gm)].map((m) => ({ name: m[1], xType: m[2], id: m[3] }));
  const guildId = /^Demo guild "[^"]*" \((\S+)\)$/m.exec(out)![1];
  return { out, nodeUrl, users, channels, guildId };
}

describe('npm run dev', () => {
  it('starts the emulator and the node, seeds a demo guild whose printed tokens work, and stops on Ctrl-C', async () => {
    const child = startDev();
    const { out, nodeUrl, users, channels, guildId } = await banner(child);
    expect(users.map((u) => u.name)).toEqual(['demo-owner', 'demo-agent-1', 'demo-agent-2']);
    expect(channels.map((c) => c.xType).sort()).toEqual(['custom', 'discuss', 'general', 'report', 'triage', 'work']);
    expect(out).toContain('curl ');
    const docsUrl = /API reference:\s+(\S+)/.exec(out)?.[1];
    expect(docsUrl).toMatch(/\/api\/docs$/);
    expect((await fetch(docsUrl!.replace('localhost', '127.0.0.1'))).status).toBe(200);
    expect(out).toContain("from 'socket.io-client'");

    const api = apiClient(nodeUrl);
    const [owner, agent] = users;
    const listed = await api('GET', `/api/channels?guildId=${guildId}`, { token: owner.token });
    expect(listed.status).toBe(200);
    expect(listed.body.channels.map((c: { id: string }) => c.id).sort()).toEqual(channels.map((c) => c.id).sort());
    const triage = channels.find((c) => c.xType === 'triage')!;
    expect((await api('GET', `/api/channels/${triage.id}/wake-mapping`, { token: agent.token })).body).toEqual({ userIds: [agent.id] });

    const socket = await connectSocket(nodeUrl, agent.token);
    expect(await emitAck(socket, 'join_channel', { channelId: channels[0].id })).toEqual({ ok: true, pos: expect.any(Number) });
    socket.close();

    child.proc.kill('SIGINT');
    expect(await child.exited).toBe(0);
  });

  it('seeds a new demo guild on each start; the earlier one stays in the SQLite file', async () => {
    const child = startDev();
    const { nodeUrl, users, guildId } = await banner(child);
    const guilds = await apiClient(nodeUrl)('GET', '/api/guilds', { token: users[0].token });
    expect(guilds.body.guilds.map((g: { id: string }) => g.id)).toEqual([guildId]);
    child.proc.kill('SIGINT');
    expect(await child.exited).toBe(0);

    const database = await openDatabase({ type: 'sqlite', file: dbFile });
    try {
      const stored = await database.db.selectFrom('guilds').select('id').where('name', '=', 'Demo guild').execute();
      expect(stored).toHaveLength(2);
      expect(stored.map((g) => g.id)).toContain(guildId);
    } finally {
      await database.destroy();
    }
  });
});
