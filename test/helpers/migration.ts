// Shared by the migration tests: seeding, waiting for a migration, reading a
// provider whole.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { FaultMatcher } from '@vector-gateway/qdrant-emulator'
import type { ChunkRecord, Vector, VectorProvider } from '../../src/providers/vector-provider.ts'
import { TEST_DIMENSION, ADMIN_KEY } from './app.ts'
import type { ChunkBody } from './chunks.ts'

export const admin = { 'x-api-key': ADMIN_KEY }

/** A deterministic pseudo-random generator (tests must be reproducible). */
export function prng(seed: number): (n?: number) => number {
  let s = seed >>> 0
  return (n?: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    const x = s / 2 ** 32
    return n === undefined ? x : Math.floor(x * n)
  }
}

/** `users` users, each with `files` files of `perFile` chunks, random vectors and metadata. */
export function dataset(opts: {
  users: number[]
  files: number
  perFile: number
  seed?: number
  dimension?: number
}): ChunkBody[] {
  const rnd = prng(opts.seed ?? 7)
  const dim = opts.dimension ?? TEST_DIMENSION
  const out: ChunkBody[] = []
  for (const u of opts.users) {
    for (let f = 1; f <= opts.files; f++) {
      for (let i = 0; i < opts.perFile; i++) {
        out.push({
          user_id: u,
          file_id: 1000 + f,
          chunk_index: i,
          group_key: rnd(3) === 0 ? 'G:other' : 'DEFAULT',
          file_type: rnd(4),
          start_line: i * 10,
          end_line: i * 10 + rnd(9),
          text: `u${u} f${f} c${i} ünïcødé ${rnd(1e9)}`,
          vector: unit(Array.from({ length: dim }, () => rnd() * 2 - 1)),
          created: 1700000000 + rnd(1e6)
        })
      }
    }
  }
  return out
}

export async function storeAll(
  app: FastifyInstance,
  headers: Record<string, string>,
  chunks: ChunkBody[]
): Promise<void> {
  for (let i = 0; i < chunks.length; i += 1000) {
    const res = await app.inject({
      method: 'POST',
      url: '/chunks',
      headers,
      payload: { chunks: chunks.slice(i, i + 1000) }
    })
    if (res.statusCode !== 200) throw new Error(`store failed: ${res.statusCode} ${res.body}`)
  }
}

/** POST /admin/vector-storage/migrations with the admin key, whatever the answer. */
export async function requestMigration(
  app: FastifyInstance,
  body: Record<string, unknown>
): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/admin/vector-storage/migrations', headers: admin, payload: body })
}

export async function startMigration(app: FastifyInstance, body: Record<string, unknown>): Promise<number> {
  const res = await requestMigration(app, body)
  if (res.statusCode !== 202) throw new Error(`migration not started: ${res.statusCode} ${res.body}`)
  return res.json().id as number
}

/** Matches, for an emulator fault, a point upsert (PUT …/points) carrying a point of `userId`. */
export function upsertOfUser(userId: number): FaultMatcher {
  return req =>
    req.method === 'PUT' &&
    /\/points$/.test(req.path) &&
    ((req.body as { points?: Array<{ payload?: { user_id?: number } }> } | undefined)?.points ?? []).some(
      p => p.payload?.user_id === userId
    )
}

export interface MigrationJson {
  id: number
  status: string
  total_users: number
  completed_users: number
  failed_users: number
  pending_users: number
  total_chunks: number
  migrated_chunks: number
  chunks_per_second: number | null
  eta_seconds: number | null
  error: string | null
  users: Array<{
    user_id: number
    status: string
    error: string | null
    source_count: number | null
    target_count: number | null
    migrated_chunks: number
    total_chunks: number
    source_deleted: number | null
  }>
}

export async function getMigration(app: FastifyInstance, id: number, qs = 'per_page=1000'): Promise<MigrationJson> {
  const res = await app.inject({ url: `/admin/vector-storage/migrations/${id}?${qs}`, headers: admin })
  if (res.statusCode !== 200) throw new Error(`GET migration ${id}: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** Polls until the migration leaves `running` (or `until` says stop); returns its last view. */
export async function waitForMigration(
  app: FastifyInstance,
  id: number,
  timeoutMs = 60000,
  until?: (m: MigrationJson) => boolean
): Promise<MigrationJson> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const m = await getMigration(app, id)
    if (until !== undefined ? until(m) : m.status !== 'running') return m
    if (Date.now() > deadline)
      throw new Error(
        `migration ${id} still ${m.status} after ${timeoutMs} ms: ${JSON.stringify({ ...m, users: undefined })}`
      )
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** Every chunk of a user, in key order, through scan (what a migration reads). */
export async function scanUser(p: VectorProvider, userId: number, page = 97): Promise<ChunkRecord[]> {
  const out: ChunkRecord[] = []
  let after: { file_id: number; chunk_index: number } | null = null
  for (;;) {
    const batch = await p.scan(userId, after, page)
    out.push(...batch)
    if (batch.length < page) return out
    const last = batch[batch.length - 1]
    after = { file_id: last.file_id, chunk_index: last.chunk_index }
  }
}

export function unit(v: Vector): number[] {
  const norm = Math.hypot(...v)
  return Array.from(v, x => x / norm)
}

/**
 * Equal within single precision. Qdrant stores the vectors of a Cosine collection
 * normalised, so both sides are compared as unit vectors (the seeded ones are unit
 * vectors already, so this only absorbs float32 rounding).
 */
export function sameVector(a: Vector, b: Vector): boolean {
  const ua = unit(a)
  const ub = unit(b)
  return a.length === b.length && ua.every((x, i) => Math.abs(x - ub[i]) <= 2e-7 * 8)
}

/** A record without its vector, for deep comparison. */
export function withoutVector(r: ChunkRecord): Omit<ChunkRecord, 'vector'> {
  const { vector: _v, ...rest } = r
  return rest
}

/** Counts and distinct keys of one provider, over the given users. */
export async function keyStats(p: VectorProvider, users: number[]): Promise<{ count: number; distinct: number }> {
  let distinct = 0
  for (const u of users)
    distinct += new Set((await p.keys({ user_id: u })).map(k => `${k.file_id}:${k.chunk_index}`)).size
  return { count: await p.count(), distinct }
}
