import t from 'tap'
import { buildTestGateway, ADMIN_KEY, DATA_KEY } from '../helpers/app.ts'
import { chunk } from '../helpers/chunks.ts'

t.test('API keys guard data and admin routes', async t => {
  const { app } = await buildTestGateway(t)
  const call = async (url: string, headers: Record<string, string> = {}) => await app.inject({ url, headers })

  for (const url of ['/health', '/health/live', '/capabilities', '/metrics', '/docs/json']) {
    t.equal((await call(url)).statusCode, 200, `${url} is public`)
  }
  const noKey = await call('/stats?user_id=1')
  t.match(noKey.json(), { statusCode: 401, code: 'VG_UNAUTHORIZED' })
  t.equal((await call('/stats?user_id=1', { 'x-api-key': 'wrong-key-wrong-key' })).statusCode, 401)
  t.equal(
    (await call('/stats?user_id=1', { 'x-api-key': DATA_KEY.slice(0, -1) })).statusCode,
    401,
    'a prefix of the key is not the key'
  )
  t.equal((await call('/stats?user_id=1', { 'x-api-key': DATA_KEY })).statusCode, 200)
  t.equal((await call('/stats?user_id=1', { authorization: `Bearer ${DATA_KEY}` })).statusCode, 200, 'Bearer works')
  t.equal((await call('/stats?user_id=1', { authorization: `Basic ${DATA_KEY}` })).statusCode, 401)
  t.equal(
    (await call('/stats?user_id=1', { 'x-api-key': ADMIN_KEY })).statusCode,
    200,
    'the admin key may use data routes'
  )

  const asData = await call('/admin/vector-storage/status', { 'x-api-key': DATA_KEY })
  t.match(asData.json(), { statusCode: 403, code: 'VG_FORBIDDEN' })
  t.equal((await call('/admin/vector-storage/status')).statusCode, 401)
  t.equal((await call('/admin/vector-storage/status', { authorization: `Bearer ${ADMIN_KEY}` })).statusCode, 200)

  const write = await app.inject({ method: 'POST', url: '/chunks', payload: { chunks: [chunk(1, 1, 0)] } })
  t.equal(write.statusCode, 401, 'writes need a key too')
  t.equal(
    (await call('/stats?user_id=1', { 'x-api-key': DATA_KEY })).json().total_chunks,
    0,
    'the refused write stored nothing'
  )
})

t.test('without ADMIN_API_KEY the admin API is closed', async t => {
  const { app, data } = await buildTestGateway(t, { env: { ADMIN_API_KEY: '' } })
  const res = await app.inject({ url: '/admin/vector-storage/status', headers: data })
  t.match(res.json(), { statusCode: 403, message: /ADMIN_API_KEY/ })
})

t.test('AUTH_DISABLED opens everything', async t => {
  const { app } = await buildTestGateway(t, { env: { AUTH_DISABLED: 'true', API_KEY: '', ADMIN_API_KEY: '' } })
  t.equal((await app.inject({ url: '/stats?user_id=1' })).statusCode, 200)
  t.equal((await app.inject({ url: '/admin/vector-storage/status' })).statusCode, 200)
})
