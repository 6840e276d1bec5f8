// The admin console (/admin/ui/) end to end: a real headless Chromium against a real
// gateway process on MariaDB 11.8 and the Qdrant emulator. One browser and one gateway
// serve every step, in the order of the README's runbook: sign in, check, switch and
// roll back, pin a user, archive refused, migrate (pause, resume, a failing user,
// retry), archive allowed, Qdrant down. A step that fails leaves a screenshot in
// test-artifacts/ui/ (CI keeps it). UI_SCREENSHOTS=<dir> also saves each view at
// 1280 and 390 px, light and dark, to look at, and the README's pictures (*-readme.png).
import t from 'tap'
import type { Page } from 'playwright-core'
import { runChild } from '../helpers/child-process.ts'
import { callGateway, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { startQdrantEmulator } from '@vector-gateway/qdrant-emulator'
import { ADMIN_KEY, DATA_KEY, KEYS_ENV, storesEnv } from '../helpers/app.ts'
import { dataset, upsertOfUser } from '../helpers/migration.ts'
import { launchBrowser, screenshot, type Browser } from './browser.ts'

const USERS = [1, 2, 3, 4, 5, 6]
const PER_USER = 500 // 2 files of 250 chunks: 3,000 chunks in all
const TOTAL = USERS.length * PER_USER
const FAILING = 4
const ACTOR = 'Ada Operator'

const db = await createTestDatabase(t)
const qdrant = await startQdrantEmulator()
t.teardown(async () => {
  await qdrant.close()
})
const storageEnv = { ...storesEnv(db, qdrant, 'vgui'), QDRANT_TIMEOUT_MS: '1000' }
const gw: GatewayProcess = await startGatewayProcess({ ...KEYS_ENV, ...storageEnv }, t)
const UI = `${gw.url}/admin/ui/`

const api = async (method: string, path: string, body?: unknown, key = ADMIN_KEY): ReturnType<typeof callGateway> =>
  await callGateway(gw, method, path, body, key)

const chunks = dataset({ users: USERS, files: 2, perFile: PER_USER / 2, seed: 5 })
for (let i = 0; i < chunks.length; i += 1000) {
  const res = await api('POST', '/chunks', { chunks: chunks.slice(i, i + 1000) }, DATA_KEY)
  if (res.status !== 200) throw new Error(`seeding failed: ${res.status} ${JSON.stringify(res.json)}`)
}

const browser: Browser = await launchBrowser()
t.teardown(async () => {
  await browser.close()
})
const page: Page = browser.page

// ---------------------------------------------------------------- helpers

type Step = Parameters<Extract<Parameters<typeof t.test>[0], (...args: any[]) => any>>[0]
function step(name: string, fn: (t: Step) => Promise<void>): void {
  t.test(name, async t => {
    try {
      await fn(t)
    } catch (err) {
      t.comment(`screenshot: ${await screenshot(page, name)}`)
      throw err
    }
    if (!t.passing()) t.comment(`screenshot: ${await screenshot(page, name)}`)
  })
}

/** Waits until `selector`'s text matches `pattern` (the page polls the gateway every 1.5 s). */
async function waitText(selector: string, pattern: RegExp, timeout = 15000): Promise<string> {
  await page.waitForFunction(
    ([sel, source, flags]) => {
      const el = document.querySelector(sel)
      return el !== null && new RegExp(source, flags).test(el.textContent ?? '')
    },
    [selector, pattern.source, pattern.flags] as const,
    { timeout }
  )
  return await text(selector)
}
const text = async (selector: string): Promise<string> =>
  ((await page.locator(selector).first().textContent()) ?? '').trim()
const figure = async (name: string): Promise<number> =>
  Number((await text(`[data-test="fig-${name}"]`)).replace(/,/g, ''))
const chunkFigures = async (): Promise<[number, number]> => {
  const [done, total] = (await text('[data-test="fig-chunks"]')).split('/').map(s => Number(s.replace(/[^0-9]/g, '')))
  return [done, total]
}
const tab = async (name: 'status' | 'migration' | 'archive'): Promise<void> => {
  await page.click(`#tab-${name}`)
  await page.waitForSelector(`#panel-${name}`)
}

const SHOTS = process.env.UI_SCREENSHOTS
async function views(name: string): Promise<void> {
  if (SHOTS === undefined) return
  for (const width of [1280, 390]) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width, height: 900 })
      await page.emulateMedia({ colorScheme: scheme })
      await screenshot(page, `${name}-${width}-${scheme}`, SHOTS)
    }
  }
  await page.setViewportSize({ width: 1100, height: 720 })
  await page.emulateMedia({ colorScheme: 'light' })
  await screenshot(page, `${name}-readme`, SHOTS, false) // the README's pictures (docs/)
  await page.setViewportSize({ width: 1280, height: 900 })
}

