// The heart of the gateway (docs/architecture.md#routing): writes go to each user's active provider,
// reads merge every provider that may hold the user's data, deletes and group
// changes reach every provider or answer 503. Routes call this; it calls the
// providers. No HTTP in here. Over 400 lines on purpose: the routing rules (writes,
// merged reads, delete-everywhere, stale-copy handling) are read together, in one
// file, when checking that no path writes to the wrong store or shows a stale copy.
import type { ChunkInput } from '../schemas/chunk.ts'
import type { ProviderCounts } from '../schemas/chunk.ts'
import type { StatsReply } from '../schemas/search.ts'
import { MAX_TEXT_BYTES } from '../limits.ts'
import { BadRequestError, PartialDeleteError, ProviderDownError, isProviderDown, providerDown } from '../errors.ts'
import {
  keyOf,
  pointId,
  type ChunkFilter,
  type ChunkRecord,
  type ChunkView,
  type KeyInfo,
  type ProviderName,
  type SearchHit,
  type SearchQuery,
  type VectorProvider,
  compareHits
} from '../providers/vector-provider.ts'
import { mergeByKey, type Sourced } from './chunk-merge.ts'
import type { PendingRemovalLog } from '../cleanup/pending-removals.ts'
import { NO_STALE_COPIES, StaleCopies } from '../cleanup/stale-copies.ts'
import { passThroughGuard, type MutationGuard } from './mutation-guard.ts'
import type { Logger } from '../observability/logger.ts'
import type { SettingsStore } from './settings-store.ts'
import { nextVersion } from './write-clock.ts'

export interface ApiChunk extends Omit<ChunkView, 'version'> {
  point_id: string
  provider: ProviderName
}

interface ApiSearchResult extends ApiChunk {
  score: number
}

interface SearchOutcome {
  results: ApiSearchResult[]
  providers_queried: ProviderName[]
  providers_unavailable: ProviderName[]
}

export interface VectorRouterOptions {
  /** The configured providers; mariadb is always one of them. */
  providers: Map<ProviderName, VectorProvider>
  settings: SettingsStore
  guard?: MutationGuard
  logger?: Pick<Logger, 'warn'>
  /**
   * Where removals of older copies that failed are recorded (MariaDB, src/cleanup).
   * Without it removals stay best effort and reads do not filter.
   */
  pendingRemovals?: PendingRemovalLog
}

export class VectorRouter {
  private readonly providers: Map<ProviderName, VectorProvider>
  private readonly settings: SettingsStore
  private readonly logger?: Pick<Logger, 'warn'>
  private readonly pendingRemovals?: PendingRemovalLog
  guard: MutationGuard

  constructor(options: VectorRouterOptions) {
    this.providers = options.providers
    this.settings = options.settings
    this.guard = options.guard ?? passThroughGuard
    this.logger = options.logger
    this.pendingRemovals = options.pendingRemovals
  }

  configured(): ProviderName[] {
    return [...this.providers.keys()]
  }

  provider(name: ProviderName): VectorProvider {
    const provider = this.providers.get(name)
    if (provider === undefined)
      throw new ProviderDownError(
        `Vector provider ${name} is active but not configured on this gateway (set QDRANT_URL)`
      )
    return provider
  }

  /** docs/architecture.md#writes: each user's chunks go to that user's active provider; replace clears the files everywhere first. */
  async store(inputs: ChunkInput[], replace = false): Promise<{ stored: number; providers: ProviderCounts }> {
    const records = dedupeByKey(inputs.map(toRecord))
    const userIds = [...new Set(records.map(r => r.user_id))]
    const targets = await this.targetsByProvider(records)
    return await this.guard.run(userIds, async () => {
      if (replace) await this.deleteEverywhere(filesOf(records))
      else await this.cleanupRecordableOrThrow(targets)
      const providers: ProviderCounts = {}
      await Promise.all(
        [...targets].map(async ([name, chunks]) => {
          providers[name] = await this.provider(name).upsert(chunks)
        })
      )
      if (!replace) await this.removeOlderCopies(targets)
      return { stored: records.length, providers }
    })
  }

