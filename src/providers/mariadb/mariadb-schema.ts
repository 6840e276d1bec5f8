// The BRAG table: checked, created when missing and upgraded at start.
//
// The table belongs to the application first. The gateway creates it exactly as
// the application does when it is missing, then adds only what keyed upserts
// need, as numbered, idempotent steps recorded in vg_schema_migrations under the
// scope `brag:<table>`:
//   BCHUNK   INT NULL     the chunk index of rows the gateway writes (NULL for the application's rows)
//   BVERSION BIGINT NULL  the write version (µs, see write-clock.ts; NULL for the application's rows)
//   UNIQUE (BUID, BMID, BCHUNK)  the chunk key; NULLs may repeat, so the application's rows fit
//   KEY (BUID, BGROUPKEY)        group-filtered searches and deletes of one user
// Every ALTER is tried online first (INSTANT / INPLACE with LOCK=NONE, then
// COPY with LOCK=NONE, which MariaDB >= 11.2 runs online too and which a table
// with a VECTOR index needs) and only then without constraints.
// Add a step; never edit one that has shipped.
import type { Pool, PoolConnection } from 'mariadb'
import { IncompatibleStoreError } from '../../errors.ts'
import { withNamedLock } from '../../store/named-lock.ts'
import { applySchemaSteps, type SchemaStep } from '../../store/schema-migrations.ts'
import { errnoOf, translateError } from './mariadb-errors.ts'

/** Our own indexes: the exact search plan names them in FORCE INDEX. */
export const KEY_INDEX = 'vg_user_file_chunk'
export const GROUP_INDEX = 'vg_user_group'
/** The name createVectorIndex gives the cosine VECTOR index. */
export const VECTOR_INDEX = 'vg_embed_cosine'

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

export function quoteTable(table: string): string {
  if (!TABLE_NAME.test(table)) throw new Error(`invalid table name ${JSON.stringify(table)}`)
  return `\`${table}\``
}

export function schemaScope(table: string): string {
  return `brag:${table}`
}

type Conn = Pick<PoolConnection, 'query'>

/** The application's own definition of the table (docs/architecture.md#brag-table), with our VECTOR size. */
export function createTableSql(table: string, dimension: number): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(table)} (
  BID BIGINT NOT NULL AUTO_INCREMENT,
  BUID BIGINT NOT NULL,
  BMID BIGINT NOT NULL,
  BGROUPKEY VARCHAR(64) NOT NULL,
  BTYPE INT NOT NULL,
  BSTART INT NOT NULL,
  BEND INT NOT NULL,
  BTEXT LONGTEXT NOT NULL,
  BEMBED VECTOR(${dimension}) NOT NULL,
  BCREATED BIGINT NOT NULL,
  PRIMARY KEY (BID),
  KEY BUID (BUID),
  KEY BMID (BMID),
  KEY BGROUPKEY (BGROUPKEY),
  KEY BTYPE (BTYPE)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`
}

const ALTER_NOT_SUPPORTED = new Set([
  1845, // ER_ALTER_OPERATION_NOT_SUPPORTED
  1846 // ER_ALTER_OPERATION_NOT_SUPPORTED_REASON
])

/**
 * ALTER TABLE with the least locking the server accepts for `clause`: each of
 * `algorithms` in turn (with LOCK=NONE unless INSTANT), then unconstrained.
 * Returns the variant that ran.
 */
export async function alterOnline(
  conn: Conn,
  table: string,
  clause: string,
  algorithms: Array<'INSTANT' | 'INPLACE' | 'COPY'> = ['INPLACE', 'COPY']
): Promise<string> {
  const variants = [...algorithms.map(a => (a === 'INSTANT' ? 'ALGORITHM=INSTANT' : `ALGORITHM=${a}, LOCK=NONE`)), '']
  let lastError: unknown
  for (const variant of variants) {
    try {
      await conn.query(`ALTER TABLE ${quoteTable(table)} ${clause}${variant === '' ? '' : ', ' + variant}`)
      return variant === '' ? 'default' : variant
    } catch (err) {
      if (!ALTER_NOT_SUPPORTED.has(errnoOf(err) ?? 0)) throw err
      lastError = err
    }
  }
  throw lastError
}

export interface ColumnInfo {
  name: string
  type: string
}
export interface IndexInfo {
  name: string
  columns: string[]
  unique: boolean
  type: string
}

export async function tableColumns(conn: Conn, table: string): Promise<ColumnInfo[]> {
  const rows: Array<{ name: string; type: string }> = await conn.query(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [table]
  )
  return rows.map(r => ({ name: String(r.name), type: String(r.type).toLowerCase() }))
}

export async function tableIndexes(conn: Conn, table: string): Promise<IndexInfo[]> {
  const rows: Array<{ name: string; col: string; nonUnique: number; type: string }> = await conn.query(
    `SELECT INDEX_NAME AS name, COLUMN_NAME AS col, NON_UNIQUE AS nonUnique, INDEX_TYPE AS type
     FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [table]
  )
  const byName = new Map<string, IndexInfo>()
  for (const r of rows) {
    const name = String(r.name)
    let info = byName.get(name)
    if (info === undefined) {
      info = { name, columns: [], unique: Number(r.nonUnique) === 0, type: String(r.type).toUpperCase() }
      byName.set(name, info)
    }
    info.columns.push(String(r.col))
  }
  return [...byName.values()]
}

/** The N of a `vector(N)` column type, or undefined for anything else. */
export function vectorDimension(columnType: string): number | undefined {
  const m = /^vector\((\d+)\)$/i.exec(columnType.trim())
  return m === null ? undefined : Number(m[1])
}

