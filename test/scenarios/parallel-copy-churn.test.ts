// Issue 9 §5: users copied in parallel (MIGRATION_USER_CONCURRENCY) under a stream
// of deletes and replaces aimed at the very keys being copied. Each user's writer
// follows that user's copy (the file its checkpoint is in, or the next one), so
// deletes and replaces land between a batch's read and its write as often as the
// locks let them. A model of what was acknowledged is compared, at the end, with
// the target store alone and with the merged view: every key holds its latest
// acknowledged content, or is absent when a delete came last (nothing deleted comes
// back), and the exact counts equal the model's.
import t from 'tap'
import type { VectorProvider } from '../../src/providers/vector-provider.ts'
import { buildTestGateway } from '../helpers/app.ts'
import { axisVector, chunk } from '../helpers/chunks.ts'
import { client } from '../helpers/gateway-client.ts'
import { dataset, getMigration, prng, startMigration, storeAll, waitForMigration } from '../helpers/migration.ts'

const USERS = [11, 12, 13, 14, 15, 16]
const FILES = [2001, 2002, 2003, 2004, 2005]
const PER_FILE = 12
const MIN_OPS = 15
const CONCURRENCY = 3

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]
type Gw = Awaited<ReturnType<typeof buildTestGateway>>
type Model = Map<number, Map<string, string>>

function seed(): { model: Model; chunks: ReturnType<typeof dataset> } {
  const chunks = dataset({ users: USERS, files: FILES.length, perFile: PER_FILE, seed: 9 }).map(c => ({
    ...c,
    file_id: c.file_id + 1000
  }))
  const model: Model = new Map(USERS.map(u => [u, new Map()]))
  for (const c of chunks) model.get(c.user_id)!.set(`${c.file_id}:${c.chunk_index}`, c.text)
  return { model, chunks }
}

/** Holds each backfill write 20 ms in the emulator: the copy window is wide, and users overlap for sure. */
function widenCopyWindow(gw: Gw): void {
  gw.qdrant?.faults.slow(20, {
    match: req =>
      req.method === 'PUT' && (req.body as { update_mode?: string } | undefined)?.update_mode === 'insert_only'
  })
}

async function churn(gw: Gw, model: Model, seedBase: number, migrationId: number) {
  const progress = new Map<number, { status: string; migrated: number }>()
  let maxInProgress = 0
  let polling = true
  const poller = (async () => {
    while (polling) {
      const m = await getMigration(gw.app, migrationId)
      for (const u of m.users) progress.set(u.user_id, { status: u.status, migrated: u.migrated_chunks })
      if (m.status !== 'running') for (const u of USERS) progress.set(u, { status: 'completed', migrated: 0 })
      maxInProgress = Math.max(maxInProgress, m.users.filter(u => u.status === 'in_progress').length)
      await new Promise(resolve => setTimeout(resolve, 15))
    }
  })()
  const state = (u: number): string => progress.get(u)?.status ?? 'pending'
  const c = client(gw)
  const errors: string[] = []
  let ops = 0
  const ok = (what: string, res: { statusCode: number; body: string }): boolean => {
    if (res.statusCode !== 200) errors.push(`${what}: ${res.statusCode} ${res.body.slice(0, 300)}`)
    return res.statusCode === 200
  }
  const writer = async (userId: number): Promise<void> => {
    const rnd = prng(seedBase + userId)
    const mine = model.get(userId)!
    while (state(userId) === 'pending') await new Promise(resolve => setTimeout(resolve, 5))
    for (let seq = 0; seq < MIN_OPS || !['completed', 'failed'].includes(state(userId)); seq++) {
      // the file the copy is in now (scan order is file, chunk), sometimes the next one
      const at = Math.floor((progress.get(userId)?.migrated ?? 0) / PER_FILE) + rnd(2)
      const file = FILES[Math.min(FILES.length - 1, at)]
      const op = rnd(10)
      ops++
      if (op < 4) {
        if (ok('delete', await c.remove(`user_id=${userId}&file_id=${file}`))) {
          for (const k of [...mine.keys()]) if (k.startsWith(`${file}:`)) mine.delete(k)
        }
      } else if (op < 8) {
        const n = 1 + rnd(PER_FILE)
        const body = Array.from({ length: n }, (_, i) =>
          chunk(userId, file, i, { text: `u${userId} f${file} c${i} replaced #${seq}`, vector: axisVector(i, 0.2) })
        )
        if (ok('replace', await c.store(body, true))) {
          for (const k of [...mine.keys()]) if (k.startsWith(`${file}:`)) mine.delete(k)
          for (const b of body) mine.set(`${file}:${b.chunk_index}`, b.text)
        }
      } else {
        const index = rnd(PER_FILE)
        const text = `u${userId} f${file} c${index} overwritten #${seq}`
        if (ok('store', await c.store([chunk(userId, file, index, { text, vector: axisVector(index, 0.4) })]))) {
          mine.set(`${file}:${index}`, text)
        }
      }
    }
  }
  await Promise.all(USERS.map(writer))
  polling = false
  await poller
  return { errors, ops, maxInProgress }
}

