// Text tables of one run, and the summary against the targets.
import { INGEST_TARGETS, type IngestSectionResult } from './ingest.ts'
import type { LoadSectionResult } from './load.ts'
import { MIGRATION_TARGET, type MigrationResult } from './migration.ts'
import type { CellResult, SearchSectionResult } from './mariadb-search.ts'
import { QDRANT_SEARCH_TARGET, type QdrantSearchResult } from './qdrant-search.ts'
import type { ReadModeResult } from './read-modes.ts'
import type { SwitchResult } from './switch-propagation.ts'
import { RECALL_TARGET, type ShareSectionResult } from './tenant-shares.ts'
import type { Summary } from './stats.ts'
import { MiB, qdrantLabel, type QdrantKind } from './harness.ts'

/** issue 9 §2: gateway-process CPU ms per search request */
const GATEWAY_CPU_TARGET_MS = 0.5

export interface RunResults {
  started: string
  finished?: string
  durationS?: number
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; mariadb: string }
  options: Record<string, unknown>
  search?: SearchSectionResult
  readModes?: ReadModeResult
  switching?: SwitchResult
  migration?: MigrationResult
  ingest?: IngestSectionResult
  shares?: ShareSectionResult
  load?: LoadSectionResult
  qdrantSearch?: QdrantSearchResult
  errors: Array<{ section: string; error: string }>
}

export interface TargetRow {
  what: string
  measured: string
  target: string
  result: 'PASS' | 'MISS' | 'info'
}

