'use strict'
// Runs every bench scenario, each in its own process (so one scenario's heap, JIT state
// and leftover native objects cannot tilt the next), prints one combined table and writes
// it to bench/RESULTS.md (a --quick or --only run writes bench/out/RESULTS.md instead).
//
//   npm run bench                          node bench/run-all.js
//   npm run bench:quick                    node bench/run-all.js --quick (fewer rounds)
//   node bench/run-all.js --only idle-cost,scale
//   node --expose-gc bench/run-all.js      (children inherit node flags: GC between samples)

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { fork } = require('node:child_process')
const { QUICK, cpuText, formatReport } = require('./harness')

// In table order: scenarios 1–6 (5 is two scripts), then per-task attribution and CLI start.
const SCENARIOS = [
  'idle-cost', // 1 idle cost of the patch: worker start, round trips
  'profiling-cost', // 2 sampling cost in a CPU-bound worker, ours vs floor vs peers
  'stop-latency', // 3 stop() and terminate() latency, idle and busy workers
  'main-stall', // 4 main-thread stall while a 60 s profile comes home
  'export-pprof', // 5 pprof encode vs pprof-format, loop delay during async export
  'export-json', // 5 bigint-safe JSON vs json-bigint / lossless-json
  'scale', // 6 1–32 workers in one profile
  'pool-tasks', // per-task bookkeeping cost and attribution accuracy
  'cli-start', // 10 worker starts under plain node, --cpu-prof and the CLI
  'continuous-cost', // continuous profiling's cost, backend up and down
  'main-split', // the main thread split by profile: split vs whole, idle patch vs plain
  'weights', // the time each output charges a thread against its spans
]

function option(name) {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? process.argv[at + 1] : undefined
}

function runChild(name) {
  return new Promise((resolve) => {
    let result = null
    const args = QUICK ? ['--quick'] : []
    const child = fork(path.join(__dirname, 'scenarios', `${name}.js`), args, { stdio: 'inherit' })
    child.on('message', (m) => (result = m.result))
    child.on('exit', (code, signal) => resolve({ result, code, signal }))
  })
}

function command() {
  const args = process.argv.slice(2).join(' ')
  const npm = process.env.npm_lifecycle_event
  if (npm === 'bench' || npm === 'bench:quick') return `npm run ${npm}`
  return `node ${[...process.execArgv, 'bench/run-all.js', args].join(' ').trim()}`
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ')

async function main() {
  const only = option('only')?.split(',')
  const unknown = (only ?? []).filter((n) => !SCENARIOS.includes(n))
  if (unknown.length) throw new Error(`unknown scenario ${unknown}; one of ${SCENARIOS}`)
  const started = Date.now()
  const loadBefore = load()
  const combined = { rows: [], notes: [], targets: [] }
  const failed = []
  for (const name of SCENARIOS.filter((n) => !only || only.includes(n))) {
    process.stderr.write(`== ${name} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`)
    const { result, code, signal } = await runChild(name)
    if (code !== 0 || !result) {
      failed.push(`${name} (exit ${signal ?? code})`)
      combined.rows.push({
        scenario: name,
        arm: '(scenario failed)',
        status: `exit ${signal ?? code}`,
      })
    }
    if (!result) continue
    for (const key of Object.keys(combined)) combined[key].push(...(result[key] ?? []))
  }
  const seconds = (Date.now() - started) / 1000
  const withTarget = combined.rows.filter((r) => r.met !== undefined)
  const missed = withTarget.filter((r) => !r.met)
  const date = new Date().toISOString().slice(0, 10)
  const header = [
    `Date: ${date}`,
    `Node: ${process.version} (${os.platform()} ${os.arch()})`,
    `CPU: ${cpuText()} (os.cpus())`,
    `Command: ${command()}${QUICK ? ' (quick: fewer rounds, shorter windows)' : ''}`,
    `Machine load average (1, 5, 15 min): ${loadBefore} at start, ${load()} at end ` +
      '(a shared machine: other work ran alongside)',
    `Total run time: ${seconds.toFixed(0)} s`,
  ]
  const table = formatReport(combined)
  const summary = `Targets: ${withTarget.length - missed.length} met, ${missed.length} missed.`
  console.log(`${header.join('\n')}\n\n${table}\n\n${summary}`)

  const full = !QUICK && !only
  const file = full ? path.join(__dirname, 'RESULTS.md') : path.join(__dirname, 'out', 'RESULTS.md')
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(
    file,
    [
      '# Benchmark results',
      '',
      'Written by `bench/run-all.js` (`npm run bench`); method, scenarios and analysis in',
      '[README.md](README.md). Figures only: a missed target never fails the run.',
      '',
      ...header.map((l) => `- ${l}`),
      '',
      '```',
      table,
      '',
      summary,
      '```',
      '',
    ].join('\n'),
  )
  console.log(`\nWritten to ${path.relative(process.cwd(), file)}`)
  if (failed.length) {
    console.error(
      `\nFailed (a correctness check or a crash of the scenario itself): ${failed.join(', ')}`,
    )
    process.exitCode = 1
  }
}

main().catch((err) => {
  console.error(err.stack)
  process.exitCode = 1
})
