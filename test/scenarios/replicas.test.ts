// Two gateway processes on one database: a switch made through one reaches the
// other within SETTINGS_CACHE_MS, with no restart.
import t from 'tap'
import { ADMIN_KEY, DATA_KEY, KEYS_ENV, storesEnv, testQdrant } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { startGatewayProcess } from '../helpers/gateway-process.ts'
import { chunk } from '../helpers/chunks.ts'

const CACHE_MS = 500

t.test('a switch through one replica reaches the other in time', async t => {
  const db = await createTestDatabase(t)
  const qdrant = await testQdrant(t)
  const env = { ...KEYS_ENV, ...storesEnv(db, qdrant, 'vgt'), SETTINGS_CACHE_MS: String(CACHE_MS) }
  const a = await startGatewayProcess(env, t)
  const b = await startGatewayProcess(env, t)
  const active = async (url: string): Promise<string> =>
    (await (await fetch(`${url}/capabilities`)).json()).active_provider
  t.equal(await active(b.url), 'mariadb')

  const res = await fetch(`${a.url}/admin/vector-storage/provider`, {
    method: 'PUT',
    headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'qdrant' })
  })
  t.equal(res.status, 200)
  const switchedAt = Date.now()
  t.equal(await active(a.url), 'qdrant', 'the replica that switched sees it at once')
  while ((await active(b.url)) !== 'qdrant' && Date.now() - switchedAt < CACHE_MS * 10)
    await new Promise(resolve => setTimeout(resolve, 10))
  const took = Date.now() - switchedAt
  t.equal(await active(b.url), 'qdrant', `the other replica followed after ${took} ms`)
  t.ok(took <= CACHE_MS + 1000, `within SETTINGS_CACHE_MS (${CACHE_MS} ms) plus request overhead: ${took} ms`)

  const stored = await fetch(`${b.url}/chunks`, {
    method: 'POST',
    headers: { 'x-api-key': DATA_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ chunks: [chunk(1, 1, 0)] })
  })
  t.same(await stored.json(), { stored: 1, providers: { qdrant: 1 } }, 'and writes through it go to qdrant')
})