  async search(query: SearchQuery): Promise<SearchOutcome> {
    const { active, targets } = await this.readTargets(query.user_id)
    const [stale, first] = await Promise.all([
      this.staleCopies(query.user_id, query.file_ids),
      Promise.allSettled(targets.map(async name => await this.provider(name).search(query)))
    ])
    // a provider holding stale copies is asked again for as many more candidates, so
    // `limit` fresh ones still come back once the stale ones are filtered out
    const settled =
      stale.size === 0
        ? first
        : await Promise.all(
            targets.map(async (name, i) => {
              const extra = stale.overfetch(name)
              if (extra === 0 || first[i].status === 'rejected') return first[i]
              const [again] = await Promise.allSettled([
                this.provider(name).search({ ...query, limit: query.limit + extra })
              ])
              return again
            })
          )
    const sources: Array<Sourced<SearchHit[]>> = []
    const unavailable: ProviderName[] = []
    settled.forEach((outcome, i) => {
      const name = targets[i]
      if (outcome.status === 'fulfilled') {
        sources.push({ provider: name, item: stale.fresh(name, outcome.value, chunkOf) })
      } else if (name === active || !isProviderDown(outcome.reason)) {
        throw outcome.reason
      } else {
        // An unreachable non-active provider must not take chat down: answer from the rest and say so.
        unavailable.push(name)
        this.logger?.warn({ provider: name, err: outcome.reason }, 'search skipped an unreachable provider')
      }
    })
    const results = mergeByKey(sources, active, chunkOf)
      .sort((a, b) => compareHits(a.item, b.item))
      .slice(0, query.limit)
      .map(({ provider, item }) => toApi(item.chunk, provider, item.score))
    return { results, providers_queried: sources.map(s => s.provider), providers_unavailable: unavailable }
  }

  /** One file's chunks, merged across providers, ordered by chunk_index. */
  async list(userId: number, fileId: number, withVectors: boolean): Promise<ApiChunk[]> {
    const { active, targets } = await this.readTargets(userId)
    const [stale, listed] = await Promise.all([
      this.staleCopies(userId, [fileId]),
      this.fromEach(targets, async p => await p.list(userId, fileId, withVectors))
    ])
    const sources = listed.map(s => ({ provider: s.provider, item: stale.fresh(s.provider, s.item) }))
    return mergeByKey(sources, active)
      .sort((a, b) => a.item.chunk_index - b.item.chunk_index)
      .map(({ provider, item }) => toApi(item, provider))
  }

  async stats(userId: number): Promise<StatsReply> {
    const { active, targets } = await this.readTargets(userId)
    const [stale, keyed] = await Promise.all([
      this.staleCopies(userId),
      this.fromEach(targets, async p => await p.keys({ user_id: userId }))
    ])
    const sources = keyed.map(s => ({ provider: s.provider, item: stale.fresh(s.provider, s.item) }))
    const merged = mergeByKey(sources, active).map(s => s.item)
    const chunksByGroup: Record<string, number> = {}
    for (const k of merged) chunksByGroup[k.group_key] = (chunksByGroup[k.group_key] ?? 0) + 1
    const providers: ProviderCounts = {}
    for (const s of sources) providers[s.provider] = s.item.length
    return {
      total_chunks: merged.length,
      total_files: new Set(merged.map(k => k.file_id)).size,
      total_groups: Object.keys(chunksByGroup).length,
      chunks_by_group: chunksByGroup,
      providers
    }
  }

  /** docs/architecture.md#deletes: a delete reaches every provider, or answers 503 having deleted nothing it cannot account for. */
  async delete(filter: ChunkFilter): Promise<{ deleted: number; providers: ProviderCounts }> {
    return await this.guard.run([filter.user_id], async () => await this.deleteEverywhere([filter]))
  }

