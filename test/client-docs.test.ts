/**
 * The client SDK as the docs show it: the README's five lines and every `ts` example of
 * docs/realtime-client.md (each one complete, imports included) type-check against the SDK
 * of this tree, and the complete agent of
 * docs/realtime-client.md, run as written (its imports pointed at this tree), is woken on a
 * real node, reads the context and replies with its clientMsgId.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../lib/realtime/events.js';
import { rooms } from '../lib/realtime/rooms.js';
import { createChannel, REPO_ROOT, seedGuild, spawnNode, startTestNode, type ChildRun, type TestNode } from './helpers/harness.js';
import { list, post } from './helpers/messages.js';
import { WAIT } from './helpers/sdk.js';

/** Where the package's exports point inside this tree (the sources `npm run build` bundles). */
const EXPORTS: Record<string, string> = {
  'fabric-guild-node/client': path.join(REPO_ROOT, 'lib/client/index.ts'),
  'fabric-guild-node/events': path.join(REPO_ROOT, 'lib/realtime/events.ts'),
};

/** The `ts` code blocks of a Markdown file, each with the heading it stands under. */
function tsBlocks(file: string): { heading: string; code: string }[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const out: { heading: string; code: string }[] = [];
  let heading = '';
  for (const part of text.split(/^```/m).map((p, i) => ({ p, code: i % 2 === 1 }))) {
    if (!part.code) {
      const headings = part.p.match(/^#+ .*$/gm);
      if (headings) heading = headings.at(-1)!;
      continue;
    }
    if (part.p.startsWith('ts\n')) out.push({ heading, code: part.p.slice(3) });
  }
  return out;
}

const readmeAgent = () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const at = text.indexOf('An agent with the client SDK, in five lines');
  expect(at).toBeGreaterThan(0);
  return text
    .slice(at)
    .split(/^```ts\n/m)[1]
    .split(/^```/m)[0];
};

// Inside the tree (artifacts/, ignored by git), so that the examples resolve the packages they
// import (socket.io-client); not under node_modules, which tsx does not compile.
fs.mkdirSync(path.join(REPO_ROOT, 'artifacts'), { recursive: true });
const dir = fs.mkdtempSync(path.join(REPO_ROOT, 'artifacts/docs-examples-'));
/** Writes an example as an ES module file (`.mts`: top-level await) and returns its path. */
function writeExample(name: string, code: string, opts: { pointImports?: boolean } = {}) {
  let source = code;
  if (opts.pointImports) for (const [spec, file] of Object.entries(EXPORTS)) source = source.replaceAll(`'${spec}'`, `'${file}'`);
  const file = path.join(dir, `${name}.mts`);
  fs.writeFileSync(file, source);
  return file;
}

/** The type errors of the given files, compiled with the project's options and the package's exports mapped to this tree. */
function typeErrors(files: string[]): string[] {
  const configFile = path.join(REPO_ROOT, 'tsconfig.json');
  const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
  config.compilerOptions.paths = Object.fromEntries(Object.entries(EXPORTS).map(([spec, file]) => [spec, [file]]));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, REPO_ROOT, undefined, configFile);
  const program = ts.createProgram(files, parsed.options);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file === undefined || files.includes(path.resolve(d.file.fileName)))
    .map((d) => `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

let t: TestNode;
let agentRun: ChildRun | undefined;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  await agentRun?.stop();
  await t?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the SDK examples of the README and docs/realtime-client.md', () => {
  it('shows the SDK in the README in five lines', () => {
    expect(readmeAgent().trimEnd().split('\n')).toHaveLength(5);
  });

  it('type-check against the SDK (strict, the project’s compiler options)', () => {
    const blocks = tsBlocks('docs/realtime-client.md');
    expect(blocks.map((b) => b.heading)).toContain('## A complete agent');
    const files = [writeExample('readme', readmeAgent()), ...blocks.map((b, i) => writeExample(`docs-${i}`, `${b.code}\nexport {};\n`))];
    expect(typeErrors(files)).toEqual([]);
  }, 60_000);
});

describe('the complete agent of docs/realtime-client.md on a real node', () => {
  it('is woken by a message, reads the context and replies once, with the clientMsgId derived from what woke it', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'docs', xType: 'general', memberUserIds: [agent.id] });
    const example = tsBlocks('docs/realtime-client.md').find((b) => b.heading === '## A complete agent')!;
    const file = writeExample('agent', example.code, { pointImports: true });
    agentRun = spawnNode(file, { FABRIC_NODE_URL: t.url, FABRIC_TOKEN: agent.token, FABRIC_USER_ID: agent.id }, { tsx: true });
    // Subscribed once its socket is in the channel's rooms on the node.
    const subscribed = async () => (await t.node.realtime.nsp.in(rooms.channelUser(ch.id, agent.id)).fetchSockets()).length;
    await expect.poll(subscribed, WAIT).toBe(1);

    const hello = await post(t, owner.token, ch.id, 'How is the migration going?');
    const replies = async () => (await list(t, owner.token, ch.id)).messages.filter((m) => m.authorId === agent.id) as Message[];
    await expect.poll(replies, WAIT).toHaveLength(1);
    expect((await replies())[0], agentRun.stderr()).toMatchObject({
      content: 'You said: How is the migration going? (woken by general)',
      clientMsgId: `reply-${hello.id}`,
      replyToId: null,
    });
    expect(agentRun.stderr()).toBe('');
  });
});
