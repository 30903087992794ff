'use strict'
// Runs every bench script, each in its own process (so one scenario's heap, JIT state and
// leftover native objects cannot tilt the next), and prints one combined table.
//
//   node bench/run-all.js              (or: npm run bench)
//   node --expose-gc bench/run-all.js  (children inherit node flags: GC between samples)

const path = require('node:path')
const { fork } = require('node:child_process')
const { environment, formatReport } = require('./harness')

const SCRIPTS = ['json.js', 'pprof.js', 'tasks.js']

function runChild(script) {
  return new Promise((resolve) => {
    let result = null
    const child = fork(path.join(__dirname, script), [], { stdio: 'inherit' })
    child.on('message', (m) => (result = m.result))
    child.on('exit', (code, signal) => resolve({ script, result, code, signal }))
  })
}

async function main() {
  const started = Date.now()
  const combined = { rows: [], notes: [], targets: [] }
  const failed = []
  for (const script of SCRIPTS) {
    process.stderr.write(`== ${script}\n`)
    const { result, code, signal } = await runChild(script)
    if (code !== 0 || !result) failed.push(`${script} (exit ${signal ?? code})`)
    if (!result) continue
    for (const key of Object.keys(combined)) combined[key].push(...result[key])
  }
  console.log(`${new Date().toISOString().slice(0, 10)}; ${environment()}`)
  console.log(formatReport(combined))
  console.log(`\nTotal bench time: ${((Date.now() - started) / 1000).toFixed(0)} s`)
  if (failed.length) {
    console.error(`\nCorrectness check failed in: ${failed.join(', ')}`)
    process.exitCode = 1
  }
}

main()
