// Hides stale copies from merged reads while their removal is pending: a copy
// from provider P is stale when a pending removal for (P, key) carries a newer
// version than the copy's own (docs/architecture.md#pending-removals).
import { keyOf, type ChunkKey, type ProviderName, type VersionedKey } from '../providers/vector-provider.ts'
import type { PendingRemoval } from './pending-removals.ts'

/** Extra candidates asked of a provider per pending removal, at most this many in all. */
const MAX_OVERFETCH = 1000

export class StaleCopies {
  private readonly newer = new Map<string, number>()
  private readonly perProvider = new Map<ProviderName, number>()

  constructor(rows: PendingRemoval[]) {
    for (const r of rows) {
      const id = idOf(r.provider, r)
      this.newer.set(id, Math.max(this.newer.get(id) ?? 0, r.version))
      this.perProvider.set(r.provider, (this.perProvider.get(r.provider) ?? 0) + 1)
    }
  }

  get size(): number {
    return this.newer.size
  }

  /** How many of this provider's copies may be stale: the over-fetch a search needs there (bounded). */
  overfetch(provider: ProviderName): number {
    return Math.min(this.perProvider.get(provider) ?? 0, MAX_OVERFETCH)
  }

  isStale(provider: ProviderName, copy: VersionedKey): boolean {
    const newer = this.newer.get(idOf(provider, copy))
    return newer !== undefined && copy.version < newer
  }

  /** The copies of `items` (all from `provider`) that are not stale. */
  fresh<T extends VersionedKey>(provider: ProviderName, items: T[]): T[]
  /** `copyOf` says which copy an item is (a search hit wraps its chunk). */
  fresh<T>(provider: ProviderName, items: T[], copyOf: (item: T) => VersionedKey): T[]
  fresh<T>(provider: ProviderName, items: T[], copyOf: (item: T) => VersionedKey = i => i as VersionedKey): T[] {
    return this.newer.size === 0 ? items : items.filter(i => !this.isStale(provider, copyOf(i)))
  }
}

export const NO_STALE_COPIES = new StaleCopies([])

function idOf(provider: ProviderName, k: ChunkKey): string {
  return `${provider}:${keyOf(k)}`
}