export function table(header: string[], rows: string[][], align?: Array<'l' | 'r'>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'))
  const line = (cells: string[]): string =>
    '  ' +
    cells
      .map((c, i) => (a[i] === 'l' ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(header), '  ' + widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export function ms(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-'
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)
}

function pp(s: Summary | undefined): string {
  return s === undefined ? '-' : `${ms(s.p50)} / ${ms(s.p95)}`
}

export function int(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-'
}

function x2(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : '-'
}

function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(0)} MiB` : '-'
}

function cellRow(c: CellResult): string[] {
  return [
    c.label,
    c.vectorIndex ? 'yes' : 'no',
    pp(c.methods.gateway?.latency),
    pp(c.methods.bare?.latency),
    pp(c.methods.exact?.latency),
    pp(c.methods.index?.latency),
    pp(c.methods.plain?.latency),
    c.fasterBelowTarget === undefined ? c.best : `${c.best}*`,
    x2(c.httpRatioP50),
    `${x2(c.ratioP50)} (${x2(c.ratioP95)})`,
    ms((c.methods.gateway?.latency.p50 ?? Number.NaN) - (c.methods[c.best]?.latency.p50 ?? Number.NaN)),
    ms(c.methods.gateway?.took?.p50),
    ms(c.gatewayCpuMsPerSearch),
    c.gatewayPlan.split(':')[0],
    c.plainPlan
  ]
}

export function searchReport(s: SearchSectionResult): string {
  const out: string[] = []
  const l = s.layout
  out.push(
    `A. MariaDB search (issues 2, 5, 9 §1): ${int(l.rows)} rows (1 user x ${int(l.largeUserRows)}, ${l.smallUsers} users x ${int(l.smallUserRows)}; ` +
      `rows interleaved), ${l.dimension}-d clustered vectors; MariaDB ${s.server.version}, buffer pool ${mib(Number(s.server.innodb_buffer_pool_size))}, ` +
      `mhnsw_max_cache_size ${mib(Number(s.server.mhnsw_max_cache_size))}`
  )
  out.push('')
  out.push('Ingest (fresh table, no vector index)')
  const cpuPer1000 = (r: typeof s.directIngest, name: string): string =>
    r.cpu?.[name] === undefined ? '-' : ((r.cpu[name] * 1000) / (r.chunks / 1000)).toFixed(0)
  const directRow = (label: string, r: typeof s.directIngest): string[] => [
    label,
    int(r.chunks),
    (r.ms / 1000).toFixed(1),
    int(r.chunksPerSecond),
    cpuPer1000(r, 'mariadb'),
    '-',
    cpuPer1000(r, 'bench')
  ]
  out.push(
    table(
      ['path', 'chunks', 'seconds', 'chunks/s', 'CPU ms/1000 chunks: mariadbd', 'gateway', 'bench client'],
      [
        directRow(
          `direct binary prepared insert, main load, ${s.directIngest.concurrency} connections`,
          s.directIngest
        ),
        directRow(`direct, the gateway's rows, fresh table, ${s.directSame.concurrency} connections`, s.directSame),
        directRow("direct, the gateway's rows, fresh table, 1 connection", s.directSingle),
        [
          `gateway POST /chunks, ${s.gatewayIngest.batch}-chunk batches, ${s.gatewayIngest.concurrency} clients`,
          int(s.gatewayIngest.chunks),
          (s.gatewayIngest.ms / 1000).toFixed(1),
          int(s.gatewayIngest.chunksPerSecond),
          cpuPer1000(s.gatewayIngest, 'mariadb'),
          cpuPer1000(s.gatewayIngest, 'gateway'),
          cpuPer1000(s.gatewayIngest, 'bench')
        ]
      ],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r']
    )
  )
  out.push(
    `  ratio gateway/direct (same rows, same concurrency): ${x2(s.ingestRatio)} (JSON arrays, target >= 0.50; section I alternates rounds and adds base64); ` +
      `against one direct connection: ${x2(s.gatewayIngest.chunksPerSecond / s.directSingle.chunksPerSecond)}`
  )
  out.push('')
  out.push(
    `Cosine vector index, M=${s.indexBuild.m}, built after the load: ${(s.indexBuild.ms / 1000).toFixed(1)} s` +
      (s.indexBuild.warnings.length > 0 ? `\n  warnings: ${s.indexBuild.warnings.join(' | ')}` : '')
  )
  out.push('')
  out.push(
    `Search latency, ms p50 / p95 (${s.queries} queries per cell after ${s.warmup} warm-up, methods interleaved query by query, LIMIT 10)`
  )
  out.push(
    table(
      [
        'filter',
        'v-index',
        'gateway HTTP',
        'bare HTTP',
        'exact (direct)',
        'index (direct)',
        'plain (direct)',
        'best',
        'gw/(best+bare) p50',
        'gw/best p50 (p95)',
        'gw-best ms',
        'gw took',
        'gw CPU/req',
        'gw plan',
        'MariaDB plain plan'
      ],
      s.cells.map(cellRow),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'l']
    )
  )
  out.push(
    '  gateway = POST /search over HTTP keep-alive incl. JSON; bare HTTP = the same body to a minimal Fastify process answering as many bytes as the gateway did;'
  )
  out.push('  exact = IGNORE INDEX(vector index); index = FORCE INDEX + same mhnsw_ef_search as the gateway;')
  out.push(
    "  plain = no hints (MariaDB's own choice, default ef_search); gw took = took_ms inside the gateway handler;"
  )
  out.push(
    '  best = the faster direct plan of those answering at recall@10 >= 0.99 (the target the gateway keeps); exact* = the index plan was faster but below it (recall below)'
  )
  out.push(
    `  gw CPU/req = CPU ms of the gateway process per search request (its idle rate of ${ms(s.idleGatewayCpuMsPerSecond)} ms/s taken off)`
  )
  const withIndex = s.cells.filter(c => c.recall !== undefined)
  if (withIndex.length > 0) {
    out.push('')
    out.push('Recall@10 against the exact plan, with the vector index')
    out.push(
      table(
        ['filter', 'gateway', 'index (direct)', 'plain (direct)'],
        withIndex.map(c => [
          c.label,
          x2(c.recall!.gateway ?? Number.NaN),
          x2(c.recall!.index ?? Number.NaN),
          x2(c.recall!.plain ?? Number.NaN)
        ])
      )
    )
  }
  if (s.profile !== undefined) {
    out.push('')
    out.push("Where the gateway's time goes (with the vector index; ms p50 / p95, interleaved per query)")
    out.push(
      table(
        [
          'filter',
          'gw plan',
          'GET /health/live',
          'gateway HTTP',
          'took_ms',
          'app.inject',
          'router.search',
          'provider.search',
          'gw SQL query()',
          'gw SQL execute()',
          'best direct'
        ],
        s.profile.cases.map(c => [
          c.label,
          c.plan.split(':')[0],
          pp(c.latency.live),
          pp(c.latency.gateway),
          pp(c.latency.took),
          pp(c.latency.inject),
          pp(c.latency.router),
          pp(c.latency.provider),
          pp(c.latency['gateway-sql']),
          pp(c.latency['gateway-sql-x']),
          `${pp(c.latency.best)} ${c.best}`
        ]),
        ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']
      )
    )
    out.push(
      '  layers: gateway HTTP (child process, real socket) > app.inject (same app in this process, no socket) > router.search > provider.search > its SQL'
    )
    const m = s.profile.micro
    out.push(
      `  per request in-process: JSON.parse of the ${(m.bodyBytes / 1024).toFixed(1)} KiB body ${m.jsonParseUs.toFixed(0)} us, ` +
        `ajv validation ${m.validateUs.toFixed(0)} us, encodeVector ${m.encodeVectorUs.toFixed(0)} us, JSON.stringify of a 10-hit reply ${m.stringifyReplyUs.toFixed(0)} us`
    )
  }
  return out.join('\n')
}

