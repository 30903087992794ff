'use strict'
// One profiled request on a Piscina pool that other, unprofiled requests share: the
// report holds the pool workers' share of *this* request's work only.
//
//   node examples/piscina-request.js [--out DIR]     (default ./profiles)
const pw = require('..') // first: it patches worker_threads before Piscina loads it
const fs = require('node:fs')
const path = require('node:path')
const { Piscina } = require('piscina')

const at = process.argv.indexOf('--out')
const out = path.resolve(at > 0 ? process.argv[at + 1] : 'profiles')

const pool = new Piscina({
  filename: path.join(__dirname, 'pool-app', 'render.js'),
  minThreads: 2,
  maxThreads: 2,
  taskQueue: pw.contextQueue('piscina'), // a task that waits in the queue keeps its request
})

async function handle(user, rows) {
  // Three tasks per request: more than the pool has workers, so some wait in the queue.
  const parts = await Promise.all([0, 1, 2].map((k) => pool.run({ user: user * 3 + k, rows })))
  return parts.join('\n')
}

async function main() {
  const background = Array.from({ length: 4 }, (_, i) => handle(100 + i, 300)) // unprofiled
  const { result, report } = await pw.runProfile(() => handle(7, 400), { name: 'GET /report/7' })
  await Promise.all(background)
  await pool.destroy()

  console.log(`request "${report.name}": ${result.length} bytes of HTML`)
  for (const t of report.threads) {
    const cpu = (Number(t.effects.cpuTimeNs) / 1e6).toFixed(1)
    console.log(`  ${t.name.padEnd(9)} ${cpu.padStart(7)} ms CPU  ${t.profile.sampleCount} samples`)
  }
  fs.mkdirSync(out, { recursive: true })
  const files = {
    'piscina-request.pb.gz': await report.toPprofAsync(),
    'piscina-request.flamegraph.svg': await report.toFlamegraphAsync({ title: report.name }),
  }
  for (const { threadId, name, json } of report.toCpuprofiles())
    files[`piscina-request.thread-${threadId}-${name.replace(/\W+/g, '_')}.cpuprofile`] = json
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(out, name), data)
  console.log(
    `wrote ${Object.keys(files).length} files to ${path.relative(process.cwd(), out) || '.'}`,
  )
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
