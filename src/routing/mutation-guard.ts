// Serialises a user's writes and deletes with a migration's batch copy, so a
// backfill can never undo a live change (docs/architecture.md#migration-live-traffic). Without a running migration
// the guard is a pass-through.
export interface MutationGuard {
  run<T>(userIds: number[], fn: () => Promise<T>): Promise<T>
}

export const passThroughGuard: MutationGuard = {
  async run(_userIds, fn) {
    return await fn()
  }
}
