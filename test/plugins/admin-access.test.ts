// Every admin route, reached through every spelling of its path that Fastify's
// router accepts, refuses the data key (403) and a missing key (401); spellings the
// router does not accept never reach a handler. The table is generated from the
// app's own route list, so a new admin route is covered without editing this file.
//
// Requests go over a real listener with the path sent byte for byte (inject parses
// the URL with WHATWG URL, which would normalise some spellings away).
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildTestGateway, ADMIN_KEY, DATA_KEY } from '../helpers/app.ts'
import { socketRequest } from '../helpers/socket-request.ts'

const PREFIX = '/admin/vector-storage'

// Bodies that would change state if a handler ran (the 403/401 must come first).
const BODIES: Record<string, unknown> = {
  'PUT /admin/vector-storage/provider': { provider: 'mariadb' },
  'PUT /admin/vector-storage/read-mode': { read_mode: 'active' },
  'PUT /admin/vector-storage/users/:user_id/provider': { provider: 'mariadb' },
  'POST /admin/vector-storage/migrations': { from: 'mariadb', to: 'mariadb' },
  'POST /admin/vector-storage/archive': {},
  'POST /admin/vector-storage/mariadb/vector-index': {}
}

const PARAMS: Record<string, string> = { user_id: '7', id: '1' }

function concrete(url: string): string {
  return url.replace(/:([A-Za-z_]+)/g, (_m, name: string) => PARAMS[name] ?? '1')
}

const hex = (c: string, lower = false): string => {
  const h = `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`
  return lower ? h.toLowerCase() : h
}

/** Spellings Fastify 5's router (find-my-way, default options) routes to the same handler. */
function routedSpellings(path: string): string[] {
  const out = [
    path,
    `${path}?x=1`,
    `${path}#frag`,
    `http://127.0.0.1${path}`,
    `http://127.0.0.1/${hex('a')}${path.slice(2)}`
  ]
  for (let i = 1; i < path.length; i++) {
    if (path[i] === '/') continue
    out.push(path.slice(0, i) + hex(path[i]) + path.slice(i + 1)) // one character encoded
  }
  out.push(path.replace(/[^/]/g, c => hex(c, true))) // every character encoded, lower-case hex
  return out
}

