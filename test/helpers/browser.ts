// A real browser for the console tests: Debian's Chromium driven by playwright-core, headless,
// with everything that would reach the network on its own switched off. Screenshots go to
// test-artifacts/ (gitignored) for reviewers to look at.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser profile (its own cookies) with JavaScript on or off. */
export async function newContext(browser: Browser, opts: { javaScript?: boolean } = {}): Promise<BrowserContext> {
  return browser.newContext({ javaScriptEnabled: opts.javaScript ?? true, viewport: { width: 1366, height: 900 }, acceptDownloads: true, locale: 'en-GB', timezoneId: 'Europe/London' });
}

/** Every request a page (and its frames) makes, from the moment this is called. */
export function recordRequests(page: Page): { urls: string[]; requests: Request[] } {
  const rec = { urls: [] as string[], requests: [] as Request[] };
  page.on('request', (r) => {
    rec.requests.push(r);
    rec.urls.push(r.url());
  });
  return rec;
}

export async function signIn(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/sign-in`);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
