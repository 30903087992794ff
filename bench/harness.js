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

// `--quick` (npm run bench:quick): fewer rounds and shorter windows, for a smoke run.
// run-all.js passes it on to every scenario it forks.
const QUICK = process.argv.includes('--quick')
/** The full-run value, or the quick-run one under --quick. */
const full = (value, quick) => (QUICK ? quick : value)

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function stats(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length }
}

function mean(xs) {
  return xs.reduce((a, b) => a + b, 0) / xs.length
}

// Two-sided 95% Student t quantiles by degrees of freedom (1–10); 1.96 beyond.
const T95 = [NaN, 12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23]

/**
 * Half-width of the 95% confidence interval of mean(a) − mean(b) (Welch, with the smaller
 * sample's degrees of freedom: conservative). NaN with fewer than 2 values on a side.
 */
function ci95Diff(a, b) {
  const v = (xs) => {
    const m = mean(xs)
    return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) / xs.length
  }
  const df = Math.min(a.length, b.length) - 1
  if (df < 1) return NaN
  return (T95[df] ?? 1.96) * Math.sqrt(v(a) + v(b))
}

/** Half-width of the 95% confidence interval of mean(xs) (Student t). NaN below 2 values. */
function ci95Mean(xs) {
  if (xs.length < 2) return NaN
  const m = mean(xs)
  const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) / xs.length
  return (T95[xs.length - 1] ?? 1.96) * Math.sqrt(v)
}

/** Nearest-rank percentile (p in 0–100): with fewer than 100 values, p99 is the maximum. */
function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
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

/**
 * The asynchronous counterpart of interleaved(): `arms` are [{name, sample}], where
 * `sample()` resolves to one measured value, or to an array of them (a batch). Rounds of
 * one sample per arm, the starting arm rotating each round; `warmup` rounds are run and
 * thrown away first. Returns {name: values[]}.
 */
async function interleavedAsync(arms, { rounds, warmup = 1, log = () => {}, between } = {}) {
  const values = arms.map(() => [])
  for (let r = -warmup; r < rounds; r++) {
    for (let k = 0; k < arms.length; k++) {
      const a = (((r + k) % arms.length) + arms.length) % arms.length
      collect()
      if (between) await between()
      const v = await arms[a].sample()
      if (r >= 0) values[a].push(...[v].flat())
    }
    if (r >= 0) log(`  round ${r + 1}/${rounds}`)
  }
  return Object.fromEntries(arms.map((arm, a) => [arm.name, values[a]]))
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// The package itself, for benches that load it in a child or late.
const ROOT = require('node:path').resolve(__dirname, '..')

async function loadOurs() {
  // Another engineer may be rebuilding the addon: retry once after 30 s.
  try {
    return require(ROOT)
  } catch (err) {
    process.stderr.write(`require(${ROOT}) failed (${err.message}); retrying in 30 s\n`)
    await sleep(30_000)
    return require(ROOT)
  }
}

/** One JSON line on stdout, written synchronously (so a crash right after loses nothing). */
function emit(obj) {
  fs.writeSync(1, `${JSON.stringify(obj)}\n`)
}

/**
 * Run `node [nodeArgs] file args` as a child whose stdout is JSON lines (see emit). A
 * crash (signal, non-zero exit) or a hang (killed after `timeoutMs`) is a result, not an
 * error: it resolves {lines, code, signal, hung, stderr, outcome}, where outcome is 'ok',
 * 'hung', 'crashed (SIGSEGV)', 'crashed (exit 1)', ...
 */
function runNode(file, args = [], { timeoutMs = 60_000, nodeArgs = [] } = {}) {
  const { spawn } = require('node:child_process')
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, file, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let hung = false
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => {
      hung = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const lines = out
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          try {
            return JSON.parse(l)
          } catch {
            return { t: 'text', text: l }
          }
        })
      let outcome = 'ok'
      if (hung) outcome = 'hung'
      else if (signal) outcome = `crashed (${signal})`
      else if (code !== 0) outcome = `crashed (exit ${code})`
      resolve({ lines, code, signal, hung, stderr: err, outcome })
    })
  })
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

/** A rate or count: grouped digits from 1,000 up, else like fmtMs. */
function fmtNum(x) {
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US')
  return fmtMs(x)
}

/** The CPU as os.cpus() reports it: "2 × AMD EPYC". */
function cpuText() {
  const cpus = os.cpus()
  return `${cpus.length} × ${cpus[0]?.model?.trim() ?? 'unknown CPU'}`
}

function environment() {
  return `node ${process.version}, ${cpuText()}, ${os.platform()} ${os.arch()}, gc between samples: ${typeof global.gc === 'function' ? 'yes' : 'no'}`
}

const HEADER = [
  'scenario',
  'arm',
  'median',
  'spread (min–max unless noted)',
  'ratio vs baseline',
  'target',
  'met?',
]

/**
 * rows: [{scenario, arm, median, min, max, unit?, spread?, ratio?, target?, met?, status?}]
 * → one aligned text table. `unit` defaults to ms; `spread` replaces min–max when set;
 * `met` (true/false) fills the last column unless `status` (e.g. 'crashed (SIGSEGV)')
 * says something else. A row without a median prints '–' there.
 */
function formatTable(rows) {
  const cells = rows.map((r) => {
    const unit = r.unit ?? 'ms'
    const value = (x) => (unit === 'ms' ? fmtMs(x) : fmtNum(x))
    const has = typeof r.median === 'number' && Number.isFinite(r.median)
    return [
      r.scenario,
      r.arm,
      has ? `${value(r.median)} ${unit}` : '–',
      r.spread ?? (has && r.min !== undefined ? `${value(r.min)}–${value(r.max)}` : ''),
      r.ratio ?? '',
      r.target ?? '',
      r.status ?? (r.met === undefined ? '' : r.met ? 'met' : 'MISSED'),
    ]
  })
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c) =>
    c
      .map((x, i) => (i === 2 || i === 3 ? x.padStart(widths[i]) : x.padEnd(widths[i])))
      .join(' | ')
      .trimEnd()
  const out = [line(HEADER), widths.map((w) => '-'.repeat(w)).join('-|-')]
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
    out.push('', 'More targets (figures only; never an exit code):')
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

/**
 * The next message of worker `w` (that `match` accepts, when given); rejects if it errs or
 * exits first (`what` names the wait).
 */
function nextMessage(w, what = 'replying', match = () => true) {
  return new Promise((resolve, reject) => {
    const done = () => {
      w.off('message', onMessage)
      w.off('error', onError)
      w.off('exit', onExit)
    }
    const onMessage = (m) => match(m) && (done(), resolve(m))
    const onError = (e) => (done(), reject(e))
    const onExit = (code) => (done(), reject(new Error(`worker exited (${code}) before ${what}`)))
    w.on('message', onMessage)
    w.on('error', onError)
    w.on('exit', onExit)
  })
}

module.exports = {
  QUICK,
  full,
  nextMessage,
  collect,
  median,
  mean,
  stats,
  percentile,
  ci95Diff,
  ci95Mean,
  interleaved,
  interleavedAsync,
  sleep,
  loadOurs,
  emit,
  runNode,
  times,
  fmtMs,
  fmtNum,
  fmtBytes,
  cpuText,
  environment,
  formatTable,
  formatReport,
  main,
}