/** The NOTE under a Qdrant section's title: which Qdrant answered. */
function qdrantNote(kind: QdrantKind, url: string): string {
  return kind === 'emulator'
    ? "   NOTE: Qdrant is the project's REST emulator (test support code) in a child process, not a real Qdrant server."
    : `   NOTE: Qdrant is the Qdrant server at ${url}; its CPU and memory are not measured here.`
}

export function readModeReport(r: ReadModeResult): string {
  const out: string[] = []
  out.push(
    `B. Read modes (issue 3): ${r.users} users x ${r.chunksPerUser} chunks, ${r.perProvider.mariadb} each in MariaDB (stored before the switch) ` +
      `and ${r.perProvider.qdrant} in Qdrant (after); active provider qdrant.`
  )
  out.push(qdrantNote(r.qdrant, r.qdrantUrl))
  out.push(
    table(
      ['read mode', 'p50 ms', 'p95 ms', 'took p50', 'hits/query', 'from mariadb', 'from qdrant', 'providers queried'],
      (['active', 'merged'] as const).map(m => {
        const x = r.modes[m]
        return [
          m,
          ms(x.latency.p50),
          ms(x.latency.p95),
          ms(x.took.p50),
          x.results.toFixed(1),
          x.fromMariadb.toFixed(1),
          x.fromQdrant.toFixed(1),
          x.providersQueried
        ]
      }),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l']
    )
  )
  out.push(
    `  ${r.queries} queries per mode in alternating blocks of ${r.block}; merged/active p50 ${x2(r.ratioP50)}, p95 ${x2(r.ratioP95)}`
  )
  return out.join('\n')
}

export function switchReport(r: SwitchResult): string {
  return [
    `C. Switch propagation (issue 3): 2 gateway processes, one database, SETTINGS_CACHE_MS=${r.cacheMs}; switch via A, B polled every 5 ms`,
    table(
      ['measured from', 'median ms', 'p95 ms', 'max ms', 'switches'],
      [
        [
          "A's answer to PUT /provider",
          ms(r.afterAnswer.p50),
          ms(r.afterAnswer.p95),
          ms(r.afterAnswer.max),
          String(r.switches)
        ],
        ['sending the PUT', ms(r.afterRequest.p50), ms(r.afterRequest.p95), ms(r.afterRequest.max), String(r.switches)]
      ]
    ),
    `  replica A itself served the new provider right after answering: ${r.switchingReplicaImmediate ? 'yes' : 'NO'}`
  ].join('\n')
}