// ---------------------------------------------------------------- steps

step('the page is public, cached and under a strict CSP; the API stays admin-only', async t => {
  const index = await fetch(UI)
  t.equal(index.status, 200, 'GET /admin/ui/ needs no key')
  const csp = index.headers.get('content-security-policy') ?? ''
  t.match(csp, /default-src 'none'/, 'CSP present')
  t.match(csp, /script-src 'self'(;|$)/, 'scripts from this origin only, none inline')
  t.match(csp, /style-src 'self'(;|$)/, 'styles from this origin only, none inline')
  t.notMatch(csp, /unsafe-|https?:|\*/, 'no unsafe-inline/eval, no other origin')
  t.equal(index.headers.get('cache-control'), 'no-cache', 'index.html is revalidated')
  const html = await index.text()
  t.notMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/i, 'no inline script in the HTML')
  t.notMatch(html, /\sstyle=|<style/i, 'no inline style in the HTML')
  const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(m => m[1])
  t.ok(assets.length >= 2, `assets: ${assets.join(', ')}`)
  for (const asset of assets) {
    t.ok(asset.startsWith('/admin/ui/assets/'), `${asset} is served by the gateway`)
    const res = await fetch(`${gw.url}${asset}`)
    t.equal(res.status, 200, `${asset} needs no key`)
    t.equal(
      res.headers.get('cache-control'),
      'public, max-age=31536000, immutable',
      `${asset} is cached for good (content-hashed name)`
    )
    t.ok(res.headers.get('content-security-policy'), `${asset} carries the CSP`)
  }
  const redirect = await fetch(`${gw.url}/admin/ui`, { redirect: 'manual' })
  t.equal(redirect.status, 301)
  t.equal(redirect.headers.get('location'), '/admin/ui/')
  t.equal((await fetch(`${gw.url}/admin/vector-storage/status`)).status, 401, 'the admin API still needs a key')
  t.equal((await api('GET', '/admin/vector-storage/status', undefined, DATA_KEY)).status, 403, 'and the admin key')
})

step(
  'sign in: a wrong key and the data key are refused with a clear message; the admin key (keyboard only) signs in',
  async t => {
    await page.goto(UI)
    await page.fill('#actor', ACTOR)
    await page.fill('#admin-key', 'not-a-key')
    await page.click('button[type="submit"]')
    t.match(await waitText('[data-test="signin-error"]', /Wrong key/), /the gateway does not know this key/)
    t.equal(await page.locator('[role="tablist"]').count(), 0, 'nothing else is shown')

    await page.fill('#admin-key', DATA_KEY)
    await page.click('button[type="submit"]')
    t.match(await waitText('[data-test="signin-error"]', /data API key/), /cannot use the admin console/)
    t.equal(await page.locator('[role="tablist"]').count(), 0, 'nothing else is shown')
    t.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused key is not kept')

    await page.focus('#actor')
    await page.keyboard.press('Tab')
    t.equal(await page.evaluate(() => document.activeElement?.id), 'admin-key', 'Tab moves from the name to the key')
    await page.keyboard.type(ADMIN_KEY)
    await page.keyboard.press('Enter')
    await page.waitForSelector('[role="tablist"]')
    t.equal(await text('[data-test="actor"]'), ACTOR, 'signed in, with the name shown')
  }
)

