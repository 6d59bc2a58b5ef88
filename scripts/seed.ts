/**
 * `npm run seed` — seeds a demo guild on a running node, through its REST API, with
 * identities from the Center emulator (its development endpoints; a real Center does not
 * have them): an owner, two agent users, and one channel of each xType. Prints the tokens
 * and ready-to-paste curl, socket.io and client SDK examples. `npm run dev` calls `seedDemo`
 * itself. Calls to the node go through the client SDK's REST side (lib/client), as any
 * client of the node would.
 *
 * Every run creates a new demo guild with new users (the emulator keeps its state in
 * memory, so identities from an earlier run are gone once it restarts). User names that
 * are taken in this emulator get a numeric suffix.
 */
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FabricApiError, FabricRest } from '../lib/client/index.js';
import type { Channel, Guild } from '../lib/realtime/events.js';

export interface DemoUser {
  id: string;
  name: string;
  token: string;
}

export interface DemoSeed {
  owner: DemoUser;
  agents: [DemoUser, DemoUser];
  guild: { id: string; name: string };
  channels: { id: string; name: string; xType: string }[];
}

export interface SeedOptions {
  /** Base URL of the node, e.g. http://localhost:7002. */
  nodeUrl: string;
  /** Base URL of the Center emulator, e.g. http://127.0.0.1:7100. */
  centerUrl: string;
  /** The emulator's x-api-key. */
  apiKey: string;
  guildName?: string;
}

/** Calls to the Center emulator's development endpoints (not the node's API). */
async function call(url: string, init: { method: string; headers: Record<string, string>; body?: unknown }): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: init.method,
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // keep the text
  }
  return { status: res.status, body };
}

