// A real headless Chromium (Debian's `chromium` package, installed by
// scripts/install-chromium.sh from scripts/prepare.sh when missing), driven by
// playwright-core: no browser download, a fresh profile per run.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]
/** Ignored by git; CI keeps it as an artifact. */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/ui/', import.meta.url))

export interface Browser {
  context: BrowserContext
  page: Page
  /** every URL the page requested, in order */
  requests: string[]
  /** console errors and uncaught page errors */
  errors: string[]
  close(): Promise<void>
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run "bash scripts/install-chromium.sh" (npm test does it when missing)`)
  }
  const profile = mkdtempSync(join(tmpdir(), 'vg-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
    timeout: 30000
  })
  const requests: string[] = []
  const errors: string[] = []
  context.on('request', request => {
    requests.push(request.url())
  })
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('console', message => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', error => {
    errors.push(`uncaught: ${error.message}`)
  })
  return {
    context,
    page,
    requests,
    errors,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

/** A PNG of the page (whole, or the viewport) under test-artifacts/ui/ (or `dir`); returns its path. */
export async function screenshot(page: Page, name: string, dir = ARTIFACTS, fullPage = true): Promise<string> {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`)
  await page.screenshot({ path, fullPage })
  return path
}
