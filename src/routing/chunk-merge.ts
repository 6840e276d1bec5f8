// Merging what several providers hold for one user: one entry per chunk key, the
// newest write wins, ties go to the active provider (docs/architecture.md#merged-reads).
import { keyOf, type ProviderName, type VersionedKey } from '../providers/vector-provider.ts'

export interface Sourced<T> {
  provider: ProviderName
  item: T
}

export function mergeByKey<T extends VersionedKey>(
  sources: Array<Sourced<T[]>>,
  active: ProviderName
): Array<Sourced<T>>
/** `copyOf` says which copy an item is (a search hit wraps its chunk), so items need not be copied to merge. */
export function mergeByKey<T>(
  sources: Array<Sourced<T[]>>,
  active: ProviderName,
  copyOf: (item: T) => VersionedKey
): Array<Sourced<T>>
export function mergeByKey<T>(
  sources: Array<Sourced<T[]>>,
  active: ProviderName,
  copyOf: (item: T) => VersionedKey = item => item as VersionedKey
): Array<Sourced<T>> {
  const best = new Map<string, Sourced<T> & { copy: VersionedKey }>()
  for (const { provider, item: items } of sources) {
    for (const item of items) {
      const copy = copyOf(item)
      const key = keyOf(copy)
      const current = best.get(key)
      if (current === undefined || isNewer(copy, provider, current, active)) best.set(key, { provider, item, copy })
    }
  }
  return [...best.values()]
}

function isNewer(
  copy: VersionedKey,
  provider: ProviderName,
  current: { provider: ProviderName; copy: VersionedKey },
  active: ProviderName
): boolean {
  if (copy.version !== current.copy.version) return copy.version > current.copy.version
  return provider === active && current.provider !== active
}