function expectStatus(what: string, res: { status: number; body: unknown }, ...ok: number[]) {
  if (!ok.includes(res.status)) throw new Error(`${what} failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Creates a user on the Center emulator, adding -2, -3 … to the name while it is taken. */
async function createUser(opts: SeedOptions, name: string, displayName: string): Promise<DemoUser> {
  for (let n = 1; n <= 1000; n++) {
    const candidate = n === 1 ? name : `${name}-${n}`;
    const res = await call(`${opts.centerUrl}/api/dev/users`, {
      method: 'POST',
      headers: { 'x-api-key': opts.apiKey },
      body: { name: candidate, displayName },
    });
    if (res.status === 409) continue;
    expectStatus(`creating user ${candidate} on the Center emulator`, res, 200);
    return res.body as DemoUser;
  }
  throw new Error(`no free user name for ${name}`);
}

/** One call to the node as `rest`'s user; a refusal says what was being done. */
async function nodeCall<T>(what: string, rest: FabricRest, method: string, path: string, body: unknown): Promise<T> {
  try {
    return (await rest.request<T>(method, path, body)).body;
  } catch (err) {
    if (err instanceof FabricApiError) throw new Error(`${what} failed: ${err.status} ${err.code}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Seeds the demo guild over HTTP: users on the emulator, guild and channels through the node's REST API. */
export async function seedDemo(opts: SeedOptions): Promise<DemoSeed> {
  const owner = await createUser(opts, 'demo-owner', 'Demo Owner');
  const agents: [DemoUser, DemoUser] = [await createUser(opts, 'demo-agent-1', 'Agent One'), await createUser(opts, 'demo-agent-2', 'Agent Two')];
  const asOwner = new FabricRest({ url: opts.nodeUrl, token: owner.token });

  const { guild } = await nodeCall<{ guild: Guild }>('creating the demo guild', asOwner, 'POST', '/api/guilds', {
    name: opts.guildName ?? 'Demo guild',
    description: 'Seeded by npm run dev / npm run seed',
  });
  await nodeCall('adding the agents to the guild', asOwner, 'POST', `/api/guilds/${guild.id}/members`, { userIds: agents.map((a) => a.id) });

  const both = agents.map((a) => a.id);
  const specs: Record<string, unknown>[] = [
    { name: 'general', xType: 'general', isPublic: true, topic: 'Everyone is woken by every message', memberUserIds: both },
    { name: 'work', xType: 'work', topic: 'Agents take turns (turn engine)', memberUserIds: both },
    { name: 'report', xType: 'report', topic: 'Nobody is woken', memberUserIds: both },
    { name: 'discuss', xType: 'discuss', topic: 'Agents take turns (turn engine)', memberUserIds: both },
    { name: 'triage', xType: 'triage', topic: `${agents[0].name} is on duty`, memberUserIds: both, wakeUserIds: [agents[0].id] },
    { name: 'custom', xType: 'custom', topic: `${agents[1].name} listens`, memberUserIds: both, wakeUserIds: [agents[1].id] },
  ];
  const channels: DemoSeed['channels'] = [];
  for (const spec of specs) {
    const { channel } = await nodeCall<{ channel: Channel }>(`creating channel ${String(spec.name)}`, asOwner, 'POST', '/api/channels', {
      guildId: guild.id,
      ...spec,
    });
    channels.push({ id: channel.id, name: channel.name, xType: channel.xType });
  }
  return { owner, agents, guild: { id: guild.id, name: guild.name }, channels };
}

/** What a newcomer needs to start talking to the seeded node: tokens and examples to paste. */
export function describeDemo(seed: DemoSeed, nodeUrl: string): string {
  const general = seed.channels.find((c) => c.xType === 'general')!;
  const [a1, a2] = seed.agents;
  const pad = (s: string) => s.padEnd(14);
  return [
    `Demo guild "${seed.guild.name}" (${seed.guild.id})`,
    '',
    'Users (tokens are valid while this Center emulator runs):',
    `  ${pad(seed.owner.name)} id ${seed.owner.id}  token ${seed.owner.token}   (guild owner)`,
    `  ${pad(a1.name)} id ${a1.id}  token ${a1.token}`,
    `  ${pad(a2.name)} id ${a2.id}  token ${a2.token}`,
    '',
    'Channels:',
    ...seed.channels.map((c) => `  #${c.name.padEnd(8)} ${c.xType.padEnd(8)} ${c.id}`),
    '',
    'List the channels as the owner:',
    `  curl -s '${nodeUrl}/api/channels?guildId=${seed.guild.id}' -H 'authorization: Bearer ${seed.owner.token}'`,
    '',
    `Post in #${general.name} as the owner, mentioning ${a1.name}:`,
    `  curl -s -X POST '${nodeUrl}/api/channels/${general.id}/messages' -H 'authorization: Bearer ${seed.owner.token}' \\`,
    `       -H 'content-type: application/json' -d '{"content":"Hello <@${a1.id}>"}'`,
    '',
    `Listen as ${a1.name} (socket.io, run from this folder):`,
    `  node --input-type=module -e "`,
    `    import { io } from 'socket.io-client';`,
    `    const s = io('${nodeUrl}/realtime', { auth: { token: '${a1.token}' } });`,
    `    s.on('connect', () => s.emit('join_channel', { channelId: '${general.id}' }, (ack) => console.log('join_channel', ack)));`,
    `    s.on('channel.joined', (m) => s.emit('join_channel', { channelId: m.channelId }));`,
    `    s.onAny((event, data) => console.log(event, JSON.stringify(data)));`,
    `    s.on('connect_error', (e) => { console.error(e.message); process.exit(1); });"`,
    '',
    `Or run ${a1.name} as an agent with the client SDK (docs/realtime-client.md), from this folder:`,
    `  npx tsx --input-type=module -e "`,
    `    import { FabricClient } from './lib/client/index.ts';`,
    `    const c = new FabricClient({ url: '${nodeUrl}', token: '${a1.token}', userId: '${a1.id}' });`,
    `    c.onMessage(async (m, { wakeup }) => { if (wakeup) await c.post(m.channelId, 'Heard you, <@' + m.authorId + '>'); });`,
    `    await c.connect(); console.log('listening');"`,
  ].join('\n');
}

const HELP = `Usage: npm run seed -- [--node-url URL] [--center-url URL] [--api-key KEY] [--guild-name NAME]

Seeds a demo guild on a running node, using the Center emulator's development endpoints
(npm run center:dev) for identities: an owner, two agent users (demo-agent-1, demo-agent-2)
and one channel of each xType. Prints the tokens and curl / socket.io examples.
Each run creates a new guild with new users. npm run dev does all of this for you.

  --node-url    the node (default http://localhost:7002)
  --center-url  the Center emulator (default http://127.0.0.1:7100)
  --api-key     the emulator's API key (default dev-center-key)
  --guild-name  name of the demo guild (default "Demo guild")`;

async function main() {
  const { values } = parseArgs({
    options: {
      'node-url': { type: 'string', default: 'http://localhost:7002' },
      'center-url': { type: 'string', default: 'http://127.0.0.1:7100' },
      'api-key': { type: 'string', default: 'dev-center-key' },
      'guild-name': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const nodeUrl = values['node-url'].replace(/\/+$/, '');
  const seed = await seedDemo({ nodeUrl, centerUrl: values['center-url'].replace(/\/+$/, ''), apiKey: values['api-key'], guildName: values['guild-name'] });
  console.log(describeDemo(seed, nodeUrl));
}

// Run only as the entry script (not when bundled into, or imported by, another script).
const self = fileURLToPath(import.meta.url);
if (process.argv[1] && resolvePath(process.argv[1]) === self && /[\\/]seed\.[jt]s$/.test(self)) {
  main().catch((err: unknown) => {
    console.error(`seed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