step(
  'status view: active provider and its source, read mode, both providers with version, chunks and index',
  async t => {
    t.equal(await waitText('[data-test="active-provider"]', /MariaDB/), 'MariaDB')
    t.match(await text('[data-test="summary"]'), /built-in default/, 'where the provider comes from')
    t.equal(await text('[data-test="read-mode"]'), 'merged')
    t.equal(await text('[data-test="pinned-count"]'), '0')
    t.equal(await waitText('[data-test="health-mariadb"]', /up/), 'up')
    t.equal(await waitText('[data-test="health-qdrant"]', /up/), 'up')
    t.equal(await text('[data-test="chunks-mariadb"]'), TOTAL.toLocaleString('en-US'))
    t.equal(await text('[data-test="chunks-qdrant"]'), '0')
    const mariadb = await text('[data-test="provider-mariadb"]')
    t.match(mariadb, /11\.8/, 'MariaDB version')
    t.match(mariadb, /none \(exact search\)/, 'vector index state')
    t.match(await text('[data-test="provider-qdrant"]'), /1\.19\.0/, 'Qdrant version')
    await views('status')
  }
)

step('switch to Qdrant and back, with a confirmation; the change log names the actor', async t => {
  await page.click('[data-test="switch-qdrant"]')
  const confirm = page.locator('[role="alertdialog"]')
  const said = (await confirm.textContent()) ?? ''
  t.match(said, /New writes .* go to Qdrant/, 'says where new writes go')
  t.match(said, /Reads stay merged/, 'says reads stay merged')
  t.match(said, /Nothing is moved/, 'says nothing is moved')
  t.equal(
    await page.evaluate(() => document.activeElement?.getAttribute('role')),
    'alertdialog',
    'focus moves to the question'
  )
  await confirm.getByRole('button', { name: /Yes, switch to Qdrant/ }).click()
  await waitText('[data-test="switch-message"]', /Switched from MariaDB to Qdrant/)
  await waitText('[data-test="active-provider"]', /Qdrant/)
  t.equal((await api('GET', '/admin/vector-storage/status')).json.current_provider, 'qdrant', 'the gateway switched')

  await page.click('[data-test="switch-mariadb"]')
  await page
    .locator('[role="alertdialog"]')
    .getByRole('button', { name: /Yes, switch to MariaDB/ })
    .click()
  await waitText('[data-test="active-provider"]', /MariaDB/)
  const log = await waitText('[data-test="changes"] tbody tr:first-child', /qdrant → mariadb/)
  t.match(log, ACTOR, 'newest first, with the actor')
  t.match(await text('[data-test="changes"] tbody tr:nth-child(2)'), new RegExp(`${ACTOR}.*provider mariadb → qdrant`))
  const changes = (await api('GET', '/admin/vector-storage/changes?limit=2')).json.changes
  t.same(
    changes.map((c: { changed_by: string }) => c.changed_by),
    [ACTOR, ACTOR],
    'X-Actor reached the audit log'
  )
})

step('pin a user, change the pin', async t => {
  await page.fill('#pin-user', String(FAILING))
  await page.selectOption('#pin-provider', 'qdrant')
  await page.click('[data-test="pin-set"]')
  t.match(await waitText('[data-test="pin-message"]', /Pinned/), `user ${FAILING} uses Qdrant (pinned)`)
  await waitText('[data-test="pinned-count"]', /^1$/)
  await page.selectOption('#pin-provider', 'mariadb')
  await page.click('[data-test="pin-set"]')
  t.match(await waitText('[data-test="pin-message"]', /MariaDB/), `user ${FAILING} uses MariaDB (pinned)`)
  await waitText(
    '[data-test="changes"] tbody tr:first-child',
    new RegExp(`user ${FAILING} pinned to mariadb \\(was qdrant\\)`)
  )
  t.same((await api('GET', `/admin/vector-storage/users/${FAILING}/provider`)).json, {
    user_id: FAILING,
    provider: 'mariadb',
    source: 'user'
  })
})

step("archive is refused with the server's reasons, after a typed confirmation", async t => {
  await tab('archive')
  await page.click('[data-test="archive"]')
  const confirm = page.locator('[role="alertdialog"]')
  const button = confirm.getByRole('button', { name: 'Archive now' })
  t.ok(await button.isDisabled(), 'disabled until the table name is typed')
  await page.fill('[data-test="archive-confirm"]', 'brag')
  t.ok(await button.isDisabled(), 'a wrong name keeps it disabled')
  await page.fill('[data-test="archive-confirm"]', 'BRAG')
  await button.click()
  const refused = await waitText('[data-test="archive-refused"]', /refused/)
  t.match(refused, /the active provider is mariadb: switch to qdrant first/)
  t.match(refused, new RegExp(`1 user\\(s\\) are pinned to mariadb \\(${FAILING}\\)`))
  t.match(refused, /no mariadb -> qdrant migration has completed/)
  t.equal(await page.locator('[data-test="archive-refused"] li').count(), 3, 'one line per reason')
  t.equal((await api('GET', '/admin/vector-storage/status')).json.providers.mariadb.chunks, TOTAL, 'nothing archived')
})

