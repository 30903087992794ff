'use strict'
// Measurement and reporting shared by the bench scripts. On a shared, noisy 2-core box a
// single timing means little, so every scenario runs its arms interleaved for several
// rounds (load spikes then hit all arms alike) and reports the median with the full spread.

const fs = require('node:fs')
const os = require('node:os')
const { performance } = require('node:perf_hooks')

// Only when node runs with --expose-gc; collecting before each sample keeps one arm's
// garbage from being billed to the next.
const collect = typeof global.gc === 'function' ? () => global.gc() : () => {}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function stats(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length }
}

function timeLoop(fn, iterations) {
  const t0 = performance.now()
  for (let i = 0; i < iterations; i++) fn()
  return performance.now() - t0
}

/**
 * Run `arms` ([{name, fn}], fn synchronous) interleaved: warm-up, then `rounds` rounds of
 * one sample per arm. Each arm repeats fn enough times that a sample lasts at least
 * `minSampleMs`, so timer resolution and scheduling noise stay small against it. The
 * starting arm rotates each round so no arm always runs right after the same neighbour.
 * Returns {name: {median, min, max, n, iterations}} in ms per call.
 */
function interleaved(arms, { rounds = 7, minSampleMs = 20, warmup = 2, log = () => {} } = {}) {
  const iterations = arms.map((arm) => {
    let once = Infinity
    for (let i = 0; i < warmup; i++) once = Math.min(once, timeLoop(arm.fn, 1))
    return Math.max(1, Math.ceil(minSampleMs / Math.max(once, 1e-3)))
  })
  const samples = arms.map(() => [])
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < arms.length; k++) {
      const a = (r + k) % arms.length
      collect()
      samples[a].push(timeLoop(arms[a].fn, iterations[a]) / iterations[a])
    }
    log(`  round ${r + 1}/${rounds}`)
  }
  const out = {}
  arms.forEach((arm, a) => (out[arm.name] = { ...stats(samples[a]), iterations: iterations[a] }))
  return out
}

/** `a / b` as "3.21×". */
const times = (a, b) => `${(a / b).toFixed(2)}×`

function fmtMs(ms) {
  if (ms >= 100) return ms.toFixed(0)
  if (ms >= 10) return ms.toFixed(1)
  if (ms >= 1) return ms.toFixed(2)
  return ms.toFixed(3)
}

function fmtBytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`
  return `${n} B`
}

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))
    if (m) return m[1].trim()
  } catch {
    // not Linux: fall back to what os reports
  }
  return os.cpus()[0]?.model ?? 'unknown'
}

function environment() {
  return `node ${process.version}, ${os.availableParallelism?.() ?? os.cpus().length} CPUs (${cpuModel()}), ${os.platform()} ${os.arch()}, gc between samples: ${typeof global.gc === 'function' ? 'yes' : 'no'}`
}

/**
 * rows: [{scenario, arm, median, min, max, ratio}] → one aligned text table. A row whose
 * `unit` is set prints that instead of ms (for the event-loop delay rows).
 */
function formatTable(rows) {
  const header = ['scenario', 'arm', 'median', 'spread (min–max)', 'ratio vs baseline/peer']
  const cells = rows.map((r) => [
    r.scenario,
    r.arm,
    `${fmtMs(r.median)} ${r.unit ?? 'ms'}`,
    `${fmtMs(r.min)}–${fmtMs(r.max)}`,
    r.ratio ?? '',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c) =>
    c
      .map((x, i) => (i === 2 || i === 3 ? x.padStart(widths[i]) : x.padEnd(widths[i])))
      .join(' | ')
      .trimEnd()
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('-|-')]
  let last
  for (let i = 0; i < rows.length; i++) {
    // A blank separator between scenarios keeps the arms of one comparison together.
    if (last !== undefined && rows[i].scenario !== last) out.push('')
    last = rows[i].scenario
    out.push(line(cells[i]))
  }
  return out.join('\n')
}

function formatReport({ rows, notes = [], targets = [] }) {
  const out = [formatTable(rows)]
  if (targets.length) {
    out.push('', 'Targets (figures only; never an exit code):')
    for (const t of targets) out.push(`  ${t.met ? 'MET ' : 'MISS'}  ${t.name}: ${t.value}`)
  }
  if (notes.length) {
    out.push('', 'Notes:')
    for (const n of notes) out.push(`  - ${n}`)
  }
  return out.join('\n')
}

/**
 * Hand the result to bench/run-all.js when forked by it, else print it. A thrown error
 * (a failed correctness check) sets a non-zero exit code either way.
 */
async function main(run) {
  const log = (msg) => process.stderr.write(`${msg}\n`)
  try {
    const result = await run(log)
    // disconnect once delivered, or the open IPC channel would keep this process alive.
    if (process.send) process.send({ result }, () => process.disconnect())
    else {
      console.log(environment())
      console.log(formatReport(result))
    }
  } catch (err) {
    log(err.stack || String(err))
    process.exitCode = 1
  }
}

/** The next message of worker `w`; rejects if it errs or exits first (`what` names the wait). */
function nextMessage(w, what = 'replying') {
  return new Promise((resolve, reject) => {
    const done = () => {
      w.off('message', onMessage)
      w.off('error', onError)
      w.off('exit', onExit)
    }
    const onMessage = (m) => (done(), resolve(m))
    const onError = (e) => (done(), reject(e))
    const onExit = (code) => (done(), reject(new Error(`worker exited (${code}) before ${what}`)))
    w.on('message', onMessage)
    w.on('error', onError)
    w.on('exit', onExit)
  })
}

module.exports = {
  nextMessage,
  collect,
  median,
  stats,
  interleaved,
  times,
  fmtMs,
  fmtBytes,
  environment,
  formatTable,
  formatReport,
  main,
}
