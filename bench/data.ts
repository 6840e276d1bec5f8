// Deterministic benchmark data: a seeded RNG, clustered vectors and the BRAG-like
// tenant layout of docs/environment.md#benchmark-data (one big user, thirty small ones, rows of the
// tenants interleaved).
//
// Vectors are a mixture of Gaussians with a low intrinsic dimension, like real
// embeddings: each file's chunks come from one topic (cluster); a point is the
// topic's centre plus a Gaussian in a few topic-specific directions plus a little
// isotropic noise, normalised. Nearest neighbours are then meaningful (an HNSW
// index reaches a high recall), unlike uniformly random vectors (HNSW's worst
// case, R@10 0.1-0.2 measured here).
import type { ChunkRecord } from '../src/providers/vector-provider.ts'

/** sfc32 seeded through splitmix32: fast, 32-bit, deterministic. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number
  private spare: number | null = null

  constructor(...seeds: number[]) {
    let h = 0x9e3779b9
    for (const s of seeds) h = splitmix32(h ^ Math.imul(s | 0, 0x85ebca6b) ^ Math.floor(s / 0x100000000))
    this.a = splitmix32(h + 1)
    this.b = splitmix32(h + 2)
    this.c = splitmix32(h + 3)
    this.d = splitmix32(h + 4)
    for (let i = 0; i < 12; i++) this.nextU32()
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** uniform in [0, 1) */
  next(): number {
    return this.nextU32() / 4294967296
  }

  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** standard normal (Box-Muller, caching the second value) */
  gaussian(): number {
    if (this.spare !== null) {
      const s = this.spare
      this.spare = null
      return s
    }
    let u = 0
    while (u === 0) u = this.next()
    const v = this.next()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
}

function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

function normalise(v: Float32Array): Float32Array {
  let n = 0
  for (let i = 0; i < v.length; i++) n += v[i] * v[i]
  n = Math.sqrt(n)
  for (let i = 0; i < v.length; i++) v[i] /= n
  return v
}

function randomUnit(rng: Rng, dimension: number): Float32Array {
  const v = new Float32Array(dimension)
  for (let i = 0; i < dimension; i++) v[i] = rng.gaussian()
  return normalise(v)
}

/** Where the vectors of a layout come from: `sample(topic, rng)` gives one unit vector. */
export interface VectorModel {
  readonly dimension: number
  readonly clusters: number
  sample(cluster: number, rng: Rng): Float32Array
}

/**
 * Unclustered data: uniformly random unit vectors, whatever the topic. HNSW's
 * worst case (an unfiltered walk of ef 10,000 reached recall@10 0.95 on 20,000
 * such 1024-d rows here), and the shape that exposes post-filtered walks.
 */
export class UniformModel implements VectorModel {
  readonly clusters = 1
  constructor(readonly dimension: number) {}

  sample(_cluster: number, rng: Rng): Float32Array {
    return randomUnit(rng, this.dimension)
  }
}

export interface ClusterModelOptions {
  dimension: number
  clusters?: number
  /** directions of variation within a topic */
  intrinsic?: number
  /** standard deviation along each of those directions (the centre has norm 1) */
  spread?: number
  /** norm of the isotropic noise */
  noise?: number
}

export class ClusterModel implements VectorModel {
  readonly dimension: number
  readonly clusters: number
  private readonly centres: Float32Array[]
  private readonly bases: Float32Array[][]
  private readonly spread: number
  private readonly noisePerDim: number

  constructor(seed: number, options: ClusterModelOptions) {
    const rng = new Rng(seed, 0xc1a55)
    this.dimension = options.dimension
    this.clusters = options.clusters ?? 64
    const intrinsic = options.intrinsic ?? 8
    this.spread = options.spread ?? 0.35
    this.noisePerDim = (options.noise ?? 0.15) / Math.sqrt(this.dimension)
    this.centres = []
    this.bases = []
    for (let c = 0; c < this.clusters; c++) {
      this.centres.push(randomUnit(rng, this.dimension))
      const basis: Float32Array[] = []
      for (let j = 0; j < intrinsic; j++) basis.push(randomUnit(rng, this.dimension))
      this.bases.push(basis)
    }
  }

  /** One unit vector of topic `cluster`. */
  sample(cluster: number, rng: Rng): Float32Array {
    const c = ((cluster % this.clusters) + this.clusters) % this.clusters
    const v = Float32Array.from(this.centres[c])
    for (const b of this.bases[c]) {
      const z = rng.gaussian() * this.spread
      for (let i = 0; i < v.length; i++) v[i] += z * b[i]
    }
    for (let i = 0; i < v.length; i++) v[i] += rng.gaussian() * this.noisePerDim
    return normalise(v)
  }
}

/** The numbers a JSON client would send: 7 significant digits (~10 bytes each in JSON). */
export function jsonVector(v: Float32Array): number[] {
  const out = new Array<number>(v.length)
  for (let i = 0; i < v.length; i++) out[i] = Number(v[i].toPrecision(7))
  return out
}