export function migrationReport(r: MigrationResult): string {
  const cpuText = (cpu: Record<string, number>): string =>
    Object.entries(cpu)
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(', ')
  const rows: string[][] = [
    [
      'raw read of mariadb (provider.scan, no writes)',
      int(r.rawRead.chunksPerSecond),
      (r.rawRead.ms / 1000).toFixed(1),
      'bench process'
    ]
  ]
  const notes: string[] = []
  const server = r.qdrant === 'server'
  // the bench measures only processes it started
  const notMeasured = server ? `; the Qdrant server's CPU not measured` : ''
  for (const d of r.directions) {
    const e = d.engine
    const dir = `${d.from} -> ${d.to}`
    rows.push(
      [
        `${dir}: direct copy (scan -> upsert, no locks)`,
        int(d.direct.chunksPerSecond),
        (d.direct.ms / 1000).toFixed(1),
        'bench process'
      ],
      [
        `${dir}: engine, first user start..completed`,
        int(e.chunksPerSecondEngine),
        (e.engineMs / 1000).toFixed(1),
        'incl. verification'
      ],
      [`${dir}: engine, steady (10%..90% of progress)`, int(e.chunksPerSecondSteady), '', 'gateway process'],
      [
        `${dir}: engine, POST .. completed (wall)`,
        int(e.chunksPerSecondWall),
        (e.wallMs / 1000).toFixed(1),
        'incl. runner start delay'
      ]
    )
    notes.push(
      `  ${dir}: status ${e.status}${e.error !== null ? ` (${e.error})` : ''}; migrated ${int(e.migratedChunks)}, target holds ${int(e.targetCount)}; ` +
        `engine / direct = ${x2(d.ratio)} (steady ${x2(d.ratioSteady)}); target >= ${MIGRATION_TARGET.toFixed(2)}`,
      `    CPU s: direct copy ${cpuText(d.direct.cpu)} (wall ${(d.direct.ms / 1000).toFixed(1)} s); engine ${cpuText(e.cpu)} (wall ${(e.wallMs / 1000).toFixed(1)} s)${notMeasured}`,
      `    gateway RSS ${mib(e.idleRss)} before, peak ${mib(e.peakRss)}; peak per quarter of progress ${e.byQuarter.map(mib).join(', ')}`
    )
  }
  return [
    `D. Migration mariadb <-> qdrant (issues 4, 9): ${int(r.chunks)} chunks x 1024-d, ${r.users} users, batch ${r.batch}, ` +
      `${Number.isFinite(r.concurrency) ? `${r.concurrency} users in parallel` : 'users one at a time'}; ` +
      `Qdrant = ${server ? qdrantLabel(r.qdrant, r.qdrantUrl) : 'emulator in its own process'}`,
    table(['what', 'chunks/s', 'seconds', 'note'], rows, ['l', 'r', 'r', 'l']),
    ...notes,
    `  gateway RSS: idle ${mib(r.memory.idleRss)}, peak during the migrations ${mib(r.memory.peakRss)} (VmHWM ${mib(r.memory.hwm)}); ` +
      (r.memory.emulatorPeakRss === undefined
        ? `Qdrant ${qdrantLabel(r.qdrant, r.qdrantUrl)}: CPU and memory not measured`
        : `emulator process peak ${mib(r.memory.emulatorPeakRss)} (not the gateway's)`)
  ].join('\n')
}

export function loadReport(r: LoadSectionResult): string {
  const row = (what: string, x: { rps: number; p50: number; p99: number }): string[] => [
    what,
    int(x.rps),
    ms(x.p50),
    ms(x.p99)
  ]
  return [
    `L. Gateway vs bare HTTP and a direct pool (issue 9 §1-§3): user of ${int(r.rows)} rows, exact plan, no index`,
    `  one client: gateway p50 ${ms(r.single.gateway.p50)} ms, bare HTTP (Fastify, same body, ${int(r.single.responseBytes)}-byte answer) ${ms(r.single.bare.p50)} ms, ` +
      `direct SQL ${ms(r.single.direct.p50)} ms; gateway / (direct + bare) = ${x2(r.latencyRatio)} (target <= 1.10)`,
    `  gateway CPU per search: ${ms(r.gatewayCpuMsPerSearch)} ms (target <= ${GATEWAY_CPU_TARGET_MS}); bare HTTP CPU per request (Fastify parsing the same body, same answer size): ${ms(r.bareCpuMsPerRequest)} ms`,
    table(
      ['clients / path', 'searches/s', 'p50 ms', 'p99 ms'],
      r.load.flatMap(l => [
        row(`${l.clients} gateway`, l.gateway),
        row(`${l.clients} bare HTTP`, l.bare),
        row(`${l.clients} direct pool (same size)`, l.direct)
      ]),
      ['l', 'r', 'r', 'r']
    ),
    ...r.load.map(
      l =>
        `  ${l.clients} clients: gateway / direct searches/s = ${x2(l.ratio)} (target >= 0.80); ` +
        `${l.roundRatios.length} alternating round(s): ${l.roundRatios.map(x2).join(', ')}`
    ),
    '  (gateway and direct figures are medians over the rounds; bare HTTP ran once)'
  ].join('\n')
}