async function expectModel(
  t: TapTest,
  label: string,
  model: Model,
  read: (u: number, f: number) => Promise<Array<{ chunk_index: number; text: string }>>,
  count?: (u: number) => Promise<number>
): Promise<void> {
  let bad = 0
  for (const u of USERS) {
    const got: Record<string, string> = {}
    let rows = 0
    for (const f of FILES) {
      for (const x of await read(u, f)) {
        rows++
        got[`${f}:${x.chunk_index}`] = x.text
      }
    }
    const expected = Object.fromEntries([...model.get(u)!].sort())
    const sorted = Object.fromEntries(Object.entries(got).sort())
    const exact = count === undefined ? rows : await count(u)
    if (JSON.stringify(sorted) !== JSON.stringify(expected) || rows !== model.get(u)!.size || exact !== rows) {
      bad++
      t.same(sorted, expected, `${label}: user ${u} (rows ${rows}, exact count ${exact}, model ${model.get(u)!.size})`)
    }
  }
  t.equal(bad, 0, `${label}: every user equals the model, key by key and in exact count`)
}

const env = {
  SETTINGS_CACHE_MS: '50',
  MIGRATION_BATCH_SIZE: '5',
  MIGRATION_USER_CONCURRENCY: String(CONCURRENCY)
}

const fromProvider = (p: VectorProvider) => async (u: number, f: number) => await p.list(u, f, false)

for (const [from, to] of [
  ['mariadb', 'qdrant'],
  ['qdrant', 'mariadb']
] as const) {
  t.test(`${from} -> ${to}: ${CONCURRENCY} users copied at once under deletes and replaces of their keys`, async t => {
    const gw = await buildTestGateway(t, { qdrant: true, env })
    const { app } = gw
    const { model, chunks } = seed()
    t.equal((await client(gw).switchTo(from)).statusCode, 200)
    await storeAll(app, gw.data, chunks)
    const source = app.providers.all.get(from)!
    const target = app.providers.all.get(to)!
    t.equal(await source.count(), chunks.length, `seeded in ${from}`)
    widenCopyWindow(gw)

    // live writes go to the target from now on; the copy must never undo them
    t.equal((await client(gw).switchTo(to)).statusCode, 200, `switched to ${to}`)
    const id = await startMigration(app, { from, to })
    const { errors, ops, maxInProgress } = await churn(gw, model, from === 'mariadb' ? 500 : 600, id)
    const m = await waitForMigration(app, id, 120000)
    t.same(errors, [], `${ops} deletes, replaces and overwrites, none failed`)
    t.equal(m.status, 'completed', `migration completed: ${m.error ?? ''}`)
    t.equal(m.failed_users, 0)
    t.ok(maxInProgress >= 2, `users were copied in parallel (at most ${maxInProgress} in progress at once)`)

    await expectModel(t, `${to} alone`, model, fromProvider(target), async u => await target.count({ user_id: u }))
    await expectModel(t, 'merged view', model, async (u, f) => {
      const res = await app.inject({ url: `/chunks?user_id=${u}&file_id=${f}`, headers: gw.data })
      return res.json().chunks
    })
  })
}