const REQUIRED_APP_COLUMNS = [
  'BID',
  'BUID',
  'BMID',
  'BGROUPKEY',
  'BTYPE',
  'BSTART',
  'BEND',
  'BTEXT',
  'BEMBED',
  'BCREATED'
]

/**
 * Refuses an existing table the gateway cannot use: missing BRAG columns, or a
 * BEMBED that is not VECTOR(dimension). A missing table is fine (it is created).
 */
export function checkExistingTable(table: string, columns: ColumnInfo[], dimension: number): void {
  if (columns.length === 0) return
  const names = new Set(columns.map(c => c.name.toUpperCase()))
  const missing = REQUIRED_APP_COLUMNS.filter(c => !names.has(c))
  if (missing.length > 0) {
    throw new IncompatibleStoreError(
      `MariaDB table ${table} exists but is not a BRAG table: it lacks the column(s) ${missing.join(', ')}. ` +
        'Point MARIADB_TABLE at the BRAG table or at a name that does not exist yet.'
    )
  }
  const embed = columns.find(c => c.name.toUpperCase() === 'BEMBED')!
  const found = vectorDimension(embed.type)
  if (found === undefined) {
    throw new IncompatibleStoreError(
      `MariaDB table ${table} has BEMBED of type ${embed.type}, not VECTOR(${dimension}): the gateway needs a VECTOR column.`
    )
  }
  if (found !== dimension) {
    throw new IncompatibleStoreError(
      `MariaDB table ${table} stores vectors of dimension ${found} (BEMBED ${embed.type}) but VECTOR_DIMENSION is ${dimension}: ` +
        `set VECTOR_DIMENSION=${found} or use another MARIADB_TABLE.`
    )
  }
}

async function hasIndex(conn: Conn, table: string, name: string): Promise<boolean> {
  return (await tableIndexes(conn, table)).some(i => i.name === name)
}

/** The numbered schema steps of one BRAG table. Each is idempotent on its own. */
export function bragSchemaSteps(table: string, dimension: number): SchemaStep[] {
  return [
    {
      version: 1,
      description: `create ${table} as the application defines it, when missing`,
      async apply(conn) {
        await conn.query(createTableSql(table, dimension))
      }
    },
    {
      version: 2,
      description: 'BCHUNK (chunk index) and BVERSION (write version) columns, nullable',
      async apply(conn) {
        const names = new Set((await tableColumns(conn, table)).map(c => c.name.toUpperCase()))
        const add: string[] = []
        if (!names.has('BCHUNK')) add.push('ADD COLUMN BCHUNK INT NULL')
        if (!names.has('BVERSION')) add.push('ADD COLUMN BVERSION BIGINT NULL')
        if (add.length > 0) await alterOnline(conn, table, add.join(', '), ['INSTANT', 'INPLACE', 'COPY'])
      }
    },
    {
      version: 3,
      description: 'unique chunk key (BUID, BMID, BCHUNK)',
      async apply(conn) {
        if (!(await hasIndex(conn, table, KEY_INDEX))) {
          await alterOnline(conn, table, `ADD UNIQUE KEY ${KEY_INDEX} (BUID, BMID, BCHUNK)`)
        }
      }
    },
    {
      version: 4,
      description: 'index (BUID, BGROUPKEY) for group filters',
      async apply(conn) {
        if (!(await hasIndex(conn, table, GROUP_INDEX))) {
          await alterOnline(conn, table, `ADD KEY ${GROUP_INDEX} (BUID, BGROUPKEY)`)
        }
      }
    }
  ]
}

/** What init() needs from the table once the steps ran; lists what is missing. */
async function missingParts(conn: Conn, table: string): Promise<string[]> {
  const columns = new Set((await tableColumns(conn, table)).map(c => c.name.toUpperCase()))
  if (columns.size === 0) return ['the table']
  const indexes = await tableIndexes(conn, table)
  const missing: string[] = []
  if (!columns.has('BCHUNK')) missing.push('column BCHUNK')
  if (!columns.has('BVERSION')) missing.push('column BVERSION')
  const key = indexes.find(i => i.name === KEY_INDEX)
  if (key === undefined || !key.unique || key.columns.join(',').toUpperCase() !== 'BUID,BMID,BCHUNK')
    missing.push(`unique key ${KEY_INDEX}`)
  if (!indexes.some(i => i.name === GROUP_INDEX)) missing.push(`index ${GROUP_INDEX}`)
  return missing
}

/**
 * Checks, creates and upgrades the BRAG table. Safe when several processes start
 * at once (the steps run under a named lock). If the recorded steps do not match
 * the table (it was recreated behind our back, e.g. renamed away and created by the
 * application), the idempotent steps run again. Returns the steps applied.
 */
export async function ensureBragTable(pool: Pool, table: string, dimension: number): Promise<number[]> {
  quoteTable(table)
  try {
    checkExistingTable(table, await tableColumns(pool, table), dimension)
    const steps = bragSchemaSteps(table, dimension)
    const applied = await applySchemaSteps(pool, schemaScope(table), steps)
    if ((await missingParts(pool, table)).length === 0) return applied
    return await withNamedLock(
      pool,
      `vg_schema:${schemaScope(table)}`.slice(0, 64),
      60,
      () => new Error(`could not take the schema lock for ${table} within 60 s (another gateway is upgrading it?)`),
      async conn => {
        checkExistingTable(table, await tableColumns(conn, table), dimension)
        for (const step of steps) await step.apply(conn)
        const missing = await missingParts(conn, table)
        if (missing.length > 0)
          throw new IncompatibleStoreError(
            `MariaDB table ${table} could not be upgraded: still missing ${missing.join(', ')}`
          )
        return steps.map(s => s.version)
      }
    )
  } catch (err) {
    return translateError(err)
  }
}