export function qdrantSearchReport(r: QdrantSearchResult): string {
  const row = (what: string, s: Summary): string[] => [what, ms(s.p50), ms(s.p95), String(s.n)]
  return [
    `Q. Qdrant search (issue 9 target 1, Qdrant path): user of ${int(r.rows)} chunks x ${r.dimension}-d, active provider qdrant, ` +
      `read mode active; ${r.queries} queries x ${r.rounds} rounds after one warm-up, methods interleaved query by query`,
    qdrantNote(r.qdrant, r.qdrantUrl),
    table(
      ['path', 'p50 ms', 'p95 ms', 'n'],
      [
        row('gateway POST /search', r.latency.gateway),
        row(`bare HTTP (Fastify, same body, ${int(r.responseBytes)}-byte answer)`, r.latency.bare),
        row("direct: @qdrant/js-client-rest query() with the provider's searchRequest()", r.latency.direct)
      ],
      ['l', 'r', 'r', 'r']
    ),
    `  gateway / (direct + bare) p50 = ${x2(r.latencyRatio)} (target <= ${QDRANT_SEARCH_TARGET.toFixed(2)}); ` +
      "the gateway's top-10 ids equal the direct call's on every search",
    `  gateway CPU per search: ${ms(r.gatewayCpuMsPerSearch)} ms; bare HTTP CPU per request: ${ms(r.bareCpuMsPerRequest)} ms`
  ].join('\n')
}

export function ingestReport(r: IngestSectionResult): string {
  const cpu = (x: IngestSectionResult['direct'], name: string): string =>
    x.cpu?.[name] === undefined ? '-' : ((x.cpu[name] * 1000) / (x.chunks / 1000)).toFixed(0)
  const row = (label: string, x: IngestSectionResult['direct']): string[] => [
    label,
    int(x.chunks),
    (x.ms / 1000).toFixed(1),
    int(x.chunksPerSecond),
    x2(x.chunksPerSecond / r.direct.chunksPerSecond),
    cpu(x, 'mariadb'),
    cpu(x, 'gateway'),
    cpu(x, 'bench')
  ]
  return [
    `I. Ingest (issue 9 §4): the same ${int(r.chunks)} 1024-d chunks, 1000 per transaction / request, ${r.clients} connections / clients, each into a fresh table`,
    table(
      ['path', 'chunks', 'seconds', 'chunks/s', 'ratio', 'CPU ms/1000 chunks: mariadbd', 'gateway', 'bench client'],
      [
        row('direct binary prepared insert (500-row statements)', r.direct),
        row(`gateway POST /chunks, vectors as JSON arrays (${r.json.bodyMiB.toFixed(1)} MiB/request)`, r.json),
        row(`gateway POST /chunks, vectors as base64 float32 (${r.base64.bodyMiB.toFixed(1)} MiB/request)`, r.base64)
      ],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']
    ),
    `  each path's median of ${r.roundRatios.json.length} round(s), the paths going first in turn; ` +
      `gateway / direct per round: JSON ${r.roundRatios.json.map(x2).join(', ')}, base64 ${r.roundRatios.base64.map(x2).join(', ')}`
  ].join('\n')
}