/** Spellings the router does not route (default options): they must answer 404 after auth. */
function unroutedSpellings(path: string): string[] {
  const out = [
    `${path}/`, // trailing slash (ignoreTrailingSlash: false)
    `${path};x=1`, // matrix params (useSemicolonDelimiter: false)
    `${path}${hex(';')}x`,
    path.toUpperCase(), // case (caseSensitive: true)
    path.replace(/\/([a-z])/g, (_m, c: string) => `/${c.toUpperCase()}`),
    `/x/..${path}`, // dot segments are not resolved
    path.replace(/\/([^/]+)$/, '/./$1'),
    `/${hex('%')}61${path.slice(2)}`, // double encoding
    `${path}${hex('/')}`,
    path.replace(/(?!^)\//g, '\\') // backslashes are not separators
  ]
  for (let i = 0; i < path.length; i++) {
    if (path[i] !== '/') continue
    if (i === 0) {
      out.push(`/${path}`)
      continue
    } // a path must start with a real slash
    out.push(path.slice(0, i) + '%2F' + path.slice(i + 1)) // an encoded slash is not a separator
    out.push(path.slice(0, i) + '%2f' + path.slice(i + 1))
    out.push(path.slice(0, i) + '//' + path.slice(i + 1)) // ignoreDuplicateSlashes: false
  }
  return out
}

interface Answer {
  status: number
  body: string
}

t.test('admin routes refuse the data key and no key through every spelling the router accepts', async t => {
  const { app, db } = await buildTestGateway(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  t.teardown(() => {
    agent.destroy()
  })

  const send = async (method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> =>
    await socketRequest(agent, { host: '127.0.0.1', port }, method, path, headers, body).then(
      answer => ({ status: answer.status, body: answer.text }),
      (err: Error) => ({ status: -1, body: err.message })
    )

  const snapshot = async (): Promise<string> => {
    const tables = await db.pool.query('SHOW TABLES')
    const parts: unknown[] = [tables]
    for (const table of ['vg_settings', 'vg_user_providers', 'vg_provider_changes', 'vg_migrations']) {
      parts.push(await db.pool.query(`SELECT * FROM ${table}`))
    }
    parts.push(await db.pool.query('SHOW CREATE TABLE BRAG'))
    return JSON.stringify(parts)
  }
  const before = await snapshot()

  const adminRoutes = app.routeAccess().filter(r => r.url === PREFIX || r.url.startsWith(`${PREFIX}/`))
  t.ok(adminRoutes.length >= 15, `the route list has the admin routes (${adminRoutes.length})`)
  t.ok(
    adminRoutes.some(r => r.method === 'PUT' && r.url === `${PREFIX}/read-mode`),
    'read-mode is in the list'
  )
  for (const r of adminRoutes) t.equal(r.auth, 'admin', `${r.method} ${r.url} is declared admin`)

  for (const route of adminRoutes) {
    const path = concrete(route.url)
    const body =
      route.method === 'GET' || route.method === 'HEAD' ? undefined : (BODIES[`${route.method} ${route.url}`] ?? {})
    const wrong: string[] = []
    for (const spelling of routedSpellings(path)) {
      const asData = await send(route.method, spelling, { 'x-api-key': DATA_KEY }, body)
      if (asData.status !== 403) wrong.push(`data key ${spelling} -> ${asData.status}`)
      const bare = await send(route.method, spelling, {}, body)
      if (bare.status !== 401) wrong.push(`no key ${spelling} -> ${bare.status}`)
    }
    for (const spelling of unroutedSpellings(path)) {
      const asData = await send(route.method, spelling, { 'x-api-key': DATA_KEY }, body)
      if (asData.status !== 404 && asData.status !== 403) wrong.push(`data key ${spelling} -> ${asData.status}`)
      const asAdmin = await send(route.method, spelling, { 'x-api-key': ADMIN_KEY }, body)
      // 404, or 400 when the spelling lands in another admin route's parameter (/migrations/ -> :id = '')
      if (asAdmin.status !== 404 && asAdmin.status !== 400)
        wrong.push(`admin key ${spelling} (not routed) -> ${asAdmin.status}`)
      const bare = await send(route.method, spelling, {}, body)
      if (bare.status !== 401) wrong.push(`no key ${spelling} -> ${bare.status}`)
    }
    t.same(wrong, [], `${route.method} ${route.url}: every spelling refused`)
  }

  t.equal(await snapshot(), before, 'settings, overrides, change log, migrations and the table are unchanged')
  // The spellings above do route: the admin key reaches the handler through them.
  const viaEncoding = await send('GET', `/${hex('a')}dmin/vector-storage/status`, { 'x-api-key': ADMIN_KEY })
  t.equal(viaEncoding.status, 200, 'the percent-encoded spelling is a real route')
})

t.test('without ADMIN_API_KEY no spelling opens the admin API', async t => {
  const { app, data } = await buildTestGateway(t, { env: { ADMIN_API_KEY: '' } })
  const res = await app.inject({
    method: 'PUT',
    url: '/%61dmin/vector-storage/read-mode',
    headers: data,
    payload: { read_mode: 'active' }
  })
  t.match(res.json(), { statusCode: 403, code: 'VG_FORBIDDEN', message: /ADMIN_API_KEY/ })
  const status = await app.inject({ url: '/admin/vector-storage/status', headers: { 'x-api-key': ADMIN_KEY } })
  t.equal(status.statusCode, 401, 'the unset admin key matches nothing')
})

t.test('every route declares its access level; unknown paths are 401 before 404', async t => {
  const { app, data } = await buildTestGateway(t)
  const undeclared = app.routeAccess().filter(r => r.auth === 'data' && /^\/(admin|docs)/.test(r.url))
  t.same(undeclared, [], 'no admin or docs route falls back to the data level')
  const docs = app.routeAccess().filter(r => r.url === '/docs' || r.url.startsWith('/docs/'))
  t.ok(docs.length > 0 && docs.every(r => r.auth === 'public'), 'swagger routes declare public')

  const unknown = await app.inject({ url: '/no-such-route' })
  t.match(
    unknown.json(),
    { statusCode: 401, code: 'VG_UNAUTHORIZED' },
    'no key: 401, not a 404 that reveals the routing'
  )
  const unknownAdmin = await app.inject({ url: '/admin/vector-storage/no-such-route' })
  t.equal(unknownAdmin.statusCode, 401)
  const known = await app.inject({ url: '/no-such-route', headers: data })
  t.match(known.json(), { statusCode: 404, code: 'VG_NOT_FOUND' }, 'with a key: 404')
})