/** Little-endian float32 bytes, as MariaDB stores a VECTOR value. */
export function vectorBytes(v: ArrayLike<number>): Buffer {
  return Buffer.from(Float32Array.from(v).buffer)
}

// ------------------------------------------------------------------ rows

/** A chunk as the benchmark generates it: the stored fields but no write version yet, the vector as float32. */
export type BenchChunk = Omit<ChunkRecord, 'vector' | 'vectorF32' | 'version'> & { vector: Float32Array }

export interface TenantLayout {
  /** [userId, rows] in the order of the layout */
  users: Array<{ userId: number; rows: number }>
  chunksPerFile: number
  groups: number
}

export const LARGE_USER = 1
export const SMALL_USER_BASE = 1001
export const CHUNKS_PER_FILE = 20
export const GROUPS = 10
/** BCREATED of every generated row */
const CREATED = 1_760_000_000

/** the shape of docs/environment.md#benchmark-data: one user of `large` rows and `smallUsers` users of `small` rows. */
export function searchLayout(large: number, smallUsers: number, small: number): TenantLayout {
  const users = [{ userId: LARGE_USER, rows: large }]
  for (let i = 0; i < smallUsers; i++) users.push({ userId: SMALL_USER_BASE + i, rows: small })
  return { users, chunksPerFile: CHUNKS_PER_FILE, groups: GROUPS }
}

/** `count` users of `rows` rows each, ids from `firstUserId`. */
export function uniformLayout(firstUserId: number, count: number, rows: number): TenantLayout {
  return {
    users: Array.from({ length: count }, (_, i) => ({ userId: firstUserId + i, rows })),
    chunksPerFile: CHUNKS_PER_FILE,
    groups: GROUPS
  }
}

export function totalRows(layout: TenantLayout): number {
  return layout.users.reduce((s, u) => s + u.rows, 0)
}

export function groupKeyOf(fileId: number, groups = GROUPS): string {
  return `G${fileId % groups}`
}

export function clusterOf(model: VectorModel, userId: number, fileId: number): number {
  return new Rng(userId, fileId, 0xf11e).int(model.clusters)
}

const WORDS = (
  'the gateway stores vector chunks of documents for retrieval augmented generation while mariadb ' +
  'and qdrant keep embeddings searchable by cosine similarity across tenants files groups and migrations ' +
  'without downtime or loss so that operators can switch providers roll back and clean up safely'
).split(' ')

function text(rng: Rng, userId: number, fileId: number, chunkIndex: number): string {
  const words: string[] = [`user ${userId} file ${fileId} chunk ${chunkIndex}:`]
  for (let i = 0; i < 60; i++) words.push(WORDS[rng.int(WORDS.length)])
  return words.join(' ')
}

/**
 * Every row of a layout, tenants interleaved in proportion to their size (the
 * rows of a user are spread evenly over the table, as an application writing
 * for many users at once leaves them). Deterministic for a seed.
 */
export function* layoutRows(layout: TenantLayout, model: VectorModel, seed: number): Generator<BenchChunk> {
  const total = totalRows(layout)
  const written = layout.users.map(() => 0)
  // smooth weighted round robin: each step, the user furthest behind its share writes next
  const credit = layout.users.map(() => 0)
  for (let n = 0; n < total; n++) {
    let best = -1
    for (let u = 0; u < layout.users.length; u++) {
      if (written[u] >= layout.users[u].rows) continue
      credit[u] += layout.users[u].rows
      if (best === -1 || credit[u] > credit[best]) best = u
    }
    credit[best] -= total
    const { userId } = layout.users[best]
    const k = written[best]++
    yield makeChunk(model, seed, userId, k, layout.chunksPerFile, layout.groups)
  }
}

/** The k-th chunk of a user (files of `chunksPerFile` chunks, file ids from 1). */
export function makeChunk(
  model: VectorModel,
  seed: number,
  userId: number,
  k: number,
  chunksPerFile = CHUNKS_PER_FILE,
  groups = GROUPS
): BenchChunk {
  const fileId = Math.floor(k / chunksPerFile) + 1
  const chunkIndex = k % chunksPerFile
  const rng = new Rng(seed, userId, k)
  return {
    user_id: userId,
    file_id: fileId,
    chunk_index: chunkIndex,
    group_key: groupKeyOf(fileId, groups),
    file_type: 0,
    start_line: chunkIndex * 40,
    end_line: chunkIndex * 40 + 39,
    text: text(rng, userId, fileId, chunkIndex),
    vector: model.sample(clusterOf(model, userId, fileId), rng),
    created: CREATED
  }
}

/** `n` query vectors, each near a random topic, as the numbers a client would send. */
export function queryVectors(model: VectorModel, seed: number, n: number): number[][] {
  const rng = new Rng(seed, 0x9e7)
  return Array.from({ length: n }, () => jsonVector(model.sample(rng.int(model.clusters), rng)))
}

/** The JSON body of POST /chunks for these chunks. */
export function chunksBody(chunks: BenchChunk[]): string {
  return JSON.stringify({ chunks: chunks.map(c => ({ ...c, vector: jsonVector(c.vector) })) })
}