export function shareReport(r: ShareSectionResult): string {
  const out: string[] = []
  out.push(
    `F. Search quality by tenant share (issue 12): ${int(r.rows)} rows x ${r.dimension}-d per data shape, tenants of 50%, 10%, 1%, 0.1% ` +
      'of the table plus 50 filler users, rows interleaved, cosine index built after the load'
  )
  out.push(`  index build: ${r.shapes.map(s => `${s.shape} ${(s.indexMs / 1000).toFixed(1)} s`).join(', ')}`)
  out.push(
    `Latency ms p50 / p95 and recall@10 against exact (${r.queries} queries per cell after ${r.warmup} warm-up rounds and ${(r.learnMs / 1000).toFixed(0)} s of ` +
      `default-gateway-only warm-up; methods interleaved; a method over ${(r.budgetMs / 1000).toFixed(0)} s in a cell stops, n = queries run)`
  )
  const cell = (c: ShareSectionResult['cells'][number], m: 'gateway' | 'rule' | 'exact' | 'plain'): string[] => {
    const x = c.methods[m]
    return x === undefined
      ? ['-', '-']
      : [
          `${pp(x.latency)}${x.latency.n < r.queries ? ` (n ${x.latency.n})` : ''}`,
          Number.isFinite(x.recall) ? x.recall.toFixed(3) : '-'
        ]
  }
  out.push(
    table(
      [
        'shape',
        'share',
        'rows',
        'gateway',
        'recall',
        'result',
        'checks (mean)',
        'share-rule gw',
        'recall',
        'rule plan',
        'exact',
        'MariaDB plain',
        'recall'
      ],
      r.cells.map(c => {
        const g = c.methods.gateway
        return [
          c.shape,
          `${c.share * 100}%`,
          int(c.rows),
          ...cell(c, 'gateway'),
          g !== undefined && g.recall >= RECALL_TARGET ? 'PASS' : 'MISS',
          `${c.recallSamples} (${x2(c.recallSampleMean)})`,
          ...cell(c, 'rule'),
          c.rulePlan.split(':')[0],
          cell(c, 'exact')[0],
          ...cell(c, 'plain')
        ]
      }),
      ['l', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'l', 'r', 'r', 'r']
    )
  )
  out.push(
    `  gateway = POST /search, default settings (MARIADB_INDEX_TRUST=measured: the index plan only for share bands measured at recall >= ${RECALL_TARGET}), MARIADB_RECALL_SAMPLE_RATE=${r.recallSampleRate};`
  )
  out.push(
    '  share-rule gw = POST /search with MARIADB_INDEX_TRUST=share-rule (share/cost rule only); exact = IGNORE INDEX (the truth); MariaDB plain = no hints, its own plan and ef_search;'
  )
  out.push(
    '  checks = recall probes and shadow checks the default gateway completed in the cell (warm-up included), mean = their mean recall'
  )
  return out.join('\n')
}

export function memoryReport(res: RunResults): string {
  const rows: string[][] = []
  if (res.search !== undefined) {
    const m = res.search.memory
    rows.push([
      'A: ingest gateway (POST /chunks, 1000 x 1024-d per request)',
      mib(m.ingestGatewayIdleRss),
      mib(m.ingestGatewayPeakRss)
    ])
    rows.push([
      'A: search gateway (searches, index build, profile)',
      mib(m.searchGatewayIdleRss),
      mib(m.searchGatewayPeakRss)
    ])
  }
  if (res.readModes !== undefined) rows.push(['B: read-mode gateway', '-', mib(res.readModes.gatewayPeakRss)])
  if (res.migration !== undefined)
    rows.push([
      'D: migration gateway',
      mib(res.migration.memory.idleRss),
      mib(Math.max(res.migration.memory.peakRss, res.migration.memory.hwm))
    ])
  return [
    'E. Gateway process memory (RSS of the child process: /proc/PID/status, sampled every 100 ms, and VmHWM)',
    table(['process', 'after start', 'peak'], rows, ['l', 'r', 'r'])
  ].join('\n')
}

/** Measurement slack on the switch bound: one settings load on B plus one 5 ms poll. */
export const SWITCH_SLACK_MS = 50