  /** Changes a file's group key in every provider that holds it. */
  async updateGroupKey(
    userId: number,
    fileId: number,
    groupKey: string
  ): Promise<{ updated: number; providers: ProviderCounts }> {
    return await this.guard.run([userId], async () => {
      const names = await this.reachableOrThrow('update the group key')
      const before = await this.fromEach(names, async p => await p.keys({ user_id: userId, file_ids: [fileId] }))
      const providers = await this.applyEverywhere(
        names,
        async p => await p.updateGroupKey(userId, fileId, groupKey),
        'updated the group key'
      )
      return { updated: distinctKeys(before), providers }
    })
  }

  private async deleteEverywhere(filters: ChunkFilter[]): Promise<{ deleted: number; providers: ProviderCounts }> {
    const names = await this.reachableOrThrow('delete')
    const before = await this.fromEach(names, async p =>
      (await Promise.all(filters.map(async f => await p.keys(f)))).flat()
    )
    const providers = await this.applyEverywhere(
      names,
      async p => {
        let n = 0
        for (const f of filters) n += await p.delete(f)
        return n
      },
      'deleted'
    )
    return { deleted: distinctKeys(before), providers }
  }

  /** Checks every configured provider first so a delete never starts where it cannot finish. */
  private async reachableOrThrow(action: string): Promise<ProviderName[]> {
    const names = this.configured()
    const health = await Promise.all(names.map(async n => ({ n, h: await this.provider(n).health() })))
    const down = health.filter(x => x.h.status !== 'connected')
    if (down.length > 0) {
      // The answer names the providers; the driver detail goes to the log through `cause`.
      const detail = down.map(x => `${x.n}: ${x.h.error ?? 'disconnected'}`).join('; ')
      throw new ProviderDownError(
        `Cannot ${action}: vector provider ${down.map(x => x.n).join(', ')} is unreachable; nothing was changed, retry when it is back`,
        { cause: new Error(detail) }
      )
    }
    return names
  }

