// `npm run bench -- [flags]`: the benchmarks (docs/architecture.md#tests) side by side in one run.
// Not a test (CI does not run it). Prints the tables and a summary against the
// targets, and writes bench/results/latest.json (+ latest.txt). See --help.
//
//   A. MariaDB search: gateway vs direct plans, with and without a vector index; ingest
//   B. read modes active vs merged (Qdrant = the emulator in a child process, or the server at --qdrant-url)
//   C. switch propagation between two gateway processes
//   D. migration mariadb <-> qdrant vs a direct copy both ways, gateway memory
//   E. gateway process memory
//   F. search quality by tenant share: recall@10 and latency, clustered and unclustered data
//   I. ingest: POST /chunks with JSON arrays and with base64 vectors vs a direct binary insert
//   L. search vs bare HTTP + direct SQL, gateway CPU per search, 16/64 clients vs a direct pool
//   Q. Qdrant search: gateway vs bare HTTP + the official client's direct query, gateway CPU per search
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, resolve } from 'node:path'
import { profileReport, summariseProfile } from './cpu-profile.ts'
import { ROOT, closeHttp, ensureServer, gatewayNodeFlags, gatewayStartup, log } from './harness.ts'
import { runIngestSection } from './ingest.ts'
import { runLoadSection } from './load.ts'
import { runMigrationSection } from './migration.ts'
import { runSearchSection } from './mariadb-search.ts'
import { USAGE, parseOptions, type BenchOptions } from './options.ts'
import { runQdrantSearchSection } from './qdrant-search.ts'
import { runReadModeSection } from './read-modes.ts'
import { fullReport, type RunResults } from './report.ts'
import { runSwitchSection } from './switch-propagation.ts'
import { runShareSection } from './tenant-shares.ts'

async function main(): Promise<number> {
  let options: BenchOptions | 'help'
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`)
    return 2
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const o = options
  const started = Date.now()
  const version = await ensureServer(o.serverUrl, o.localServer)
  if (!/mariadb/i.test(version) || Number(version.split('.')[0]) < 11)
    throw new Error(`the benchmark needs MariaDB >= 11.7 (VECTOR); ${o.serverUrl} is ${version}`)
  const results: RunResults = {
    started: new Date(started).toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      mariadb: version
    },
    options: { ...o, sections: [...o.sections] },
    errors: []
  }
  let profileDir: string | undefined
  if (o.cpuProf !== undefined) {
    profileDir = resolve(ROOT, o.cpuProf)
    rmSync(profileDir, { recursive: true, force: true })
    mkdirSync(profileDir, { recursive: true })
    gatewayNodeFlags.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`)
    log(`--cpu-prof: gateway processes write V8 CPU profiles to ${o.cpuProf} (timings of this run are perturbed)`)
  }
  log(
    `run ${o.runId}: scale ${o.scale}${o.quick ? ' (quick)' : ''}, sections ${[...o.sections].join(', ')}, MariaDB ${version} at ${o.serverUrl}, ` +
      `Qdrant ${o.qdrantUrl === undefined ? 'emulator' : `server at ${o.qdrantUrl}`}`
  )

  const section = async <
    K extends 'search' | 'readModes' | 'switching' | 'migration' | 'ingest' | 'shares' | 'load' | 'qdrantSearch'
  >(
    name: string,
    key: K,
    fn: () => Promise<NonNullable<RunResults[K]>>
  ): Promise<void> => {
    const t = performance.now()
    try {
      results[key] = (await fn()) as RunResults[K]
      log(`${name} done in ${((performance.now() - t) / 1000).toFixed(0)} s`)
    } catch (err) {
      log(`${name} FAILED: ${(err as Error).stack ?? String(err)}`)
      results.errors.push({ section: name, error: (err as Error).message })
    }
  }
  if (o.sections.has('search')) await section('A search', 'search', async () => await runSearchSection(o))
  if (o.sections.has('read-modes')) await section('B read modes', 'readModes', async () => await runReadModeSection(o))
  if (o.sections.has('switch'))
    await section('C switch propagation', 'switching', async () => await runSwitchSection(o))
  if (o.sections.has('migration')) await section('D migration', 'migration', async () => await runMigrationSection(o))
  if (o.sections.has('ingest')) await section('I ingest', 'ingest', async () => await runIngestSection(o))
  if (o.sections.has('shares')) await section('F tenant shares', 'shares', async () => await runShareSection(o))
  if (o.sections.has('load')) await section('L load and bare HTTP', 'load', async () => await runLoadSection(o))
  if (o.sections.has('qdrant-search'))
    await section('Q qdrant search', 'qdrantSearch', async () => await runQdrantSearchSection(o))
  closeHttp()

  results.finished = new Date().toISOString()
  results.durationS = Math.round((Date.now() - started) / 1000)
  const report = fullReport(results)
  const out = resolve(ROOT, o.out)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n')
  writeFileSync(out.replace(/\.json$/, '') + '.txt', report + '\n')
  let profiles = ''
  if (profileDir !== undefined) {
    for (const f of readdirSync(profileDir)
      .filter(f => f.endsWith('.cpuprofile'))
      .sort()) {
      const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(f)?.[1])
      profiles +=
        '\n\n' + profileReport(summariseProfile(resolve(profileDir, f), 20, (gatewayStartup.get(pid) ?? 0) + 1000))
    }
    writeFileSync(resolve(profileDir, 'summary.txt'), profiles.trim() + '\n')
  }
  process.stdout.write(`\n${report}${profiles}\n\nTotal ${results.durationS} s. Results: ${o.out}\n`)
  return results.errors.length > 0 ? 1 : 0
}

main().then(
  code => {
    process.exitCode = code
  },
  err => {
    process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  }
)