step('migration: start, watch the figures move, pause, resume, a failing user, retry to completion', async t => {
  // user FAILING's copies fail (its error shows on the page); the others are slowed so
  // the run lasts long enough to be paused half-way
  qdrant.faults.fail(500, { message: 'disk quota exceeded (injected)', match: upsertOfUser(FAILING) })
  qdrant.faults.slow(250, { match: req => req.method === 'PUT' && /\/points$/.test(req.path) })

  await tab('migration')
  await page.selectOption('#m-from', 'mariadb')
  t.equal(await page.inputValue('#m-to'), 'Qdrant')
  await page.fill('#m-batch', '100')
  await page.click('[data-test="start"]')
  await page.locator('[role="alertdialog"]').getByRole('button', { name: 'Yes, start' }).click()
  await waitText('[data-test="start-message"]', /started/)
  await waitText('[data-test="migration-status"]', /running/)
  const started = (await api('GET', '/admin/vector-storage/migrations')).json.migrations[0]
  t.equal(started.created_by, ACTOR, 'started with X-Actor')
  t.equal(started.batch_size, 100)

  // figures move while it runs
  await page.waitForFunction(
    () => {
      const m = /([\d,]+) \/ ([\d,]+)/.exec(document.querySelector('[data-test="fig-chunks"]')?.textContent ?? '')
      return m !== null && Number(m[1].replace(/,/g, '')) > 0
    },
    undefined,
    { timeout: 30000 }
  )
  t.equal(await figure('total'), USERS.length, 'total users')
  const [moving, total] = await chunkFigures()
  t.equal(total, TOTAL, 'total chunks')
  t.ok(moving > 0 && moving < TOTAL, `chunks migrated while running: ${moving} of ${total}`)
  await views('migration')

  await page.click('[data-test="pause"]')
  await waitText('[data-test="migration-status"]', /paused/)
  await waitText('[data-test="action-message"]', /is now paused/)
  const id = started.id as number
  // paused: the page's figures settle on the server's numbers
  const server = (await api('GET', `/admin/vector-storage/migrations/${id}`)).json
  t.equal(server.status, 'paused')
  await page.waitForFunction(
    n => (document.querySelector('[data-test="fig-chunks"]')?.textContent ?? '').startsWith(n),
    server.migrated_chunks.toLocaleString('en-US'),
    { timeout: 10000 }
  )
  const [paused] = await chunkFigures()
  t.ok(paused > 0 && paused < TOTAL, `paused half-way at ${paused}`)
  t.ok(await page.locator('[data-test="resume"]').isVisible(), 'resume offered')
  t.equal(await page.locator('[data-test="pause"]').count(), 0, 'pause no longer offered')

  await page.click('[data-test="resume"]')
  await waitText('[data-test="migration-status"]', /running|failed/)
  await waitText('[data-test="migration-status"]', /failed/, 90000)
  t.equal(await figure('failed'), 1, 'one user failed')
  t.equal(await figure('migrated'), USERS.length - 1, 'the others migrated')
  t.equal(await figure('pending'), 0)
  t.match(await text('[data-test="migration-error"]'), /1 user\(s\) failed/)
  t.equal(
    await page.locator('[data-test="action-message"]').count(),
    0,
    'the resume message ("now running") is gone once the migration has failed'
  )

  await page.selectOption('[data-test="user-filter"]', 'failed')
  const rows = page.locator('[data-test="migration-users"] tbody tr')
  await page.waitForFunction(
    () =>
      document.querySelectorAll('[data-test="migration-users"] tbody tr.u-failed').length === 1 &&
      document.querySelectorAll('[data-test="migration-users"] tbody tr').length === 1,
    undefined,
    { timeout: 10000 }
  )
  const row = (await rows.first().textContent()) ?? ''
  t.match(row, new RegExp(`^${FAILING}failed`), 'the failed user, filtered by status')
  t.match(row, /disk quota exceeded \(injected\)/, 'with its error')
  await views('migration-failed')

  await qdrant.faults.reset()
  await page.click('[data-test="retry"]')
  await waitText('[data-test="migration-status"]', /completed/, 60000)
  t.equal(await figure('failed'), 0)
  t.equal(await figure('migrated'), USERS.length)
  t.same(await chunkFigures(), [TOTAL, TOTAL], 'every chunk copied')
  t.equal(await page.locator('progress').getAttribute('value'), '100', 'progress bar full')
  await page.selectOption('[data-test="user-filter"]', 'completed')
  await page.waitForFunction(
    n => document.querySelectorAll('[data-test="migration-users"] tbody tr.u-completed').length === n,
    USERS.length,
    { timeout: 10000 }
  )
  t.equal(
    (await api('GET', '/admin/vector-storage/status')).json.providers.qdrant.chunks,
    TOTAL,
    'Qdrant holds every chunk'
  )
})

