/**
 * lib/config.ts: every variable of overview.md, parsed once; a missing required one or an
 * invalid value is refused with a message naming the variable. (Startup as a process is in
 * startup.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, LIMITS, loadConfig, shownValue } from '../lib/config.js';

const P = 'FABRIC_BACKEND_GUILD_';
const base = {
  [`${P}CENTER_BASE_URL`]: 'http://127.0.0.1:7100',
  [`${P}CENTER_API_KEY`]: 'key',
  [`${P}NODE_ID`]: 'node-1',
};

describe('loadConfig', () => {
  it('applies the defaults of overview.md', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      port: 7002,
      publicUrl: 'http://localhost:7002',
      db: { type: 'sqlite', file: './data/guild.sqlite' },
      dbSync: true,
      fileDir: './data/files',
      fileMaxBytes: 104857600,
      fileTtlDays: 7,
      fileSweepCron: '17 * * * *',
      corsOrigins: [],
      editWindowSeconds: 900,
      canvasMaxBytes: 1048576,
      realtimePort: 7012,
      realtimeInternalHost: '127.0.0.1',
      realtimeInternalPort: 7013,
      logLevel: 'info',
      postRatePerSecond: 5,
      postBurst: 60,
      editRatePerSecond: 10,
      editBurst: 100,
      socketEventsPer10s: 1000,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('DB_SYNC: true by default for servers, false for a handler bundle, and what the environment says in both', () => {
    expect(loadConfig(base).dbSync).toBe(true);
    expect(loadConfig(base, { dbSync: false }).dbSync).toBe(false);
    expect(loadConfig({ ...base, [`${P}DB_SYNC`]: 'true' }, { dbSync: false }).dbSync).toBe(true);
    expect(loadConfig({ ...base, [`${P}DB_SYNC`]: 'false' }).dbSync).toBe(false);
  });

  it('chooses mysql when DB_HOST is set, with its defaults', () => {
    expect(loadConfig({ ...base, [`${P}DB_HOST`]: 'db' }).db).toEqual({
      type: 'mysql',
      host: 'db',
      port: 3306,
      user: 'root',
      password: '',
      database: 'fabric_guild',
      pool: 10,
    });
  });

  it.each(['CENTER_BASE_URL', 'CENTER_API_KEY', 'NODE_ID'])('refuses a missing or empty %s, naming it', (name) => {
    const without = { ...base, [`${P}${name}`]: undefined };
    expect(() => loadConfig(without)).toThrow(ConfigError);
    expect(() => loadConfig(without)).toThrow(`${P}${name}`);
    expect(() => loadConfig({ ...base, [`${P}${name}`]: '  ' })).toThrow(`${P}${name}`);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DB_TYPE', 'postgres'],
    ['DB_SYNC', 'maybe'],
    ['FILE_MAX_BYTES', '-1'],
    ['FILE_SWEEP_CRON', '61 * * * *'],
    ['FILE_SWEEP_CRON', 'every hour'],
    ['PUBLIC_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['REDIS_URL', 'http://x'],
    ['CANVAS_MAX_BYTES', String(16 * 1024 * 1024)],
    ['POST_RATE_PER_SECOND', '-1'],
    ['POST_BURST', '0'],
    ['POST_BURST', '2.5'],
    ['EDIT_RATE_PER_SECOND', '-1'],
    ['EDIT_BURST', '0'],
    ['SOCKET_EVENTS_PER_10S', '-5'],
  ])('refuses an invalid %s (%s), naming it', (name, value) => {
    expect(() => loadConfig({ ...base, [`${P}${name}`]: value })).toThrow(`${P}${name}`);
  });

  // An entry that is not an origin as a browser sends it would never match: browsers would be refused in silence.
  it.each([['https://app.example/'], ['https://app.example/ui'], ['*'], ['app.example'], ['HTTPS://App.Example'], ['https://app.example:443'], ['https://a.example,*']])(
    'refuses CORS_ORIGINS=%s, naming it',
    (value) => {
      expect(() => loadConfig({ ...base, [`${P}CORS_ORIGINS`]: value })).toThrow(`${P}CORS_ORIGINS is invalid`);
    },
  );

  it('takes CORS_ORIGINS as a comma list of origins (null included)', () => {
    expect(loadConfig({ ...base, [`${P}CORS_ORIGINS`]: ' https://a.example, http://localhost:5173 ,null,' }).corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:5173',
      'null',
    ]);
  });

  it('takes 0 to turn the post, edit and socket limits off, and fractional post rates', () => {
    const c = loadConfig({ ...base, [`${P}POST_RATE_PER_SECOND`]: '0', [`${P}EDIT_RATE_PER_SECOND`]: '0', [`${P}SOCKET_EVENTS_PER_10S`]: '0' });
    expect([c.postRatePerSecond, c.editRatePerSecond, c.socketEventsPer10s]).toEqual([0, 0, 0]);
    expect(loadConfig({ ...base, [`${P}POST_RATE_PER_SECOND`]: '0.5' }).postRatePerSecond).toBe(0.5);
  });

  it('requires INTERNAL_SECRET in split mode (REALTIME_INTERNAL_URL set)', () => {
    expect(() => loadConfig({ ...base, [`${P}REALTIME_INTERNAL_URL`]: 'http://127.0.0.1:7013' })).toThrow(`${P}INTERNAL_SECRET`);
  });

  it('keeps 24 h and 10000 events of every stream by default, accepts one rule turned off, refuses both off', () => {
    expect(loadConfig(base)).toMatchObject({ eventRetentionHours: 24, eventRetentionEvents: 10000 });
    expect(loadConfig({ ...base, [`${P}EVENT_RETENTION_HOURS`]: '0' })).toMatchObject({ eventRetentionHours: 0, eventRetentionEvents: 10000 });
    expect(loadConfig({ ...base, [`${P}EVENT_RETENTION_EVENTS`]: '0' })).toMatchObject({ eventRetentionHours: 24, eventRetentionEvents: 0 });
    expect(() => loadConfig({ ...base, [`${P}EVENT_RETENTION_HOURS`]: '0', [`${P}EVENT_RETENTION_EVENTS`]: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, [`${P}EVENT_RETENTION_EVENTS`]: '-1' })).toThrow(`${P}EVENT_RETENTION_EVENTS`);
    expect(() => loadConfig({ ...base, [`${P}EVENT_TRIM_CRON`]: 'often' })).toThrow(`${P}EVENT_TRIM_CRON`);
  });

  it('accepts REALTIME_INTERNAL_URL=none (no realtime) without INTERNAL_SECRET', () => {
    expect(loadConfig({ ...base, [`${P}REALTIME_INTERNAL_URL`]: 'none' }).realtimeInternalUrl).toBe('none');
  });

  describe('URL variables fetched over HTTP', () => {
    const withSecret = { ...base, [`${P}INTERNAL_SECRET`]: 's' };
    it.each([
      ['CENTER_BASE_URL', 'center:8080'],
      ['CENTER_BASE_URL', 'center.example.com:443'],
      ['CENTER_BASE_URL', 'ftp://center'],
      ['CENTER_BASE_URL', 'http://user:pw@center'],
      ['CENTER_BASE_URL', 'http://center/?x=1'],
      ['CENTER_BASE_URL', 'not a url'],
      ['REALTIME_INTERNAL_URL', 'realtime:7013'],
      ['REALTIME_INTERNAL_URL', 'file:///tmp/sock'],
      ['REALTIME_INTERNAL_URL', 'http://:secret@realtime:7013'],
      ['PUBLIC_URL', 'guild.example.com:7002'],
      ['PUBLIC_URL', 'ws://guild.example.com'],
      ['PUBLIC_URL', 'https://guild.example.com/#x'],
    ])('refuse %s=%s at startup, naming it', (name, value) => {
      expect(() => loadConfig({ ...withSecret, [`${P}${name}`]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ ...withSecret, [`${P}${name}`]: value })).toThrow(`${P}${name} is invalid`);
    });

    it('accept http and https URLs with a host (a path too), trailing slashes removed', () => {
      const c = loadConfig({
        ...withSecret,
        [`${P}CENTER_BASE_URL`]: 'https://center.example.com:8443/base/',
        [`${P}REALTIME_INTERNAL_URL`]: 'http://realtime:7013',
        [`${P}PUBLIC_URL`]: 'http://[::1]:7002/',
      });
      expect([c.centerBaseUrl, c.realtimeInternalUrl, c.publicUrl]).toEqual(['https://center.example.com:8443/base', 'http://realtime:7013', 'http://[::1]:7002']);
    });

    it('REDIS_URL keeps its own rule: redis:// or rediss://', () => {
      expect(loadConfig({ ...base, [`${P}REDIS_URL`]: 'rediss://:pw@redis:6380' }).redisUrl).toBe('rediss://:pw@redis:6380');
      expect(loadConfig({ ...base, [`${P}REDIS_URL`]: 'redis://user:p%40ss@redis:6379/2' }).redisUrl).toBe('redis://user:p%40ss@redis:6379/2');
      expect(() => loadConfig({ ...base, [`${P}REDIS_URL`]: 'redis//redis:6379' })).toThrow(`${P}REDIS_URL`);
    });

    // Values the Redis client refuses only when a realtime process connects, in a message that does not name the variable.
    it.each([['redis://:Hunter2-pw@redis:notaport'], ['redis://:Hunter2-pw@redis:6379/cache'], ['redis://:Hunter2%zz@redis:6379'], ['redis://:Hunter2-pw@[::1']])(
      'REDIS_URL=%s is refused at startup, naming it, without the password',
      (value) => {
        expect(() => loadConfig({ ...base, [`${P}REDIS_URL`]: value })).toThrow(`${P}REDIS_URL is invalid`);
        expect(() => loadConfig({ ...base, [`${P}REDIS_URL`]: value })).not.toThrow('Hunter2');
      },
    );
  });

  describe('messages never echo a secret', () => {
    const messageOf = (env: Record<string, string | undefined>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };

    it.each([
      ['REDIS_URL', 'redis//:Hunter2-pw@redis:6379', undefined],
      ['REDIS_URL', 'http://:Hunter2-pw@redis:6379', 'http://redis:6379'],
      ['CENTER_BASE_URL', 'https://admin:Hunter2-pw@center.example.com/api', 'https://center.example.com'],
      ['CENTER_BASE_URL', 'center:Hunter2-pw@host', undefined],
      ['REALTIME_INTERNAL_URL', 'ftp://u:Hunter2-pw@realtime', 'ftp://realtime'],
      ['PUBLIC_URL', 'https://guild.example.com/?token=Hunter2-pw', 'https://guild.example.com'],
    ])('%s=%s: the message names the variable and the rule, at most scheme and host', (name, value, shown) => {
      const message = messageOf({ ...base, [`${P}INTERNAL_SECRET`]: 's', [`${P}${name}`]: value });
      expect(message).toContain(`${P}${name} is invalid: `);
      expect(message).not.toContain('Hunter2');
      if (shown) expect(message).toContain(`(got "${shown}")`);
      else expect(message).not.toContain('got');
    });

    it('shows nothing of *_SECRET, *_KEY, *_PASSWORD and token values, and ordinary values as they are', () => {
      for (const name of ['INTERNAL_SECRET', 'CENTER_API_KEY', 'DB_PASSWORD', 'SOME_TOKEN', 'DB_USER']) expect(shownValue(name, 'Hunter2')).toBeUndefined();
      expect(shownValue('PORT', 'seven')).toBe('seven');
      expect(messageOf({ ...base, [`${P}PORT`]: 'seven' })).toContain('(got "seven")');
    });
  });

  describe('bounds of numeric settings', () => {
    it.each([
      ['TOKEN_CACHE_SECONDS', '0.0001'],
      ['TOKEN_CACHE_SECONDS', '0.4'],
      ['HEARTBEAT_SECONDS', '0.001'],
      ['FILE_TTL_DAYS', '1e9'],
      ['FILE_TTL_DAYS', String(LIMITS.fileTtlDays + 1)],
      ['EVENT_RETENTION_HOURS', '1e300'],
      ['EVENT_RETENTION_HOURS', String(LIMITS.eventRetentionHours + 1)],
      ['EVENT_RETENTION_EVENTS', String(LIMITS.eventRetentionEvents + 1)],
      ['EDIT_WINDOW_SECONDS', String(LIMITS.editWindowSeconds + 1)],
      ['EMIT_TIMEOUT_MS', '3000000000'],
      ['EMIT_TIMEOUT_MS', String(LIMITS.emitTimeoutMs + 1)],
    ])('refuse %s=%s, naming it', (name, value) => {
      expect(() => loadConfig({ ...base, [`${P}${name}`]: value })).toThrow(`${P}${name} is invalid`);
    });

    it('accept the bounds themselves', () => {
      const c = loadConfig({
        ...base,
        [`${P}FILE_TTL_DAYS`]: String(LIMITS.fileTtlDays),
        [`${P}EVENT_RETENTION_HOURS`]: String(LIMITS.eventRetentionHours),
        [`${P}EVENT_RETENTION_EVENTS`]: String(LIMITS.eventRetentionEvents),
        [`${P}EDIT_WINDOW_SECONDS`]: String(LIMITS.editWindowSeconds),
        [`${P}EMIT_TIMEOUT_MS`]: String(LIMITS.emitTimeoutMs),
        [`${P}TOKEN_CACHE_SECONDS`]: '0.5',
        [`${P}HEARTBEAT_SECONDS`]: '0.1',
      });
      expect([c.tokenCacheSeconds, c.heartbeatSeconds]).toEqual([0.5, 0.1]);
      expect(c.fileTtlDays).toBe(LIMITS.fileTtlDays);
      expect(c.emitTimeoutMs).toBe(LIMITS.emitTimeoutMs);
    });

    it('the largest FILE_TTL_DAYS keeps expires_at a valid date, within BIGINT, for centuries', () => {
      const expiresAt = Date.parse('2200-01-01T00:00:00Z') + LIMITS.fileTtlDays * 86_400_000;
      expect(() => new Date(expiresAt).toISOString()).not.toThrow();
      expect(Number.isSafeInteger(expiresAt)).toBe(true);
      // Past the emit timeout bound, Node's timers fire at once (2^31-1 ms).
      expect(LIMITS.emitTimeoutMs).toBeLessThan(2 ** 31 - 1);
    });
  });
});