export function targets(res: RunResults): TargetRow[] {
  const rows: TargetRow[] = []
  const s = res.search
  if (s !== undefined) {
    rows.push({
      what: 'A ingest (JSON arrays, one pass): gateway / direct chunks/s',
      measured: x2(s.ingestRatio),
      target: '>= 0.50',
      result: s.ingestRatio >= 0.5 ? 'PASS' : 'MISS'
    })
    for (const c of s.cells) {
      rows.push({
        what: `A search p50: gateway / (best direct + bare HTTP), ${c.label}, ${c.vectorIndex ? 'with' : 'no'} index`,
        measured: `${x2(c.httpRatioP50)} (${ms(c.methods.gateway!.latency.p50)} vs ${ms(c.methods[c.best]!.latency.p50)} + ${ms(c.methods.bare!.latency.p50)} ms)`,
        target: '<= 1.10',
        result: c.httpRatioP50 <= 1.1 ? 'PASS' : 'MISS'
      })
    }
    const large = s.cells.find(c => c.vectorIndex && c.cell === 'user-large')
    if (large?.recall?.gateway !== undefined) {
      rows.push({
        what: `A recall@10 gateway vs exact, ${large.label}, with index`,
        measured: x2(large.recall.gateway),
        target: '(report)',
        result: 'info'
      })
    }
    rows.push({
      what: `A index build M=${s.indexBuild.m}, ${int(s.layout.rows)} rows`,
      measured: `${(s.indexBuild.ms / 1000).toFixed(1)} s`,
      target: '(report)',
      result: 'info'
    })
  }
  for (const c of res.shares?.cells ?? []) {
    const g = c.methods.gateway
    rows.push({
      what: `F recall@10 gateway, ${c.shape}, tenant ${c.share * 100}% (${int(c.rows)} rows)`,
      measured: g === undefined ? '-' : `${x2(g.recall)} (p50 ${ms(g.latency.p50)} ms)`,
      target: `>= ${RECALL_TARGET}`,
      result: g !== undefined && g.recall >= RECALL_TARGET ? 'PASS' : 'MISS'
    })
  }
  const b = res.readModes
  if (b !== undefined) {
    rows.push({
      what: `B search p50 merged / active (Qdrant = ${qdrantLabel(b.qdrant, b.qdrantUrl)})`,
      measured: `${x2(b.ratioP50)} (${ms(b.modes.merged.latency.p50)} vs ${ms(b.modes.active.latency.p50)} ms)`,
      target: '(report)',
      result: 'info'
    })
  }
  const c = res.switching
  if (c !== undefined) {
    // a replica serves its snapshot for SETTINGS_CACHE_MS after loading it, and that load may
    // have started just before the change committed: allow one settings load and one 5 ms poll
    const bound = c.cacheMs + SWITCH_SLACK_MS
    rows.push({
      what: 'C switch propagation to another replica, max',
      measured: `${ms(c.afterAnswer.max)} ms (median ${ms(c.afterAnswer.p50)})`,
      target: `<= ${c.cacheMs} + ${SWITCH_SLACK_MS} ms`,
      result: c.afterAnswer.max <= bound ? 'PASS' : 'MISS'
    })
  }
  const i = res.ingest
  if (i !== undefined) {
    for (const form of ['json', 'base64'] as const) {
      const ratio = form === 'json' ? i.jsonRatio : i.base64Ratio
      rows.push({
        what: `I ingest: POST /chunks (${form === 'json' ? 'JSON arrays' : 'base64 vectors'}) / direct binary insert, chunks/s`,
        measured: `${x2(ratio)} (${int(i[form].chunksPerSecond)} vs ${int(i.direct.chunksPerSecond)})`,
        target: `>= ${INGEST_TARGETS[form].toFixed(2)}`,
        result: ratio >= INGEST_TARGETS[form] ? 'PASS' : 'MISS'
      })
    }
  }
  const l = res.load
  if (l !== undefined) {
    rows.push({
      what: 'L search p50: gateway / (direct SQL + bare HTTP), user 1000 rows',
      measured: `${x2(l.latencyRatio)} (${ms(l.single.gateway.p50)} vs ${ms(l.single.direct.p50)} + ${ms(l.single.bare.p50)} ms)`,
      target: '<= 1.10',
      result: l.latencyRatio <= 1.1 ? 'PASS' : 'MISS'
    })
    rows.push({
      what: 'L gateway CPU ms per search, user 1000 rows',
      measured: ms(l.gatewayCpuMsPerSearch),
      target: `<= ${GATEWAY_CPU_TARGET_MS}`,
      result: l.gatewayCpuMsPerSearch <= GATEWAY_CPU_TARGET_MS ? 'PASS' : 'MISS'
    })
    for (const x of l.load)
      rows.push({
        what: `L ${x.clients} clients: gateway / direct pool searches/s`,
        measured: `${x2(x.ratio)} (${int(x.gateway.rps)} vs ${int(x.direct.rps)})`,
        target: '>= 0.80',
        result: x.ratio >= 0.8 ? 'PASS' : 'MISS'
      })
  }
  const q = res.qdrantSearch
  if (q !== undefined) {
    rows.push({
      what: `Q search p50: gateway / (direct Qdrant client + bare HTTP), user 1000 chunks (${qdrantLabel(q.qdrant, q.qdrantUrl)})`,
      measured: `${x2(q.latencyRatio)} (${ms(q.latency.gateway.p50)} vs ${ms(q.latency.direct.p50)} + ${ms(q.latency.bare.p50)} ms)`,
      target: `<= ${QDRANT_SEARCH_TARGET.toFixed(2)}`,
      result: q.latencyRatio <= QDRANT_SEARCH_TARGET ? 'PASS' : 'MISS'
    })
    rows.push({
      what: 'Q gateway CPU ms per search, Qdrant',
      measured: ms(q.gatewayCpuMsPerSearch),
      target: `<= ${GATEWAY_CPU_TARGET_MS}`,
      result: q.gatewayCpuMsPerSearch <= GATEWAY_CPU_TARGET_MS ? 'PASS' : 'MISS'
    })
  }
  const d = res.migration
  if (d !== undefined) {
    rows.push({
      what: 'D migration completes with exact counts',
      measured: `${d.migration.status}, ${int(d.migration.targetCount)}/${int(d.chunks)}`,
      target: 'completed, equal',
      result: d.migration.status === 'completed' && d.migration.targetCount === d.chunks ? 'PASS' : 'MISS'
    })
    for (const dir of d.directions) {
      rows.push({
        what: `D migration ${dir.from} -> ${dir.to} chunks/s: engine / direct copy`,
        measured: `${x2(dir.ratio)} (${int(dir.engine.chunksPerSecondEngine)} vs ${int(dir.direct.chunksPerSecond)})`,
        target: `>= ${MIGRATION_TARGET.toFixed(2)}`,
        result: dir.ratio >= MIGRATION_TARGET ? 'PASS' : 'MISS'
      })
    }
    rows.push({
      what: 'D gateway memory flat during migration (2nd-half peak - 1st-half peak)',
      measured: `${(d.memory.growth / MiB).toFixed(0)} MiB (peak ${mib(d.memory.peakRss)})`,
      target: '< 64 MiB',
      result: d.memory.growth < 64 * MiB ? 'PASS' : 'MISS'
    })
  }
  return rows
}

