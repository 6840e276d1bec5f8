// `vector-gateway` command line (docs/architecture.md#cli): migrate, status, switch. It reads the
// same environment as the service (MARIADB_URL, QDRANT_URL, ...; API keys are not
// needed: it talks to the stores, not to the HTTP API) and uses the same engine
// and tables, so a migration started here shows in the admin API of every
// gateway, and one started there shows in `vector-gateway status`.
//
// `migrate` creates the migration, runs a MigrationRunner in this process (a
// gateway replica may take the lease instead; either way the work is done once)
// and shows a live progress bar until the migration ends. Exit codes: 0 done,
// 1 failed / cancelled / error, 2 bad usage, 130 interrupted (the migration stays
// running: any gateway replica resumes it from its checkpoints).
import { userInfo } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import cliProgress from 'cli-progress'
import { Command, InvalidArgumentError, Option } from 'commander'
import pino from 'pino'
import { loadConfig, type Config } from './config.ts'
import { createGateway, type Gateway } from './gateway.ts'
import { VECTOR_INDEX_M } from './limits.ts'
import { FINISHED_STATES } from './migration/state-machine.ts'
import type { ProviderName } from './providers/vector-provider.ts'
import type { MigrationSummary } from './schemas/migration.ts'
import { storageStatus } from './routing/storage-status.ts'
import { assertSwitchable } from './routing/switch-guard.ts'
import { SERVICE_VERSION } from './version.ts'

export interface CliIo {
  out: (text: string) => void
  err: (text: string) => void
  env: NodeJS.ProcessEnv
  /** stream the progress bar draws on */
  progressStream: NodeJS.WritableStream
}

