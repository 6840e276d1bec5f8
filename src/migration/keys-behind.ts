// Which of a user's source keys the target lacks or holds in an older version: what
// a migration's verification copies again, and what keeps archiving refused.
import { keyOf, type KeyInfo } from '../providers/vector-provider.ts'

/** The source keys the target is behind on, by `keyOf`, with the source's version. */
export function keysBehind(sourceKeys: KeyInfo[], targetKeys: KeyInfo[]): Map<string, KeyInfo> {
  const targetVersions = new Map(targetKeys.map(k => [keyOf(k), k.version]))
  const behind = new Map<string, KeyInfo>()
  for (const k of sourceKeys) {
    const v = targetVersions.get(keyOf(k))
    if (v === undefined || v < k.version) behind.set(keyOf(k), k)
  }
  return behind
}