export function summaryReport(res: RunResults): string {
  const rows = targets(res)
  const lines = [
    'SUMMARY',
    table(
      ['check', 'measured', 'target', 'result'],
      rows.map(r => [r.what, r.measured, r.target, r.result]),
      ['l', 'r', 'r', 'l']
    )
  ]
  for (const e of res.errors) lines.push(`  ERROR in ${e.section}: ${e.error}`)
  return lines.join('\n')
}

export function fullReport(res: RunResults): string {
  const parts: string[] = [
    `vector-gateway benchmark, ${res.started}: ${res.machine.cpus} cores (${res.machine.cpuModel}), ${res.machine.memGiB} GiB, Node ${res.machine.node}, MariaDB ${res.machine.mariadb}`,
    'Noisy shared machine: compare the medians and ratios within this run, not absolute times across runs.'
  ]
  if (res.search !== undefined) parts.push(searchReport(res.search))
  if (res.readModes !== undefined) parts.push(readModeReport(res.readModes))
  if (res.switching !== undefined) parts.push(switchReport(res.switching))
  if (res.migration !== undefined) parts.push(migrationReport(res.migration))
  if (res.load !== undefined) parts.push(loadReport(res.load))
  if (res.qdrantSearch !== undefined) parts.push(qdrantSearchReport(res.qdrantSearch))
  if (res.ingest !== undefined) parts.push(ingestReport(res.ingest))
  parts.push(memoryReport(res))
  if (res.shares !== undefined) parts.push(shareReport(res.shares))
  parts.push(summaryReport(res))
  return parts.join('\n\n')
}