  /** Runs a change on every provider; if any fails, answers 503 saying what was done where. */
  private async applyEverywhere(
    names: ProviderName[],
    fn: (p: VectorProvider) => Promise<number>,
    verb: string
  ): Promise<ProviderCounts> {
    const settled = await Promise.allSettled(names.map(async n => await fn(this.provider(n))))
    const counts: ProviderCounts = {}
    const failed: string[] = []
    const reasons: unknown[] = []
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') counts[names[i]] = s.value
      else {
        failed.push(`${names[i]} failed`)
        reasons.push(s.reason)
      }
    })
    if (failed.length > 0) {
      const done =
        Object.entries(counts)
          .map(([n, c]) => `${verb} ${c} in ${n}`)
          .join(', ') || 'nothing changed'
      const err = new PartialDeleteError(
        `Incomplete: ${done}; ${failed.join(', ')}. Retry the request: it is idempotent`,
        { cause: new AggregateError(reasons, failed.join(', ')) }
      )
      // a provider busy with concurrent writes asks for a retry after a moment (Retry-After)
      const busy = settled.find(
        s => s.status === 'rejected' && (s.reason as { headers?: unknown }).headers !== undefined
      )
      throw busy === undefined ? err : Object.assign(err, { headers: (busy as PromiseRejectedResult).reason.headers })
    }
    return counts
  }

  /**
   * After a write, copies of the same keys in the other providers are stale: remove them
   * (only where older than this write) so a later switch or rollback cannot show old
   * content. A removal that fails is recorded in MariaDB before the write is answered,
   * retried in the background, and hidden from reads meanwhile; if it cannot be recorded
   * either, the write answers 503 (it landed; retrying it is idempotent).
   */
  private async removeOlderCopies(targets: Map<ProviderName, ChunkRecord[]>): Promise<void> {
    const failed: Array<{ provider: ProviderName; userId: number; chunks: ChunkRecord[]; err: unknown }> = []
    await Promise.all(
      this.configured().map(async other => {
        const stale = [...targets].filter(([name]) => name !== other).flatMap(([, chunks]) => chunks)
        for (const [userId, chunks] of groupBy(stale, c => c.user_id)) {
          await this.provider(other)
            .deleteOlderKeys(userId, chunks.map(versionedKey))
            .catch(err => {
              failed.push({ provider: other, userId, chunks, err })
            })
        }
      })
    )
    if (failed.length === 0) return
    const where = [...new Set(failed.map(f => `${f.provider} (${(f.err as Error).message})`))].join(', ')
    if (this.pendingRemovals === undefined) {
      this.logger?.warn({ failed: where }, 'could not remove older copies; merged reads prefer the newer version')
      return
    }
    try {
      for (const f of failed) await this.pendingRemovals.record(f.provider, f.userId, f.chunks.map(versionedKey))
    } catch (err) {
      throw new ProviderDownError(
        `The chunks were written to ${[...targets.keys()].join(', ')}, but their older copies in ${where} ` +
          `could neither be removed nor recorded for later removal (mariadb: ${(err as Error).message}); retry the request, it is idempotent`,
        { cause: err }
      )
    }
    this.logger?.warn(
      { failed: where, keys: failed.reduce((n, f) => n + f.chunks.length, 0) },
      'older copies recorded for removal in the background'
    )
  }

  /**
   * Failed removals are recorded in MariaDB; when MariaDB itself is where older copies
   * must be removed and it is unreachable, neither can happen: refuse before writing.
   */
  private async cleanupRecordableOrThrow(targets: Map<ProviderName, ChunkRecord[]>): Promise<void> {
    if (this.pendingRemovals === undefined || this.configured().length < 2) return
    const elsewhere = [...targets.keys()].filter(n => n !== 'mariadb')
    if (elsewhere.length === 0) return
    const health = await this.provider('mariadb').health()
    if (health.status !== 'connected') {
      throw new ProviderDownError(
        `Cannot write to ${elsewhere.join(', ')}: mariadb is unreachable (${health.error ?? 'disconnected'}), ` +
          'so older copies of these chunks in it could neither be removed nor recorded for removal; nothing was written, retry when it is back'
      )
    }
  }

  /** Pending removals of this user's copies (see src/cleanup); a read cannot be trusted without them. */
  private async staleCopies(userId: number, fileIds?: number[]): Promise<StaleCopies> {
    if (this.pendingRemovals === undefined || this.configured().length < 2) return NO_STALE_COPIES
    try {
      return new StaleCopies(await this.pendingRemovals.forUser(userId, fileIds))
    } catch (err) {
      throw new ProviderDownError(
        `Cannot check for stale copies pending removal: mariadb is unavailable (${(err as Error).message})`,
        { cause: err }
      )
    }
  }

  private async targetsByProvider(records: ChunkRecord[]): Promise<Map<ProviderName, ChunkRecord[]>> {
    const targets = new Map<ProviderName, ChunkRecord[]>()
    for (const [userId, chunks] of groupBy(records, r => r.user_id)) {
      const { provider } = await this.settings.resolve(userId)
      this.provider(provider)
      targets.set(provider, [...(targets.get(provider) ?? []), ...chunks])
    }
    return targets
  }

  private async readTargets(userId: number): Promise<{ active: ProviderName; targets: ProviderName[] }> {
    const [{ provider: active }, snapshot] = await Promise.all([
      this.settings.resolve(userId),
      this.settings.snapshot()
    ])
    this.provider(active)
    const targets = snapshot.readMode === 'active' ? [active] : [active, ...this.configured().filter(n => n !== active)]
    return { active, targets }
  }

  /** Runs a read on each provider; any failure is a 503 naming the provider (lists and stats must be complete). */
  private async fromEach<T>(names: ProviderName[], fn: (p: VectorProvider) => Promise<T>): Promise<Array<Sourced<T>>> {
    return await Promise.all(
      names.map(async name => {
        try {
          return { provider: name, item: await fn(this.provider(name)) }
        } catch (err) {
          throw isProviderDown(err) ? err : providerDown(name, err)
        }
      })
    )
  }
}

