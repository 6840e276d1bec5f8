// Merging what several providers hold for one user: one entry per chunk key, the
// newest write wins, ties go to the active provider (docs/architecture.md#merged-reads).
import { keyOf, type ChunkKey, type ProviderName } from '../providers/vector-provider.ts'

export interface Sourced<T> {
  provider: ProviderName
  item: T
}

export function mergeByKey<T extends ChunkKey & { version: number }>(
  sources: Array<Sourced<T[]>>,
  active: ProviderName
): Array<Sourced<T>> {
  const best = new Map<string, Sourced<T>>()
  for (const { provider, item: items } of sources) {
    for (const item of items) {
      const key = keyOf(item)
      const current = best.get(key)
      if (current === undefined || isNewer(item, provider, current, active)) best.set(key, { provider, item })
    }
  }
  return [...best.values()]
}

function isNewer<T extends { version: number }>(
  item: T,
  provider: ProviderName,
  current: Sourced<T>,
  active: ProviderName
): boolean {
  if (item.version !== current.item.version) return item.version > current.item.version
  return provider === active && current.provider !== active
}
