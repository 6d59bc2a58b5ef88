/**
 * GET /api/docs in a real browser: Debian's Chromium, headless, driven by playwright-core
 * (.ci/run installs Chromium when /usr/bin/chromium is missing). The page renders the
 * reference from the node alone (the browser is kept off every other host), lists every route
 * of handlers/routes.ts, and is saved as a screenshot whose path the test prints (a CI artifact).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../handlers/routes.js';
import { openApiPath } from '../lib/openapi.js';
import { REPO_ROOT, startTestNode, type TestNode } from './helpers/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(REPO_ROOT, 'artifacts', 'docs-page.png');

let t: TestNode;
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  t = await startTestNode();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

describe('the API reference page', () => {
  it('renders every route from the node alone, and is saved as a screenshot', async () => {
    const page = await browser.newPage();
    const origin = new URL(t.url).origin;
    const elsewhere: string[] = [];
    // The page must need nothing but the node: any other host is refused and remembered.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin) || url.startsWith('data:')) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const res = await page.goto(`${t.url}/api/docs`);
    expect(res?.status()).toBe(200);
    await page.waitForSelector('.opblock', { timeout: 30_000 });
    const listed = await page.$$eval('.opblock', (blocks) =>
      blocks.map((b) => `${b.querySelector('.opblock-summary-method')?.textContent?.trim()} ${b.querySelector('[data-path]')?.getAttribute('data-path')}`),
    );
    for (const h of routes) expect(listed, `${h.route.method} ${h.route.path}`).toContain(`${h.route.method} ${openApiPath(h.route.path)}`);
    expect(await page.textContent('.info .title')).toContain('Fabric guild node REST API');
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    console.log(`docs page screenshot: ${SCREENSHOT}`);
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(elsewhere).toEqual([]);
    expect(errors).toEqual([]);
  });
});