// String.prototype.isWellFormed is ES2024 (Node >= 20); the project's ES2022 lib does not type it.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed: () => boolean }).isWellFormed()

function toRecord(c: ChunkInput): ChunkRecord {
  // MariaDB would store a lone surrogate as U+FFFD while Qdrant keeps it: refuse it so both hold the same text.
  if (!isWellFormed(c.text)) {
    throw new BadRequestError(
      `chunk ${c.user_id}/${c.file_id}/${c.chunk_index}: text is not well-formed Unicode (it holds a lone surrogate, e.g. \\ud800 without its pair); send valid text`
    )
  }
  const bytes = Buffer.byteLength(c.text, 'utf8')
  if (bytes > MAX_TEXT_BYTES) {
    throw new BadRequestError(
      `chunk ${c.user_id}/${c.file_id}/${c.chunk_index}: text is ${bytes} bytes of UTF-8, at most ${MAX_TEXT_BYTES} allowed; split it`
    )
  }
  if (c.start_line > c.end_line) {
    throw new BadRequestError(
      `chunk ${c.user_id}/${c.file_id}/${c.chunk_index}: start_line (${c.start_line}) must not be greater than end_line (${c.end_line})`
    )
  }
  return {
    ...c,
    group_key: c.group_key ?? 'DEFAULT',
    file_type: c.file_type ?? 0,
    created: c.created ?? Math.floor(Date.now() / 1000),
    version: nextVersion()
  }
}

/** A batch naming one key twice keeps the last occurrence, as a sequence of writes would. */
function dedupeByKey(records: ChunkRecord[]): ChunkRecord[] {
  const byKey = new Map<string, ChunkRecord>()
  for (const r of records) byKey.set(`${r.user_id}:${keyOf(r)}`, r)
  return [...byKey.values()]
}

function versionedKey(c: ChunkRecord): { file_id: number; chunk_index: number; version: number } {
  return { file_id: c.file_id, chunk_index: c.chunk_index, version: c.version }
}

function filesOf(records: ChunkRecord[]): ChunkFilter[] {
  return [...groupBy(records, r => r.user_id)].map(([userId, chunks]) => ({
    user_id: userId,
    file_ids: [...new Set(chunks.map(c => c.file_id))]
  }))
}

function distinctKeys(sources: Array<Sourced<KeyInfo[]>>): number {
  return new Set(sources.flatMap(s => s.item.map(keyOf))).size
}

/**
 * The chunk as answers carry it: its fields without `version`, plus where it lives (and
 * its score in a search). Built field by field: rest-and-spread copying cost more than
 * the rest of a search's routing.
 */
function toApi(item: ChunkView, provider: ProviderName): ApiChunk
function toApi(item: ChunkView, provider: ProviderName, score: number): ApiSearchResult
function toApi(item: ChunkView, provider: ProviderName, score?: number): ApiChunk & { score?: number } {
  const out: ApiChunk & { score?: number } = {
    point_id: pointId(item),
    provider,
    user_id: item.user_id,
    file_id: item.file_id,
    chunk_index: item.chunk_index,
    group_key: item.group_key,
    file_type: item.file_type,
    start_line: item.start_line,
    end_line: item.end_line,
    text: item.text,
    created: item.created
  }
  if (item.vector !== undefined) out.vector = item.vector
  if (score !== undefined) out.score = score
  return out
}

/** Which stored copy a search hit is, for merging and stale-copy checks without copying the hit. */
function chunkOf(hit: SearchHit): ChunkView {
  return hit.chunk
}

function groupBy<T, K>(items: T[], keyFn: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>()
  for (const item of items) {
    const key = keyFn(item)
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [item])
    else group.push(item)
  }
  return groups
}
