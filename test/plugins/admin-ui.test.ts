// The admin console's static routes, without a browser: public (every route declares
// config.auth 'public', so no key is needed to load the page), security and cache
// headers, and a clear answer when the console is not built. The browser tests are
// in test/ui/.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { buildApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import adminUi, { ADMIN_UI_CSP, findAdminUiBuild } from '../../src/plugins/admin-ui.ts'
import errorHandler from '../../src/plugins/error-handler.ts'

const built = findAdminUiBuild()

t.test(
  'served without a key, under the CSP; the admin API still needs the admin key',
  { skip: built === undefined ? 'ui/dist missing: run npm run build:ui' : false },
  async t => {
    const app = await buildApp(
      loadConfig({ API_KEY: 'data-key-for-ui-test', ADMIN_API_KEY: 'admin-key-for-ui-test', LOG_LEVEL: 'silent' }),
      { storage: false }
    )
    t.teardown(async () => {
      await app.close()
    })
    const index = await app.inject({ url: '/admin/ui/' })
    t.equal(index.statusCode, 200)
    t.match(index.headers['content-type'], /text\/html/)
    t.equal(index.headers['content-security-policy'], ADMIN_UI_CSP)
    t.equal(index.headers['x-content-type-options'], 'nosniff')
    t.equal(index.headers['cache-control'], 'no-cache')
    const asset = /src="(\/admin\/ui\/assets\/[^"]+\.js)"/.exec(index.body)?.[1]
    t.ok(asset, 'the page loads its script from a file')
    const js = await app.inject({ url: asset! })
    t.equal(js.statusCode, 200)
    t.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable')
    const redirect = await app.inject({ url: '/admin/ui' })
    t.equal(redirect.statusCode, 301)
    t.equal(redirect.headers.location, '/admin/ui/')
    t.equal(
      (await app.inject({ url: '/admin/ui/../../package.json' })).statusCode === 200,
      false,
      'no path escapes ui/dist'
    )
    t.equal((await app.inject({ url: '/admin/vector-storage/status' })).statusCode, 401, 'the admin API is untouched')
    t.notOk(
      JSON.stringify((await app.inject({ url: '/docs/json' })).json()).includes('/admin/ui'),
      'kept out of the OpenAPI document'
    )
  }
)

t.test('not built: a 404 that says how to build it', async t => {
  const empty = mkdtempSync(join(tmpdir(), 'vg-ui-'))
  t.teardown(() => rmSync(empty, { recursive: true, force: true }))
  t.equal(findAdminUiBuild(empty), undefined, 'no ui/dist above an empty folder')
  const app = Fastify()
  await app.register(errorHandler)
  await app.register(adminUi, { build: null })
  t.teardown(async () => {
    await app.close()
  })
  const res = await app.inject({ url: '/admin/ui/' })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'VG_NOT_FOUND')
  t.match(res.json().message, /npm run build:ui/)
  t.equal(res.headers['content-security-policy'], ADMIN_UI_CSP)
})
