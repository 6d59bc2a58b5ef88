/**
 * The contract a client or plugin author needs is in the repository (docs/): the realtime
 * events and acks match the typed event map, every REST route is in the REST contract (and
 * in the OpenAPI document, test/openapi.test.ts), the README and docs link only to files
 * that exist here, and the README's configuration tables say what lib/config.ts does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { routes } from '../handlers/routes.js';
import { ConfigError, loadConfig } from '../lib/config.js';

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

describe('the README configuration tables', () => {
  const P = 'FABRIC_BACKEND_GUILD_';
  const section = fs
    .readFileSync('README.md', 'utf8')
    .split(/^## Configuration$/m)[1]
    .split(/^## /m)[0];
  /** Every row: the variable without its prefix → its default cell (required ones: none) and its meaning. */
  const rows = new Map(
    [...section.matchAll(/^\| `FABRIC_BACKEND_GUILD_(\w+)` \|(.*)\|\s*$/gm)].map((m) => {
      const cells = m[2].split(' | ').map((c) => c.trim());
      return [m[1], cells.length === 1 ? { meaning: cells[0] } : { default: cells[0], meaning: cells.slice(1).join(' | ') }];
    }),
  );
  const REQUIRED = { CENTER_BASE_URL: 'http://center.test', CENTER_API_KEY: 'key', NODE_ID: 'node' };
  /** Both database shapes, so that every variable of either is read. */
  const bases = [{}, { DB_TYPE: 'mysql' }].map((extra) => Object.fromEntries(Object.entries({ ...REQUIRED, ...extra }).map(([k, v]) => [P + k, v])));
  const mysqlBase = bases[1];
  const accepts = (name: string, value: string, base = mysqlBase) => {
    try {
      loadConfig({ ...base, [P + name]: value });
      return true;
    } catch (err) {
      if (err instanceof ConfigError) return false;
      throw err;
    }
  };
  /** A variable whose values are numbers: small integers pass, a word and a 2 (a flag's values are 0 and 1) are told apart. */
  const isNumeric = (name: string) => accepts(name, '1') && accepts(name, '2') && !accepts(name, 'many');

  it('list every variable lib/config.ts reads, and no other', () => {
    const read = new Set<string>();
    for (const base of bases) {
      const env = new Proxy(base, { get: (target, key: string) => (read.add(key), target[key]) });
      loadConfig(env);
    }
    const names = [...read].filter((k) => k.startsWith(P)).map((k) => k.slice(P.length));
    expect(names.length).toBeGreaterThan(30);
    expect([...rows.keys()].sort()).toEqual(names.sort());
  });

  it('give each default that is one literal value as the value the node uses when the variable is unset', () => {
    let checked = 0;
    for (const [name, row] of rows) {
      const literal = row.default && /^`([^`]+)`(?: \(.*\))?$/.exec(row.default)?.[1];
      if (!literal || literal.includes('PORT')) continue; // `http://localhost:PORT` names another variable
      for (const base of bases) expect(loadConfig({ ...base, [P + name]: literal }), name).toEqual(loadConfig(base));
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(25);
  });

  it('state the bounds of every numeric variable, and the bounds they state are the ones enforced', () => {
    const num = (s: string) => Number(s.replaceAll(',', ''));
    let numeric = 0;
    for (const [name, { meaning }] of rows) {
      if (!isNumeric(name)) continue;
      numeric++;
      const range = /(\d[\d,.]*)(?: to |–)(\d[\d,.]*)/.exec(meaning);
      const lo = range ? num(range[1]) : /at least (\d[\d,.]*)/.exec(meaning)?.[1];
      const hi = range ? num(range[2]) : /at most (\d[\d,.]*)/.exec(meaning)?.[1];
      const above = /above (\d[\d,.]*)/.exec(meaning)?.[1];
      // A bound must be written wherever the node has one beyond "not negative".
      if (!accepts(name, '1e15')) expect(hi, `${name}: its upper bound`).toBeDefined();
      if (!accepts(name, '0')) expect(lo ?? above, `${name}: its lower bound`).toBeDefined();
      if (hi !== undefined) {
        expect(accepts(name, String(num(String(hi)))), `${name} = ${hi}`).toBe(true);
        expect(accepts(name, String(num(String(hi)) + 1)), `${name} above ${hi}`).toBe(false);
      }
      if (lo !== undefined) {
        const low = num(String(lo));
        expect(accepts(name, String(low)), `${name} = ${lo}`).toBe(true);
        expect(accepts(name, String(low >= 1 ? low - 1 : low > 0 ? low / 2 : -1)), `${name} below ${lo}`).toBe(false);
      }
      if (above !== undefined) {
        expect(accepts(name, above), `${name} = ${above}`).toBe(false);
        expect(accepts(name, String(num(above) + 0.5)), `${name} above ${above}`).toBe(true);
      }
      if (/fractions allowed/.test(meaning)) expect(accepts(name, '1.5'), `${name} = 1.5`).toBe(true);
      if (/\bwhole\b/.test(meaning)) expect(accepts(name, '1.5'), `${name} = 1.5`).toBe(false);
    }
    expect(numeric).toBeGreaterThan(15);
  });
});