step('archive is allowed once Qdrant is active, the pin removed and the migration verified', async t => {
  await tab('status')
  await page.click('[data-test="switch-qdrant"]')
  await page
    .locator('[role="alertdialog"]')
    .getByRole('button', { name: /Yes, switch/ })
    .click()
  await waitText('[data-test="active-provider"]', /Qdrant/)
  await page.fill('#pin-user', String(FAILING))
  await page.click('[data-test="pin-remove"]')
  t.match(
    await waitText('[data-test="pin-message"]', /removed/),
    `user ${FAILING} uses Qdrant (from the global setting)`
  )
  await waitText('[data-test="pinned-count"]', /^0$/)

  await tab('archive')
  await page.click('[data-test="archive"]')
  await page.fill('[data-test="archive-confirm"]', 'BRAG')
  await page.keyboard.press('Enter')
  const done = await waitText('[data-test="archive-done"]', /Archived/)
  t.match(done, new RegExp(`Archived ${TOTAL.toLocaleString('en-US')} chunks into BRAG_archived_\\d{8}`))
  const status = (await api('GET', '/admin/vector-storage/status')).json
  t.equal(status.providers.mariadb.chunks, 0, 'BRAG is empty')
  t.equal(status.providers.qdrant.chunks, TOTAL)
})

step("Qdrant taken down shows as down within seconds; a switch to it is refused with the server's message", async t => {
  await tab('status')
  await qdrant.faults.down()
  try {
    t.equal(await waitText('[data-test="health-qdrant"]', /down/, 8000), 'down', 'shown down')
    await page.click('[data-test="switch-mariadb"]')
    await page
      .locator('[role="alertdialog"]')
      .getByRole('button', { name: /Yes, switch/ })
      .click()
    await waitText('[data-test="active-provider"]', /MariaDB/)
    await page.click('[data-test="switch-qdrant"]')
    await page
      .locator('[role="alertdialog"]')
      .getByRole('button', { name: /Yes, switch/ })
      .click()
    const refused = await waitText('[data-test="switch-message"]', /Not switched/)
    t.match(refused, /qdrant/i, 'names the provider')
    t.match(refused, /unreachable|not reachable|down/i, 'says why (the 409 message)')
    t.equal(await text('[data-test="active-provider"]'), 'MariaDB', 'still MariaDB')
  } finally {
    await qdrant.faults.up()
  }
  t.equal(await waitText('[data-test="health-qdrant"]', /up/, 8000), 'up', 'back up')
})

step('a migration started from the CLI shows up on the page', async t => {
  await tab('migration')
  await waitText('[data-test="migration"] h3', /Migration 1:/)
  const migrate = ['migrate', '--from', 'qdrant', '--to', 'mariadb', '--users', '1', '--no-progress', '--json']
  const { code, output } = await runChild(process.execPath, ['bin/vector-gateway.js', ...migrate], { env: storageEnv })
  t.equal(code, 0, `the CLI migrated user 1 back to MariaDB${code === 0 ? '' : `: ${output}`}`)
  t.match(
    await waitText('[data-test="migration"] h3', /Migration 2:/),
    'Migration 2: Qdrant → MariaDB',
    'the page follows the newest migration'
  )
  t.equal(await waitText('[data-test="migration-status"]', /completed/), 'completed')
  t.same(await chunkFigures(), [PER_USER, PER_USER])
})

