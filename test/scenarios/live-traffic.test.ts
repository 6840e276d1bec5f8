// docs/architecture.md#migration-live-traffic "safe under live traffic": writes, replaces, group changes and deletes
// made while a migration copies the same users are never undone. A model of what
// the clients did is compared, at the end, with the merged view (GET /chunks) and
// with the target store alone.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { VectorProvider } from '../../src/providers/vector-provider.ts'
import { buildTestGateway } from '../helpers/app.ts'
import { axisVector, chunk } from '../helpers/chunks.ts'
import { client } from '../helpers/gateway-client.ts'
import { dataset, getMigration, prng, startMigration, storeAll, waitForMigration } from '../helpers/migration.ts'

const USERS = [1, 2, 3, 4, 5, 6, 7, 8]
const FILES = [1001, 1002, 1003, 1004]
const MIN_OPS = 20

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]
type Model = Map<number, Map<string, { text: string; group: string }>>

/**
 * One sequential writer per user (so the model is exact), all users at once. Each
 * writer starts when the migration starts copying its user and goes on until that
 * user is verified (at least MIN_OPS operations): every user's copy meets live traffic.
 */
async function traffic(
  gw: Awaited<ReturnType<typeof buildTestGateway>>,
  model: Model,
  seed: number,
  migrationId: number
) {
  const states = new Map<number, string>()
  let polling = true
  const poller = (async () => {
    while (polling) {
      const m = await getMigration(gw.app, migrationId)
      for (const u of m.users) states.set(u.user_id, u.status)
      if (m.status !== 'running') for (const u of USERS) states.set(u, 'completed')
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })()
  const started = async (userId: number): Promise<void> => {
    while (!['in_progress', 'completed', 'failed'].includes(states.get(userId) ?? 'pending'))
      await new Promise(resolve => setTimeout(resolve, 10))
  }
  const keepGoing = (userId: number): boolean => !['completed', 'failed'].includes(states.get(userId) ?? 'pending')
  const c = client(gw)
  const errors: string[] = []
  let ops = 0
  const check = (what: string, res: { statusCode: number; body: string }): boolean => {
    if (res.statusCode !== 200) errors.push(`${what}: ${res.statusCode} ${res.body.slice(0, 300)}`)
    return res.statusCode === 200
  }
  const writer = async (userId: number): Promise<void> => {
    const rnd = prng(seed + userId)
    const mine = model.get(userId)!
    await started(userId)
    for (let seq = 0; seq < MIN_OPS || keepGoing(userId); seq++) {
      const file = FILES[rnd(FILES.length)]
      const op = rnd(10)
      ops++
      if (op < 5) {
        const index = rnd(34)
        const text = `u${userId} f${file} c${index} write #${seq}`
        const group = rnd(2) === 0 ? 'DEFAULT' : `W${seq}`
        if (
          check(
            'store',
            await c.store([chunk(userId, file, index, { text, group_key: group, vector: axisVector(index, 0.3) })])
          )
        ) {
          mine.set(`${file}:${index}`, { text, group })
        }
      } else if (op < 7) {
        if (check('delete', await c.remove(`user_id=${userId}&file_id=${file}`))) {
          for (const k of [...mine.keys()]) if (k.startsWith(`${file}:`)) mine.delete(k)
        }
      } else if (op < 8) {
        const n = 1 + rnd(4)
        const body = Array.from({ length: n }, (_, i) =>
          chunk(userId, file, i, { text: `u${userId} f${file} c${i} replaced #${seq}`, group_key: 'R' })
        )
        if (check('replace', await c.store(body, true))) {
          for (const k of [...mine.keys()]) if (k.startsWith(`${file}:`)) mine.delete(k)
          for (const b of body) mine.set(`${file}:${b.chunk_index}`, { text: b.text, group: 'R' })
        }
      } else {
        const group = `G${seq}`
        if (check('patch', await c.patch({ user_id: userId, file_id: file, group_key: group }))) {
          for (const [k, v] of mine) if (k.startsWith(`${file}:`)) v.group = group
        }
      }
    }
  }
  await Promise.all(USERS.map(writer))
  polling = false
  await poller
  return { errors, ops }
}

/**
 * Holds each backfill write (insert_only upsert) 30 ms in the emulator: the window
 * between a batch's read of the source and its write to the target, where an
 * unguarded delete would be undone, becomes wide enough to be hit for sure.
 */
function widenCopyWindow(gw: Awaited<ReturnType<typeof buildTestGateway>>): void {
  gw.qdrant?.faults.slow(30, {
    match: req =>
      req.method === 'PUT' && (req.body as { update_mode?: string } | undefined)?.update_mode === 'insert_only'
  })
}

function seedModel(): { model: Model; chunks: ReturnType<typeof dataset> } {
  const chunks = dataset({ users: USERS, files: FILES.length, perFile: 30, seed: 5 })
  const model: Model = new Map(USERS.map(u => [u, new Map()]))
  for (const c of chunks)
    model.get(c.user_id)!.set(`${c.file_id}:${c.chunk_index}`, { text: c.text, group: c.group_key ?? 'DEFAULT' })
  return { model, chunks }
}

async function compare(
  t: TapTest,
  label: string,
  model: Model,
  read: (u: number, f: number) => Promise<Array<{ chunk_index: number; text: string; group_key: string }>>
): Promise<void> {
  let bad = 0
  for (const u of USERS) {
    const found: Record<string, { text: string; group: string }> = {}
    let duplicates = 0
    for (const f of FILES) {
      for (const x of await read(u, f)) {
        if (found[`${f}:${x.chunk_index}`] !== undefined) duplicates++
        found[`${f}:${x.chunk_index}`] = { text: x.text, group: x.group_key }
      }
    }
    const expected = Object.fromEntries([...model.get(u)!].sort())
    const got = Object.fromEntries(Object.entries(found).sort())
    if (duplicates > 0 || JSON.stringify(got) !== JSON.stringify(expected)) {
      bad++
      t.same(got, expected, `${label}: user ${u} (${duplicates} duplicates)`)
    }
  }
  t.equal(bad, 0, `${label}: every user equals the model`)
}

const listed = (app: FastifyInstance, headers: Record<string, string>) => async (u: number, f: number) =>
  (await app.inject({ url: `/chunks?user_id=${u}&file_id=${f}`, headers })).json().chunks
const fromProvider = (p: VectorProvider) => async (u: number, f: number) => await p.list(u, f, false)

t.test('operator flow: switch to the target, migrate under load', async t => {
  const gw = await buildTestGateway(t, { qdrant: true, env: { SETTINGS_CACHE_MS: '50', MIGRATION_BATCH_SIZE: '8' } })
  const { app } = gw
  const { model, chunks } = seedModel()
  await storeAll(app, gw.data, chunks)
  widenCopyWindow(gw)

  t.equal((await client(gw).switchTo('qdrant')).statusCode, 200, 'switched to qdrant')
  const id = await startMigration(app, { from: 'mariadb', to: 'qdrant' })
  const { errors, ops } = await traffic(gw, model, 100, id)
  const m = await waitForMigration(app, id, 60000)
  t.same(errors, [], `${ops} live operations, none failed`)
  t.equal(m.status, 'completed', `migration completed: ${m.error ?? ''}`)
  t.equal(m.failed_users, 0)
  t.ok(m.migrated_chunks > 0)

  await compare(t, 'merged view', model, listed(app, gw.data))
  await compare(t, 'qdrant alone', model, fromProvider(app.providers.qdrant!))
})

t.test(
  'active provider stays on the source: verification catches up, a second pass leaves the target equal to the model',
  async t => {
    const gw = await buildTestGateway(t, { qdrant: true, env: { SETTINGS_CACHE_MS: '50', MIGRATION_BATCH_SIZE: '8' } })
    const { app } = gw
    const { model, chunks } = seedModel()
    await storeAll(app, gw.data, chunks)
    widenCopyWindow(gw)

    const id = await startMigration(app, { from: 'mariadb', to: 'qdrant' })
    const { errors, ops } = await traffic(gw, model, 200, id)
    const m = await waitForMigration(app, id, 60000)
    t.same(errors, [], `${ops} live operations, none failed`)
    t.equal(m.status, 'completed', `migration completed: ${m.error ?? ''}`)
    const reconciled = (await getMigration(app, id)).users.reduce(
      (n, u) => n + ((u as { reconciled_chunks?: number }).reconciled_chunks ?? 0),
      0
    )
    t.comment(`verification copied ${reconciled} chunks written to the source behind the checkpoints`)
    await compare(t, 'merged view', model, listed(app, gw.data))

    // writes made after a user was verified are only in the source: a catch-up pass copies them
    const catchUp = await waitForMigration(app, await startMigration(app, { from: 'mariadb', to: 'qdrant' }))
    t.equal(catchUp.status, 'completed')
    await compare(
      t,
      'qdrant alone after the catch-up pass (nothing deleted came back)',
      model,
      fromProvider(app.providers.qdrant!)
    )
    await compare(t, 'merged view after the catch-up pass', model, listed(app, gw.data))
  }
)

t.test('reverse direction: qdrant -> mariadb under load, active switched to mariadb', async t => {
  const gw = await buildTestGateway(t, { qdrant: true, env: { SETTINGS_CACHE_MS: '50', MIGRATION_BATCH_SIZE: '8' } })
  const { app } = gw
  const { model, chunks } = seedModel()
  t.equal((await client(gw).switchTo('qdrant')).statusCode, 200)
  await storeAll(app, gw.data, chunks)
  t.equal(await app.providers.qdrant!.count(), chunks.length, 'seeded in qdrant')

  t.equal((await client(gw).switchTo('mariadb')).statusCode, 200, 'switched back to mariadb')
  const id = await startMigration(app, { from: 'qdrant', to: 'mariadb' })
  const { errors, ops } = await traffic(gw, model, 300, id)
  const m = await waitForMigration(app, id, 60000)
  t.same(errors, [], `${ops} live operations, none failed`)
  t.equal(m.status, 'completed', `migration completed: ${m.error ?? ''}`)
  await compare(t, 'merged view', model, listed(app, gw.data))
  await compare(t, 'mariadb alone', model, fromProvider(app.providers.mariadb))
})
