// Write versions: microseconds since the epoch, strictly increasing within a
// process, so two writes of a key made in the same millisecond still order
// correctly. Replicas are ordered by their clocks (keep them NTP-synced).
let last = 0

export function nextVersion(): number {
  const now = Math.floor((performance.timeOrigin + performance.now()) * 1000)
  last = now > last ? now : last + 1
  return last
}

/** The version reported for rows written without one (by the application itself). */
export function legacyVersion(createdSeconds: number): number {
  return createdSeconds * 1_000_000
}
