'use strict'
// An HTTP-like request handler that hands work to worker threads. One request runs
// inside a profile; its report covers the main thread, the pooled worker its task went
// to, and a worker started just for it — and none of the other requests' work.
//
//   npm run demo [-- --out DIR]

const fs = require('node:fs')
const path = require('node:path')
const pw = require('..') // patches worker_threads.Worker
const { Worker } = require('node:worker_threads')

const WORKER = path.join(__dirname, 'demo-worker.js')

// A pool created at startup, long before any request: profiled only when a profiled
// request sends it a task.
const pool = [new Worker(WORKER, { name: 'pool-0' }), new Worker(WORKER, { name: 'pool-1' })]
let nextTask = 0
function runOnPool(task, ms) {
  const id = nextTask++
  const worker = pool[id % pool.length]
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m.id !== id) return
      worker.off('message', onMessage)
      resolve(m.result)
    }
    worker.on('message', onMessage)
    worker.postMessage({ id, task, ms })
  })
}

function runOneShot(task, ms) {
  const worker = new Worker(WORKER, {
    name: `one-shot-${task}`,
    workerData: { oneShot: { task, ms } },
  })
  return new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
}

function parseQuery(url) {
  let params = {}
  for (let i = 0; i < 2000; i++) params = Object.fromEntries(new URL(url, 'http://x').searchParams)
  return params
}

async function handleRequest(url) {
  const query = parseQuery(url)
  const [chart, thumbnail] = await Promise.all([
    runOnPool('renderChart', Number(query.chartMs)),
    runOneShot('resizeImage', Number(query.imageMs)),
  ])
  return { url, chart, thumbnail }
}

async function main() {
  const outArg = process.argv.indexOf('--out')
  const outDir = path.resolve(outArg > 0 ? process.argv[outArg + 1] : 'profiles')
  fs.mkdirSync(outDir, { recursive: true })
  await Promise.all(pool.map((w) => new Promise((r) => w.once('online', r))))

  // Three concurrent requests; only the second is profiled.
  const [, profiled] = await Promise.all([
    handleRequest('/report?chartMs=150&imageMs=100'),
    pw.runProfile(() => handleRequest('/dashboard?chartMs=250&imageMs=200'), {
      name: 'GET /dashboard',
      samplingIntervalUs: 500,
    }),
    handleRequest('/report?chartMs=150&imageMs=100'),
  ])
  const { report } = profiled

  const written = []
  const write = (name, data) => {
    const file = path.join(outDir, name)
    fs.writeFileSync(file, data)
    written.push(file)
  }
  for (const t of report.toCpuprofiles())
    write(`request.thread-${t.threadId}-${t.name.replace(/\W+/g, '_')}.cpuprofile`, t.json)
  write('request.pb.gz', await report.toPprofAsync())
  write('request.collapsed', await report.toCollapsedAsync())
  write('request.flamegraph.svg', await report.toFlamegraphAsync({ idle: false }))
  write(
    'request.report.json',
    pw.serialize(
      { ...report.toJSON(), threads: report.threads.map(({ profile, ...t }) => t) },
      { format: 'json' },
    ),
  )

  console.log(
    `profile ${report.id} "${report.name}": ${(Number(report.endNs - report.startNs) / 1e6).toFixed(0)} ms`,
  )
  for (const t of report.threads) {
    const cpu =
      typeof t.effects.cpuTimeNs === 'bigint'
        ? `${(Number(t.effects.cpuTimeNs) / 1e6).toFixed(1)} ms CPU`
        : ''
    console.log(
      `  thread ${t.threadId} ${t.name.padEnd(20)} ${t.status.padEnd(7)} ${String(t.profile.sampleCount).padStart(5)} samples  ${cpu}`,
    )
  }
  const self = new Map()
  for (const line of report.toCollapsed().trim().split('\n')) {
    const cut = line.lastIndexOf(' ')
    const frames = line.slice(0, cut).split(';')
    const key = `${frames[0].replace(/ \(thread \d+\)/, '')}: ${frames.at(-1)}`
    self.set(key, (self.get(key) ?? 0) + Number(line.slice(cut + 1)))
  }
  console.log('top self time (thread: frame):')
  for (const [f, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 6))
    console.log(`  ${String(n).padStart(6)}  ${f}`)
  console.log(`wrote into ${outDir}:`)
  for (const f of written) console.log(`  ${path.basename(f)}`)
  const shown = path.relative(process.cwd(), outDir) || '.'
  console.log(
    `open ${path.join(shown, 'request.flamegraph.svg')} in a browser (hover, click, Ctrl+F);`,
  )
  console.log('a .cpuprofile in Chrome DevTools / VS Code / speedscope;')
  console.log(`\`go tool pprof -top ${path.join(shown, 'request.pb.gz')}\``)
  await Promise.all(pool.map((w) => w.terminate()))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
