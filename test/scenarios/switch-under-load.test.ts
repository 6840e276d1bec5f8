// Provider flips (global and per user) under concurrent writes, deletes, replaces
// and searches: afterwards every chunk written is found exactly once with its
// latest content, every deleted one is gone, and no request got a 5xx.
import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { axisVector, chunk } from '../helpers/chunks.ts'
import { client } from '../helpers/gateway-client.ts'

const USERS = [1, 2, 3, 4]
const OPS_PER_WRITER = 60
const FLIPS = 24

t.test('switching under load loses nothing and answers no 5xx', async t => {
  const gw = await buildTestGateway(t, { qdrant: true, env: { SETTINGS_CACHE_MS: '50' } })
  const c = client(gw)
  const serverErrors: string[] = []
  const check = (what: string, res: { statusCode: number; body: string }): void => {
    if (res.statusCode >= 500) serverErrors.push(`${what}: ${res.statusCode} ${res.body.slice(0, 200)}`)
  }
  // model[user] = Map<"file:index", text>
  const model = new Map(USERS.map(u => [u, new Map<string, string>()]))
  let rnd = 42
  const random = (n: number): number => {
    rnd = (rnd * 1103515245 + 12345) % 2147483648
    return rnd % n
  }
  let writing = true

  const writer = async (userId: number): Promise<void> => {
    const mine = model.get(userId) as Map<string, string>
    for (let seq = 0; seq < OPS_PER_WRITER; seq++) {
      const file = 1 + random(4)
      const op = random(10)
      if (op < 6) {
        const index = random(3)
        const text = `u${userId} f${file} c${index} #${seq}`
        const res = await c.store([chunk(userId, file, index, { text, vector: axisVector(index, 0.1 + file / 10) })])
        check('store', res)
        if (res.statusCode === 200) mine.set(`${file}:${index}`, text)
      } else if (op < 8) {
        const res = await c.remove(`user_id=${userId}&file_id=${file}`)
        check('delete', res)
        if (res.statusCode === 200) for (const k of [...mine.keys()]) if (k.startsWith(`${file}:`)) mine.delete(k)
      } else {
        const text = `u${userId} f${file} replaced #${seq}`
        const res = await c.store([chunk(userId, file, 0, { text })], true)
        check('replace', res)
        if (res.statusCode === 200) {
          for (const k of [...mine.keys()]) if (k.startsWith(`${file}:`)) mine.delete(k)
          mine.set(`${file}:0`, text)
        }
      }
    }
  }

  const searcher = async (): Promise<void> => {
    while (writing) {
      const userId = USERS[random(USERS.length)]
      const res = await c.search({ user_id: userId, vector: axisVector(random(8)) })
      check('search', res)
      if (res.statusCode === 200 && res.json().results.some((r: { user_id: number }) => r.user_id !== userId))
        serverErrors.push('search leaked another user')
    }
  }

  const flipper = async (): Promise<number> => {
    let flips = 0
    while (writing && flips < FLIPS * 4) {
      const res =
        flips % 3 === 2
          ? await c.pin(USERS[random(USERS.length)], random(3) === 0 ? null : ['mariadb', 'qdrant'][random(2)])
          : await c.switchTo(flips % 2 === 0 ? 'qdrant' : 'mariadb')
      check('switch', res)
      flips++
      await new Promise(resolve => setTimeout(resolve, 25))
    }
    return flips
  }

  const flipping = flipper()
  const searching = [searcher(), searcher()]
  await Promise.all(USERS.map(writer))
  writing = false
  const flips = await flipping
  await Promise.all(searching)

  t.ok(flips >= 20, `${flips} provider changes happened during the run`)
  t.same(serverErrors, [], 'no request answered 5xx')

  for (const userId of USERS) {
    const expected = model.get(userId) as Map<string, string>
    const found = new Map<string, string>()
    for (let file = 1; file <= 4; file++) {
      const listed = (await c.list(userId, file)).json().chunks as Array<{ chunk_index: number; text: string }>
      for (const x of listed) {
        t.notOk(found.has(`${file}:${x.chunk_index}`), `key ${userId}/${file}/${x.chunk_index} listed once`)
        found.set(`${file}:${x.chunk_index}`, x.text)
      }
    }
    t.same(
      Object.fromEntries([...found].sort()),
      Object.fromEntries([...expected].sort()),
      `user ${userId}: listed chunks equal the model`
    )
    const searched = (await c.search({ user_id: userId, vector: axisVector(0) })).json().results as Array<{
      file_id: number
      chunk_index: number
      text: string
    }>
    t.equal(searched.length, expected.size, `user ${userId}: search finds each chunk exactly once`)
    t.same(
      Object.fromEntries(searched.map(r => [`${r.file_id}:${r.chunk_index}`, r.text]).sort()),
      Object.fromEntries([...expected].sort())
    )
    t.equal((await c.stats(userId)).json().total_chunks, expected.size, `user ${userId}: stats count each key once`)
  }
})
