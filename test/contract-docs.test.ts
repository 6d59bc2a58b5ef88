/**
 * The contract a client or plugin author needs is in the repository (docs/): the realtime
 * events and acks match the typed event map, every REST route is in the REST contract (and
 * in the OpenAPI document, test/openapi.test.ts), and the README and docs link only to files
 * that exist here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { routes } from '../handlers/routes.js';

const EVENT_MAP_FILES = ['lib/realtime/events.ts', 'realtime/events.ts'];
const eventMapSource = fs.readFileSync(
  EVENT_MAP_FILES.find((f) => fs.existsSync(f))!,
  'utf8',
);
const realtimeDoc = fs.readFileSync('docs/contract/realtime.md', 'utf8');
const agentRoomsDoc = fs.readFileSync('docs/contract/agent-rooms.md', 'utf8');

/** The members of one interface of the event map: name → its signature text. */
function eventsOf(iface: string): Map<string, string> {
  const body = new RegExp(`export interface ${iface} \\{([\\s\\S]*?)\\n\\}`).exec(eventMapSource)?.[1];
  if (!body) throw new Error(`no ${iface} in the event map`);
  return new Map([...body.matchAll(/^\s+'?([\w.]+)'?: (\(.*\) => void);/gm)].map((m) => [m[1], m[2]]));
}

/** The table rows of docs/contract/realtime.md's section `heading`: first cell (the event name) → the row. */
function documentedRows(heading: string): Map<string, string> {
  const section = realtimeDoc.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`no "## ${heading}" in docs/contract/realtime.md`);
  return new Map([...section.matchAll(/^\| `([\w.]+)` \|(.*)$/gm)].map((m) => [m[1], m[2]]));
}

describe('the realtime contract in docs/', () => {
  it('documents every server → client event of the typed event map', () => {
    const documented = documentedRows('Server → client');
    const events = eventsOf('ServerToClientEvents');
    expect(events.size).toBeGreaterThan(8);
    // session.ended is described in prose (a socket is closed only after it), channel.loop_guard in agent-rooms.md.
    const inProse = (name: string) => realtimeDoc.includes(`\`${name} {`) || agentRoomsDoc.includes(`\`${name} {`);
    for (const name of events.keys()) expect(documented.has(name) || inProse(name), name).toBe(true);
  });

  it('documents every client → server event, with an ack exactly where the map takes one', () => {
    const documented = documentedRows('Client → server');
    for (const [name, signature] of eventsOf('ClientToServerEvents')) {
      const row = documented.get(name);
      expect(row, name).toBeDefined();
      const ackCell = row!.split('|')[1].trim();
      if (signature.includes('ack')) expect(ackCell, name).toMatch(/ok: true/);
      else expect(ackCell, name).toMatch(/^none\b/);
    }
  });
});

describe('the REST contract in docs/', () => {
  it('describes every route of handlers/routes.ts', () => {
    const api = fs
      .readdirSync('docs/contract')
      .map((f) => fs.readFileSync(path.join('docs/contract', f), 'utf8'))
      .join('\n');
    const described = new Set([...api.matchAll(/`(GET|POST|PUT|PATCH|DELETE|HEAD) (\/api[^`?…\s]*)/g)].map((m) => `${m[1]} ${m[2]}`));
    const reference = new Set(['/api/openapi.json', '/api/docs', '/api/docs/:asset']);
    const ops = fs.readFileSync('docs/operations.md', 'utf8') + fs.readFileSync('README.md', 'utf8');
    for (const h of routes) {
      const key = `${h.route.method} ${h.route.path}`;
      if (reference.has(h.route.path)) expect(ops, key).toContain(h.route.path.replace('/:asset', ''));
      else if (h.route.method === 'HEAD') expect(described, key).toContain(`GET ${h.route.path}`);
      else expect(described, key).toContain(key);
    }
  });
});

describe('README and docs', () => {
  const files = [
    'README.md',
    ...fs
      .readdirSync('docs', { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => path.join('docs', f)),
  ];

  it('point nowhere outside the repository', () => {
    for (const file of files) expect(fs.readFileSync(file, 'utf8'), file).not.toMatch(/\.\.\/shared/);
  });

  it('link only to files that exist', () => {
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/.test(target)) continue; // a URL
        expect(fs.existsSync(path.join(path.dirname(file), target)), `${file} → ${target}`).toBe(true);
      }
    }
  });
});