const defaultIo = (): CliIo => ({
  out: text => {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  },
  err: text => {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`)
  },
  env: process.env,
  progressStream: process.stderr
})

/** The service's configuration, without requiring the HTTP API keys. */
export function cliConfig(env: NodeJS.ProcessEnv): Config {
  const apiKey = env.API_KEY !== undefined && env.API_KEY !== ''
  return loadConfig({ LOG_LEVEL: 'warn', ...env, ...(apiKey ? {} : { AUTH_DISABLED: 'true' }) })
}

type Context = Gateway

async function openContext(config: Config, io: CliIo): Promise<Context> {
  return await createGateway(config, {
    logger: pino({ level: config.LOG_LEVEL, base: undefined }, pino.destination(2)),
    // a command reads the settings fresh; its runner looks for work every 500 ms
    settingsCacheMs: 0,
    migrationPollMs: 500,
    onProviderUnreachable: (provider, err) => {
      io.err(`warning: ${provider} is unreachable: ${(err as Error).message}`)
    }
  })
}

function parseUsers(value: string): number[] {
  const ids = value
    .split(',')
    .map(s => s.trim())
    .filter(s => s !== '')
  if (ids.length === 0 || ids.some(s => !/^[1-9]\d{0,15}$/.test(s) || !Number.isSafeInteger(Number(s)))) {
    throw new InvalidArgumentError('expected a comma-separated list of user ids, e.g. 1,2,3')
  }
  return ids.map(Number)
}

function parseBatchSize(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 10000) throw new InvalidArgumentError('expected an integer from 1 to 10000')
  return n
}

function formatEta(seconds: number | null): string {
  if (seconds === null) return '--'
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`
}

function progressPayload(v: MigrationSummary): Record<string, string | number> {
  return {
    status: v.status,
    users: v.completed_users + v.failed_users,
    totalUsers: v.total_users,
    failed: v.failed_users,
    rate: v.chunks_per_second === null ? '-' : Math.round(v.chunks_per_second),
    etaText: formatEta(v.eta_seconds)
  }
}

function summaryLine(v: MigrationSummary): string {
  return (
    `migration ${v.id} ${v.from} -> ${v.to}: ${v.status}; users ${v.completed_users}/${v.total_users} completed, ${v.failed_users} failed; ` +
    `chunks ${v.migrated_chunks}/${v.total_chunks}; ${v.chunks_per_second ?? 0} chunks/s` +
    (v.error !== null ? `; ${v.error}` : '')
  )
}

/** What `vector-gateway migrate` takes (commander's parsed options). */
interface MigrateOptions {
  from: ProviderName
  to: ProviderName
  users?: number[]
  batchSize?: number
  deleteSource?: boolean
  json?: boolean
  progress?: boolean
}

async function migrate(ctx: Context, io: CliIo, opts: MigrateOptions): Promise<number> {
  const actor = `cli:${safeUser()}`
  const created = await ctx.migrations.create(
    {
      from: opts.from,
      to: opts.to,
      user_ids: opts.users,
      batch_size: opts.batchSize,
      delete_source: opts.deleteSource ?? false
    },
    actor
  )
  io.err(
    `migration ${created.id} created: ${created.from} -> ${created.to}${created.user_ids === null ? '' : ` for users ${created.user_ids.join(',')}`}, batch size ${created.batch_size}`
  )
  const runner = ctx.migrationRunner
  runner.start()

  const bar =
    opts.progress === false
      ? null
      : new cliProgress.SingleBar(
          {
            format:
              'migration {status} |{bar}| {percentage}% | users {users}/{totalUsers} ({failed} failed) | chunks {value}/{total} | {rate} chunks/s | ETA {etaText}',
            stream: io.progressStream,
            noTTYOutput: true,
            notTTYSchedule: 2000,
            hideCursor: true
          },
          cliProgress.Presets.shades_classic
        )
  let interrupted = false
  const onSigint = (): void => {
    interrupted = true
  }
  process.once('SIGINT', onSigint)
  let view = created
  bar?.start(Math.max(1, view.total_chunks), 0, progressPayload(view))
  try {
    while (!interrupted) {
      view = await ctx.migrations.view(created.id)
      bar?.setTotal(Math.max(1, view.total_chunks, view.migrated_chunks))
      bar?.update(view.migrated_chunks, progressPayload(view))
      if (FINISHED_STATES.includes(view.status)) break
      await sleep(250)
    }
  } finally {
    bar?.stop()
    process.removeListener('SIGINT', onSigint)
    await runner.stop()
  }
  if (interrupted) {
    io.err(
      `interrupted: migration ${created.id} stays ${view.status}; a running gateway resumes it from its checkpoints (or pause/cancel it through the admin API)`
    )
    return 130
  }
  if (view.failed_users > 0) {
    const failed = await ctx.migrations.detail(created.id, { status: 'failed', limit: 20 })
    for (const u of failed.users) io.err(`user ${u.user_id} failed: ${u.error ?? 'unknown error'}`)
  }
  io.err(summaryLine(view))
  if (opts.json === true) io.out(JSON.stringify(view, null, 2))
  return view.status === 'completed' ? 0 : 1
}

async function status(ctx: Context, io: CliIo, opts: { json?: boolean }): Promise<number> {
  const s = await storageStatus(ctx)
  if (opts.json === true) {
    io.out(JSON.stringify(s, null, 2))
    return 0
  }
  const rows: Array<[string, string]> = [
    ['active provider', `${s.current_provider} (from ${s.source})`],
    ['read mode', s.read_mode],
    ['changed', s.changed_at === null ? '-' : `${s.changed_at} by ${s.changed_by ?? '?'}`],
    ['user overrides', String(s.user_overrides)],
    ['pending removals', s.pending_removals === null ? '?' : String(s.pending_removals)],
    [
      'mariadb',
      `${s.providers.mariadb.status}${s.providers.mariadb.version !== undefined ? ` ${s.providers.mariadb.version}` : ''}, table ${s.providers.mariadb.table}, ${s.providers.mariadb.chunks ?? '?'} chunks`
    ],
    [
      'qdrant',
      s.providers.qdrant.status === 'not_configured'
        ? 'not configured'
        : `${s.providers.qdrant.status}, collection ${s.providers.qdrant.collection ?? '-'}, ${s.providers.qdrant.chunks ?? '?'} chunks`
    ]
  ]
  const m = s.migration
  rows.push(['migration', m === null ? 'none' : summaryLine(m)])
  if (m !== null && m.status === 'running') rows.push(['eta', formatEta(m.eta_seconds)])
  const width = Math.max(...rows.map(r => r[0].length))
  for (const [k, v] of rows) io.out(`${k.padEnd(width)}  ${v}`)
  return 0
}

async function switchProvider(
  ctx: Context,
  io: CliIo,
  provider: ProviderName,
  opts: { json?: boolean }
): Promise<number> {
  await assertSwitchable(ctx.router, provider)
  const { previous, changedAt } = await ctx.settings.setProvider(provider, `cli:${safeUser()}`)
  const result = { current_provider: provider, previous_provider: previous, changed_at: changedAt.toISOString() }
  if (opts.json === true) io.out(JSON.stringify(result, null, 2))
  else
    io.out(
      `active provider: ${previous} -> ${provider} (every gateway follows within SETTINGS_CACHE_MS = ${ctx.config.SETTINGS_CACHE_MS} ms)`
    )
  return 0
}

async function vectorIndex(
  ctx: Context,
  io: CliIo,
  action: 'status' | 'create' | 'drop',
  opts: { m?: number; json?: boolean }
): Promise<number> {
  const mariadb = ctx.providers.mariadb
  const done =
    action === 'create'
      ? await mariadb.createVectorIndex({ m: opts.m ?? 16 })
      : action === 'drop'
        ? await mariadb.dropVectorIndex()
        : null
  const info = await mariadb.vectorIndexInfo()
  if (opts.json === true) {
    io.out(JSON.stringify({ ...(done ?? {}), vector_index: info }, null, 2))
  } else {
    const state = info.exists
      ? `${info.name ?? '?'}: DISTANCE=${info.distance ?? '?'} M=${info.m ?? '?'}${info.usable ? '' : ' (unusable: not cosine)'}`
      : 'none'
    io.out(
      `vector index on ${ctx.config.MARIADB_TABLE}: ${state}${done !== null ? ` (${action} took ${Math.round(done.duration_ms)} ms)` : ''}`
    )
    for (const warning of await mariadb.capacityWarnings()) io.out(`warning: ${warning}`)
  }
  return 0
}

function safeUser(): string {
  try {
    return userInfo().username
  } catch {
    return 'unknown'
  }
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[] = process.argv, io: CliIo = defaultIo()): Promise<number> {
  let code = 0
  const run = (fn: (ctx: Context) => Promise<number>) => async (): Promise<void> => {
    let config: Config
    try {
      config = cliConfig(io.env)
    } catch (err) {
      io.err((err as Error).message)
      code = 2
      return
    }
    let ctx: Context | null = null
    try {
      ctx = await openContext(config, io)
      code = await fn(ctx)
    } catch (err) {
      const e = err as { code?: string; message: string }
      io.err(`error${e.code !== undefined ? ` ${e.code}` : ''}: ${e.message}`)
      code = 1
    } finally {
      await ctx?.close().catch(() => {})
    }
  }

  const program = new Command('vector-gateway')
    .description(
      'vector-gateway administration: migrate between MariaDB and Qdrant, show the status, switch the active provider'
    )
    .version(SERVICE_VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: s => {
        io.out(s)
      },
      writeErr: s => {
        io.err(s)
      }
    })
  const provider = (flags: string, description: string): Option =>
    new Option(flags, description).choices(['mariadb', 'qdrant']).makeOptionMandatory()

  program
    .command('migrate')
    .description('copy the stored vectors from one provider to the other, user by user, with a live progress bar')
    .addOption(provider('--from <provider>', 'source provider'))
    .addOption(provider('--to <provider>', 'target provider'))
    .option('--users <ids>', 'only these users, comma-separated (default: every user of the source)', parseUsers)
    .option('--batch-size <n>', 'chunks per batch (default MIGRATION_BATCH_SIZE)', parseBatchSize)
    .option('--delete-source', "delete each user's chunks from the source once their copy is verified")
    .option('--json', 'print the final migration as JSON on stdout')
    .option('--no-progress', 'no progress bar')
    .action(async (opts: MigrateOptions) => {
      await run(async ctx => await migrate(ctx, io, opts))()
    })

  program
    .command('status')
    .description('the active provider, read mode, providers and the current or last migration')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await run(async ctx => await status(ctx, io, opts))()
    })

  program
    .command('switch')
    .description('make PROVIDER the active provider for every user without an override')
    .argument('<provider>', 'mariadb or qdrant', (value: string) => {
      if (value !== 'mariadb' && value !== 'qdrant') throw new InvalidArgumentError('expected mariadb or qdrant')
      return value
    })
    .option('--json', 'print JSON')
    .action(async (target: ProviderName, opts: { json?: boolean }) => {
      await run(async ctx => await switchProvider(ctx, io, target, opts))()
    })

  program
    .command('index')
    .description(
      "the MariaDB table's cosine VECTOR INDEX: show it, create it (after a bulk load: inserts are slower with it), or drop it"
    )
    .argument(
      '[action]',
      'status, create or drop',
      (value: string) => {
        if (!['status', 'create', 'drop'].includes(value))
          throw new InvalidArgumentError('expected status, create or drop')
        return value
      },
      'status'
    )
    .option(
      '--m <n>',
      `HNSW M for create (${VECTOR_INDEX_M.min}..${VECTOR_INDEX_M.max}, default ${VECTOR_INDEX_M.default})`,
      (value: string) => {
        const m = Number(value)
        if (!Number.isInteger(m) || m < VECTOR_INDEX_M.min || m > VECTOR_INDEX_M.max)
          throw new InvalidArgumentError(`expected an integer from ${VECTOR_INDEX_M.min} to ${VECTOR_INDEX_M.max}`)
        return m
      }
    )
    .option('--json', 'print JSON')
    .action(async (action: 'status' | 'create' | 'drop', opts: { m?: number; json?: boolean }) => {
      await run(async ctx => await vectorIndex(ctx, io, action, opts))()
    })

  try {
    await program.parseAsync(argv)
  } catch (err) {
    const e = err as { exitCode?: number; code?: string }
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0
    return e.exitCode === 0 ? 0 : 2
  }
  return code
}