step('usable at 390 px and in dark mode, by keyboard; every control is labelled', async t => {
  await page.focus('#tab-status')
  await page.keyboard.press('ArrowRight')
  t.equal(await page.evaluate(() => document.activeElement?.id), 'tab-migration', 'arrow keys move between the tabs')
  t.ok(await page.locator('#panel-migration').isVisible(), 'and show their panel')
  await tab('archive')
  await page.click('[data-test="archive"]')
  await page.keyboard.press('Escape')
  t.equal(await page.locator('[role="alertdialog"]').count(), 0, 'Escape closes a confirmation')

  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 })
    for (const name of ['status', 'migration', 'archive'] as const) {
      await tab(name)
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth
      )
      t.equal(overflow, 0, `${name} at ${width} px: no horizontal scrolling of the page`)
    }
    await tab('migration')
    const users = page.locator('[data-test="migration-users"]')
    const hidden = await users.evaluate(table => {
      const region = table.parentElement!
      return region.scrollWidth - region.clientWidth
    })
    t.equal(hidden, 0, `migration users at ${width} px: every column visible without scrolling sideways`)
    if (width === 390) {
      const labels = await users
        .locator('tbody tr')
        .first()
        .evaluate(row =>
          [...row.querySelectorAll('td')].map(td => getComputedStyle(td, '::before').content).filter(c => c !== 'none')
        )
      t.same(
        labels,
        ['"User"', '"Status"', '"Chunks"', '"Source / target"', '"Attempts"'],
        'on a phone each user is a block whose values are labelled (an empty error is left out)'
      )
    }
  }
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, button, [tabindex="0"]')]
      .filter(el => {
        const labels = (el as HTMLInputElement).labels
        const named =
          (labels !== undefined && labels !== null && labels.length > 0) ||
          el.getAttribute('aria-label') !== null ||
          (el.tagName === 'BUTTON' && (el.textContent ?? '').trim() !== '')
        return !named
      })
      .map(el => el.outerHTML.slice(0, 80))
  )
  t.same(unlabelled, [], 'every control has a label')
  const bg = async (): Promise<string> => await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
  await page.emulateMedia({ colorScheme: 'light' })
  const light = await bg()
  await page.emulateMedia({ colorScheme: 'dark' })
  const dark = await bg()
  const luminance = (rgb: string): number =>
    (rgb.match(/\d+/g) ?? [])
      .slice(0, 3)
      .map(Number)
      .reduce((a, b) => a + b, 0)
  t.ok(luminance(light) > 600 && luminance(dark) < 150, `light ${light}, dark ${dark}`)
  await views('archive')
  await tab('status')
})

step('the key is never in a URL, a cookie or localStorage; sign out forgets it', async t => {
  t.equal(await page.evaluate(() => document.cookie), '', 'no cookie')
  t.equal((await browser.context.cookies()).length, 0, 'no cookie in the browser')
  t.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage')
  t.equal(
    await page.evaluate(k => sessionStorage.getItem('vg-admin-key') === k, ADMIN_KEY),
    true,
    'the key is in sessionStorage'
  )
  t.ok(browser.requests.length > 20, `${browser.requests.length} requests made`)
  const leaked = browser.requests.filter(u => u.includes(ADMIN_KEY) || u.includes(DATA_KEY) || /key=/i.test(u))
  t.same(leaked, [], 'no key in any request URL')
  t.equal(new URL(page.url()).search, '', 'no query string on the page')
  t.notOk(
    browser.requests.some(u => !u.startsWith(gw.url)),
    'every request went to the gateway'
  )

  await page.click('[data-test="sign-out"]')
  await page.waitForSelector('#admin-key')
  t.equal(await page.evaluate(() => sessionStorage.length), 0, 'sessionStorage emptied')
  await page.reload()
  await page.waitForSelector('#admin-key')
  t.equal(await page.locator('[role="tablist"]').count(), 0, 'still signed out after a reload')
})

step('no console errors', async t => {
  // Chromium logs every 4xx answer as "Failed to load resource": the refused keys
  // and the refused switch/archive above are expected ones.
  const unexpected = browser.errors.filter(
    e => !/Failed to load resource: the server responded with a status of (401|403|409)/.test(e)
  )
  t.same(unexpected, [], 'no console error, no CSP violation, no uncaught exception')
})
