// POST /admin/vector-storage/archive (docs/architecture.md#archive): once everything lives in Qdrant,
// set the MariaDB table aside as BRAG_archived_YYYYMMDD (then _2, _3, ...) and
// put an empty table of the same definition in its place.
//
// Refused (409 VG_ARCHIVE_REFUSED) unless, checked now:
// - qdrant is the active provider and no user override pins a user to mariadb;
// - no migration is running or paused;
// - the last completed mariadb -> qdrant migration verified every user that holds
//   data in MariaDB now;
// - and, for each of those users, every MariaDB key is in Qdrant in a version at
//   least as new (catches writes that reached MariaDB after that migration);
// - no removal of an older copy is pending (src/cleanup) for any user.
// `force` skips the coverage rules, never the running-migration check.
//
// The swap is one atomic RENAME TABLE of the live table and a fresh copy of its
// definition (CREATE TABLE ... LIKE), so MariaDB never lacks the table; then the
// provider's init() runs to make sure the new table is what it expects.
import type { Pool } from 'mariadb'
import { ArchiveRefusedError } from '../errors.ts'
import type { ProviderName, VectorProvider } from '../providers/vector-provider.ts'
import type { SettingsStore } from '../routing/settings-store.ts'
import { keysBehind } from './keys-behind.ts'
import type { MigrationStore } from './migration-store.ts'

export interface ArchiveDeps {
  pool: Pool
  table: string
  store: MigrationStore
  settings: SettingsStore
  providers: Map<ProviderName, VectorProvider>
  /** removals of older copies not done yet (src/cleanup) */
  pendingRemovals?: { users(limit?: number): Promise<number[]> }
}

export interface ArchiveResult {
  archived_table: string
  table: string
  archived_chunks: number
  forced: boolean
  archived_at: string
}

const MAX_LISTED = 10

/** Why archiving is not safe now; empty when it is. */
async function archiveRefusals(deps: ArchiveDeps, force: boolean): Promise<string[]> {
  const { store, settings, providers } = deps
  const reasons: string[] = []
  const running = await store.occupying()
  if (running !== null) reasons.push(`migration ${running.id} is ${running.status}: wait for it or cancel it`)
  if (force) return reasons

  settings.invalidate()
  const snapshot = await settings.snapshot()
  if (snapshot.provider !== 'qdrant')
    reasons.push(`the active provider is ${snapshot.provider}: switch to qdrant first`)
  const pinned = [...snapshot.overrides].filter(([, p]) => p === 'mariadb').map(([u]) => u)
  if (pinned.length > 0)
    reasons.push(`${pinned.length} user(s) are pinned to mariadb (${list(pinned)}): remove their overrides first`)
  const pendingUsers = (await deps.pendingRemovals?.users(MAX_LISTED + 1)) ?? []
  if (pendingUsers.length > 0) {
    reasons.push(
      `removals of older copies are pending for user(s) ${list(pendingUsers)}: ` +
        'their data is not verified until the background retrier has removed them (see pending_removals in the status)'
    )
  }
  const mariadb = providers.get('mariadb')
  const qdrant = providers.get('qdrant')
  if (mariadb === undefined || qdrant === undefined) {
    reasons.push('qdrant is not configured on this gateway')
    return reasons
  }
  const users = await mariadb.users()
  const last = await store.lastCompleted('mariadb', 'qdrant')
  if (last === null) {
    if (users.length > 0)
      reasons.push(`no mariadb -> qdrant migration has completed, and ${users.length} user(s) hold data in MariaDB`)
    return reasons
  }
  const verified = await store.completedUsers(last.id)
  const uncovered = users.filter(u => !verified.has(u))
  if (uncovered.length > 0) {
    reasons.push(
      `the last completed mariadb -> qdrant migration (${last.id}) did not verify ${uncovered.length} user(s) holding data in MariaDB (${list(uncovered)}): migrate them first`
    )
  }
  const behind: string[] = []
  for (const userId of users.filter(u => verified.has(u))) {
    const inQdrant = await qdrant.keys({ user_id: userId })
    const missing = keysBehind(await mariadb.keys({ user_id: userId }), inQdrant).size
    if (missing > 0) behind.push(`user ${userId}: ${missing}`)
  }
  if (behind.length > 0) {
    reasons.push(
      `MariaDB holds chunks that Qdrant lacks or holds in an older version (${list(behind)}), written after migration ${last.id}: run another migration`
    )
  }
  return reasons
}

export async function archiveTable(deps: ArchiveDeps, force: boolean): Promise<ArchiveResult> {
  const reasons = await archiveRefusals(deps, force)
  if (reasons.length > 0)
    throw new ArchiveRefusedError(
      `Archiving ${deps.table} refused: ${reasons.join('; ')}${force ? '' : ' (force: true skips the coverage checks)'}`
    )
  const { pool, table } = deps
  const mariadb = deps.providers.get('mariadb')
  const archivedChunks = mariadb === undefined ? 0 : await mariadb.count()
  const now = new Date()
  const conn = await pool.getConnection()
  let archived: string
  try {
    const base = `${table}_archived_${now.toISOString().slice(0, 10).replace(/-/g, '')}`
    const taken = new Set(
      (
        (await conn.query(
          'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?',
          [`${base.replace(/_/g, '\\_')}%`]
        )) as Array<{ name: string }>
      ).map(r => r.name.toLowerCase())
    )
    archived = base
    for (let n = 2; taken.has(archived.toLowerCase()); n++) archived = `${base}_${n}`
    const fresh = `${table}_new_${Math.random().toString(36).slice(2, 8)}`
    await conn.query(`CREATE TABLE \`${fresh}\` LIKE \`${table}\``)
    try {
      await conn.query(`RENAME TABLE \`${table}\` TO \`${archived}\`, \`${fresh}\` TO \`${table}\``)
    } catch (err) {
      await conn.query(`DROP TABLE IF EXISTS \`${fresh}\``).catch(() => {})
      throw err
    }
  } finally {
    await conn.release()
  }
  await mariadb?.init()
  return {
    archived_table: archived,
    table,
    archived_chunks: archivedChunks,
    forced: force,
    archived_at: now.toISOString()
  }
}

function list(items: Array<string | number>): string {
  const shown = items.slice(0, MAX_LISTED).join(', ')
  return items.length > MAX_LISTED ? `${shown}, ...` : shown
}
