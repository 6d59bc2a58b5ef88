/**
 * docker-compose.yml and deploy/k8s/*.yaml (Docker is not run here): every FABRIC_* variable
 * they set is one lib/config.ts reads, and the node accepts the values; every probe they point
 * at the API port is a route of handlers/routes.ts that answers 200 over HTTP; the realtime
 * probes use the realtime port's health paths; every API and realtime process (each runs the
 * file sweep) has FILE_DIR on a volume.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { routes } from '../handlers/routes.js';
import { loadConfig } from '../lib/config.js';
import { startTestNode, type TestNode } from './helpers/harness.js';

const API_PORT = 7002;
const REALTIME_PORT = 7012;
/** The health paths of a realtime process's public port (README "Deployment"). */
const REALTIME_PROBE_PATHS = ['/health', '/ready'];

const FILES = [
  'docker-compose.yml',
  ...fs
    .readdirSync('deploy/k8s')
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => path.join('deploy/k8s', f)),
];
const documents = FILES.flatMap((file) =>
  parseAllDocuments(fs.readFileSync(file, 'utf8'), { merge: true }).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    return { file, doc: d.toJS({ maxAliasCount: -1 }) as any };
  }),
);

/** The FABRIC_BACKEND_GUILD_* names lib/config.ts reads. */
function namesConfigReads(): Set<string> {
  const source = fs.readFileSync('lib/config.ts', 'utf8');
  const names = [...source.matchAll(/(?:read|required)\(\s*env,\s*'([A-Z_]+)'|env\[P \+ '([A-Z_]+)'\]/g)].map((m) => `FABRIC_BACKEND_GUILD_${m[1] ?? m[2]}`);
  return new Set(names);
}

/** Every environment a process gets: per compose service, per k8s container (with its ConfigMap and Secret). */
function environments(): { where: string; env: Record<string, string> }[] {
  const out: { where: string; env: Record<string, string> }[] = [];
  const shared: Record<string, string> = {};
  for (const { doc } of documents) {
    if (doc?.kind === 'ConfigMap') Object.assign(shared, doc.data);
    if (doc?.kind === 'Secret') Object.assign(shared, doc.stringData);
  }
  for (const { file, doc } of documents) {
    if (doc?.services) {
      for (const [name, service] of Object.entries<any>(doc.services)) out.push({ where: `${file} ${name}`, env: { ...service.environment } });
    }
    const spec = doc?.spec?.template?.spec;
    for (const c of spec?.containers ?? []) {
      const env: Record<string, string> = {};
      if ((c.envFrom ?? []).length) Object.assign(env, shared);
      for (const e of c.env ?? []) env[e.name] = e.value ?? '(from a secret)';
      out.push({ where: `${file} ${doc.metadata.name}/${c.name}`, env });
    }
  }
  return out;
}

/** Every HTTP probe: compose health checks (a fetch of 127.0.0.1) and k8s httpGet probes. */
function probes(): { where: string; port: number; path: string }[] {
  const out: { where: string; port: number; path: string }[] = [];
  for (const { file, doc } of documents) {
    for (const [name, service] of Object.entries<any>(doc?.services ?? {})) {
      const test = (service.healthcheck?.test ?? []).join(' ');
      for (const m of test.matchAll(/http:\/\/127\.0\.0\.1:(\d+)(\/[^'"]*)/g)) out.push({ where: `${file} ${name}`, port: Number(m[1]), path: m[2] });
    }
    for (const c of doc?.spec?.template?.spec?.containers ?? []) {
      const ports = new Map<string, number>((c.ports ?? []).map((p: any) => [p.name, p.containerPort]));
      for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const get = c[kind]?.httpGet;
        if (get) out.push({ where: `${file} ${doc.metadata.name} ${kind}`, port: typeof get.port === 'number' ? get.port : ports.get(get.port)!, path: get.path });
      }
    }
  }
  return out;
}

describe('deployment files', () => {
  it('set only variables lib/config.ts reads, with values it accepts', () => {
    const known = namesConfigReads();
    expect(known.size).toBeGreaterThan(25);
    const envs = environments().filter((e) => Object.keys(e.env).some((k) => k.startsWith('FABRIC_')));
    expect(envs.length).toBeGreaterThanOrEqual(8); // compose: migrate, 2 API, 2 realtime; k8s: migrate, API, realtime
    for (const { where, env } of envs) {
      for (const name of Object.keys(env).filter((k) => k.startsWith('FABRIC_'))) expect(known.has(name), `${where}: ${name}`).toBe(true);
      if (!where.includes('migrate')) expect(() => loadConfig(env), where).not.toThrow();
    }
  });

  it('run the shape of the split deployment', () => {
    const compose = documents.find((d) => d.file === 'docker-compose.yml')!.doc;
    const services = compose.services as Record<string, { command?: string[] }>;
    const running = (script: string) => Object.values(services).filter((s) => s.command?.join(' ').includes(script)).length;
    expect(running('dist/api.js')).toBe(2);
    expect(running('dist/realtime.js')).toBe(2);
    expect(running('dist/migrate.js')).toBe(1);
    expect(running('dist/dev-center.js')).toBe(1);
    for (const name of ['mariadb', 'redis', 'proxy']) expect(services[name], name).toBeDefined();
    const nginx = fs.readFileSync('deploy/nginx/nginx.conf', 'utf8');
    expect(nginx).toMatch(/location \/api\/ \{\s*proxy_pass http:\/\/api;/);
    expect(nginx).toMatch(/location \/socket\.io\/ \{\s*proxy_pass http:\/\/realtime;/);
    expect(nginx).toMatch(/upstream realtime \{\s*ip_hash;/);
    const kinds = documents.map((d) => d.doc?.kind);
    for (const kind of ['Deployment', 'Service', 'Ingress', 'Job', 'ConfigMap', 'Secret']) expect(kinds, kind).toContain(kind);
    const ingress = documents.map((d) => d.doc).filter((d) => d?.kind === 'Ingress');
    const socketIngress = ingress.find((i) => i.spec.rules[0].http.paths[0].path === '/socket.io');
    expect(socketIngress.metadata.annotations['nginx.ingress.kubernetes.io/affinity']).toBe('cookie');
  });

  it('give every long-lived node process the volume behind FILE_DIR (each runs the file sweep)', () => {
    const fileDirs = new Map(environments().map((e) => [e.where, e.env.FABRIC_BACKEND_GUILD_FILE_DIR]));
    const processes: { where: string; command: string; mounts: string[] }[] = [];
    for (const { file, doc } of documents) {
      for (const [name, service] of Object.entries<any>(doc?.services ?? {})) {
        processes.push({ where: `${file} ${name}`, command: (service.command ?? []).join(' '), mounts: (service.volumes ?? []).map((v: string) => v.split(':')[1]) });
      }
      for (const c of doc?.spec?.template?.spec?.containers ?? []) {
        processes.push({ where: `${file} ${doc.metadata.name}/${c.name}`, command: (c.command ?? []).join(' '), mounts: (c.volumeMounts ?? []).map((m: any) => m.mountPath) });
      }
    }
    const nodes = processes.filter((p) => /dist\/(main|api|realtime)\.js/.test(p.command));
    expect(nodes.length).toBeGreaterThanOrEqual(6); // compose: 2 API, 2 realtime; k8s: API, realtime
    for (const { where, mounts } of nodes) {
      const dir = fileDirs.get(where);
      expect(dir, where).toBeDefined();
      expect(
        mounts.some((m) => dir === m || dir!.startsWith(`${m}/`)),
        `${where}: ${dir} on a volume`,
      ).toBe(true);
    }
  });

  describe('probes', () => {
    let t: TestNode;
    beforeAll(async () => {
      t = await startTestNode();
    });
    afterAll(async () => t?.close());

    it('point at the API port only at routes of handlers/routes.ts that answer 200, and at the realtime health paths', async () => {
      const all = probes();
      expect(all.filter((p) => p.port === API_PORT).length).toBeGreaterThanOrEqual(3);
      expect(all.filter((p) => p.port === REALTIME_PORT).length).toBeGreaterThanOrEqual(3);
      for (const p of all) {
        if (p.port === API_PORT) {
          expect(
            routes.some((h) => h.route.method === 'GET' && h.route.path === p.path && h.route.auth === false),
            `${p.where}: ${p.path}`,
          ).toBe(true);
          expect((await t.api('GET', p.path)).status, `${p.where}: ${p.path}`).toBe(200);
        } else {
          expect(p.port, p.where).toBe(REALTIME_PORT);
          expect(REALTIME_PROBE_PATHS, `${p.where}: ${p.path}`).toContain(p.path);
        }
      }
    });
  });
});
