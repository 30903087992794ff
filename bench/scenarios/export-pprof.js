'use strict'
// V8 profile → gzipped pprof: ours (Rust) against pprof-format (the JS encoder
// @datadog/pprof uses), then how long the async export path blocks the event loop.
//
//   node bench/scenarios/export-pprof.js

const assert = require('node:assert/strict')
const zlib = require('node:zlib')
const { monitorEventLoopDelay, performance } = require('node:perf_hooks')
const { Profile: PprofProfile } = require('pprof-format')
const { CpuProfile } = require('../..')
const { makeCpuProfile } = require('../synth')
const { toPprofFormatProfile, pprofFormatGzip } = require('../pprof-format-peer')
const { full, collect, interleaved, median, times, fmtBytes, fmtMs, main } = require('../harness')

const SHAPE = { nodes: 5000, samples: 100_000, functions: 300, urls: 50, maxDepth: 30 }
const STALL = { rounds: full(7, 2), windowMs: full(600, 300), minOps: 20, targetMs: 2 }

/** Decode a gzipped pprof with pprof-format and check it holds every sample of `v8`. */
function checkPprof(label, gz, v8) {
  const p = PprofProfile.decode(zlib.gunzipSync(gz))
  const count = p.sample.reduce((sum, s) => sum + Number(s.value[0]), 0)
  assert.equal(count, v8.samples.length, `${label}: pprof holds ${count} samples`)
  const wallNs = p.sample.reduce((sum, s) => sum + Number(s.value[1]), 0)
  return { samples: p.sample.length, locations: p.location.length, wallNs, bytes: gz.length }
}

async function verify(v8, text, parsed) {
  const ours = checkPprof('ours toPprof', parsed.toPprof(), v8)
  checkPprof('ours parse+toPprof', CpuProfile.parse(text).toPprof(), v8)
  checkPprof('ours toPprofAsync', await parsed.toPprofAsync(), v8)
  checkPprof(
    'ours parseAsync+toPprofAsync',
    await (await CpuProfile.parseAsync(text)).toPprofAsync(),
    v8,
  )
  const peer = checkPprof('pprof-format', pprofFormatGzip(v8), v8)
  // Same dedup rules and values on both sides, or the race would not be like for like.
  assert.deepEqual(
    [peer.samples, peer.locations, peer.wallNs],
    [ours.samples, ours.locations, ours.wallNs],
    'ours and pprof-format encode different profiles',
  )
  return { ours, peer }
}

function timedArms(v8, text, parsed) {
  return [
    {
      name: '(a) ours parse(JSON.stringify)+toPprof',
      fn: () => CpuProfile.parse(JSON.stringify(v8)).toPprof(),
    },
    { name: '(b) ours toPprof (parsed)', fn: () => parsed.toPprof() },
    { name: '(c) pprof-format + gzipSync', fn: () => pprofFormatGzip(v8) },
    // The parts of (a) and (c), measured in the same rounds, to show where the time goes.
    { name: '  (a) part: JSON.stringify', fn: () => JSON.stringify(v8) },
    { name: '  (a) part: CpuProfile.parse', fn: () => CpuProfile.parse(text) },
    { name: '  (c) part: convert to Profile', fn: () => toPprofFormatProfile(v8) },
    { name: '  (c) part: convert+encode', fn: () => toPprofFormatProfile(v8).encode() },
  ]
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Keep the loop busy while it is measured: a setImmediate chain (records the longest gap
 * between two turns, a finer view than the 1 ms histogram) and a setTimeout(0) chain.
 */
function startPings() {
  let running = true
  let last = performance.now()
  let maxGap = 0
  const immediate = () => {
    const now = performance.now()
    if (now - last > maxGap) maxGap = now - last
    last = now
    if (running) setImmediate(immediate)
  }
  const timeout = () => running && setTimeout(timeout, 0)
  setImmediate(immediate)
  setTimeout(timeout, 0)
  return () => {
    running = false
    return maxGap
  }
}

/**
 * Run `op` (async) back to back for at least `windowMs` and `minOps` calls while the loop
 * delay histogram (1 ms resolution) and the pings watch. `op` returns how long its own
 * synchronous part took, when it knows.
 */
async function stallPhase({ op, minOps = STALL.minOps }) {
  const stopPings = startPings()
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  const t0 = performance.now()
  let ops = 0
  let maxCallMs = 0
  while (ops < minOps || performance.now() - t0 < STALL.windowMs) {
    maxCallMs = Math.max(maxCallMs, (await op()) ?? 0)
    ops++
  }
  h.disable()
  const maxGapMs = stopPings()
  return { maxDelayMs: h.max / 1e6, maxGapMs, maxCallMs, ops }
}

/** Time just the synchronous part of starting an async call: what it blocks the loop for. */
function started(start) {
  const t0 = performance.now()
  const promise = start()
  return { promise, callMs: performance.now() - t0 }
}

function stallPhases(text, parsed) {
  return [
    {
      name: '(i) idle (pings only)',
      minOps: 1,
      op: async () => {
        await sleep(STALL.windowMs)
      },
    },
    {
      name: '(ii) await toPprofAsync()',
      op: async () => {
        const a = started(() => parsed.toPprofAsync())
        await a.promise
        return a.callMs
      },
    },
    {
      name: '(iii) await parseAsync(text) + toPprofAsync()',
      dropsProfiles: true,
      op: async () => {
        const a = started(() => CpuProfile.parseAsync(text))
        const p = await a.promise
        const b = started(() => p.toPprofAsync())
        await b.promise
        return Math.max(a.callMs, b.callMs)
      },
    },
    {
      name: '(iv) sync toPprof() (contrast)',
      op: async () => {
        const t0 = performance.now()
        parsed.toPprof()
        const ms = performance.now() - t0
        await nextTurn()
        return ms
      },
    },
    {
      name: '(v) sync parse(text) + toPprof() (contrast)',
      dropsProfiles: true,
      op: async () => {
        const t0 = performance.now()
        CpuProfile.parse(text).toPprof()
        const ms = performance.now() - t0
        await nextTurn()
        return ms
      },
    },
  ]
}

/**
 * Native objects are freed when V8 collects their JS wrappers, on the JS thread, at
 * whatever GC comes next (measured below: ~0.7 ms per dropped 100k-sample CpuProfile).
 * So phases that drop CpuProfiles ((iii), (v)) are interleaved only with each other, and
 * run after the phases that drop none: otherwise their deferred frees would land in the
 * idle baseline. With --expose-gc each phase also starts from a collected heap.
 */
async function measureStalls(text, parsed, log) {
  const phases = stallPhases(text, parsed)
  const results = new Map(phases.map((ph) => [ph, []]))
  for (const group of [false, true]) {
    const members = phases.filter((ph) => Boolean(ph.dropsProfiles) === group)
    for (const ph of members) await stallPhase(ph) // warm-up
    for (let r = 0; r < STALL.rounds; r++) {
      for (let k = 0; k < members.length; k++) {
        const ph = members[(r + k) % members.length]
        await settle()
        results.get(ph).push(await stallPhase(ph))
      }
      log(`  stall round ${r + 1}/${STALL.rounds} (${group ? 'parsing' : 'non-parsing'} phases)`)
    }
  }
  return phases.map((ph) => ({ name: ph.name, runs: results.get(ph) }))
}

/** Let pending callbacks and finalizers run before a phase starts measuring. */
async function settle() {
  collect()
  await sleep(20)
}

/**
 * Only measurable with --expose-gc: the longest loop gap around a forced GC, with and
 * without `count` just-dropped CpuProfiles whose native memory the GC's finalizers free.
 */
async function measureDeferredFree(text, count) {
  if (typeof global.gc !== 'function') return null
  const gapAroundGc = async (drop) => {
    await settle()
    let profiles = drop ? Array.from({ length: count }, () => CpuProfile.parse(text)) : []
    // eslint-disable-next-line no-unused-vars -- allocated only to become garbage
    profiles = null
    const stopPings = startPings()
    await nextTurn()
    global.gc()
    await sleep(100)
    return stopPings()
  }
  const base = []
  const dropped = []
  for (let r = 0; r < 5; r++) {
    base.push(await gapAroundGc(false))
    dropped.push(await gapAroundGc(true))
  }
  return { base, dropped }
}

function stallRows(stalls) {
  const idle = median(stalls[0].runs.map((x) => x.maxDelayMs))
  return stalls.map(({ name, runs }) => {
    const delays = runs.map((x) => x.maxDelayMs)
    const gap = fmtMs(Math.max(...runs.map((x) => x.maxGapMs)))
    const call = fmtMs(Math.max(...runs.map((x) => x.maxCallMs)))
    return {
      scenario: '5 export: loop delay during export',
      arm: name,
      median: median(delays),
      min: Math.min(...delays),
      max: Math.max(...delays),
      ratio: name.startsWith('(i)')
        ? `baseline; worst ping gap ${gap} ms`
        : `${times(median(delays), idle)} idle; worst ping gap ${gap}, longest sync call ${call} ms`,
      // The async paths promise a loop that stays responsive; the sync ones are contrasts.
      ...(name.startsWith('(ii)') || name.startsWith('(iii)')
        ? {
            target: `max ≤ ${STALL.targetMs} ms in every round`,
            met: Math.max(...delays) <= STALL.targetMs,
          }
        : {}),
    }
  })
}

function deferredFreeRows(d, count) {
  if (!d) return []
  const row = (arm, gaps, ratio) => ({
    scenario: '5 export: loop gap around gc()',
    arm,
    median: median(gaps),
    min: Math.min(...gaps),
    max: Math.max(...gaps),
    ratio,
  })
  const extra = (median(d.dropped) - median(d.base)) / count
  return [
    row('gc() alone', d.base, 'baseline'),
    row(`gc() after dropping ${count} CpuProfiles`, d.dropped, `+${fmtMs(extra)} ms per profile`),
  ]
}

async function run(log) {
  const v8 = makeCpuProfile(SHAPE)
  const text = JSON.stringify(v8)
  const parsed = CpuProfile.parse(text)
  const v = await verify(v8, text, parsed)
  log(
    `pprof: ${v8.nodes.length} nodes, ${v8.samples.length} samples, ${fmtBytes(text.length)} ` +
      'of JSON; measuring',
  )

  // Loop stalls first: the timed arms below leave hundreds of CpuProfiles for the GC to
  // free, which would otherwise land in these windows.
  const stalls = await measureStalls(text, parsed, log)
  const DROP = 50
  const deferred = await measureDeferredFree(text, DROP)

  const r = interleaved(timedArms(v8, text, parsed), {
    rounds: full(9, 3),
    warmup: 5,
    minSampleMs: 25,
    log,
  })
  const fullPath = r['(a) ours parse(JSON.stringify)+toPprof'].median
  const encode = r['(b) ours toPprof (parsed)'].median
  const peer = r['(c) pprof-format + gzipSync'].median
  const rows = []
  for (const [arm, s] of Object.entries(r)) {
    let ratio = ''
    if (arm.startsWith('(a)')) ratio = `(c)/(a) = ${times(peer, fullPath)}`
    else if (arm.startsWith('(b)')) ratio = `(c)/(b) = ${times(peer, encode)}`
    else if (arm.startsWith('(c)')) ratio = 'peer'
    else if (arm.includes('(a) part')) ratio = `${((100 * s.median) / fullPath).toFixed(0)}% of (a)`
    else ratio = `${((100 * s.median) / peer).toFixed(0)}% of (c)`
    const row = { scenario: '5 export: pprof 100k samples', arm, ...s, ratio }
    if (arm.startsWith('(a)')) {
      row.target = '(c)/(a) ≥ 3×'
      row.met = peer / fullPath >= 3
    } else if (arm.startsWith('(b)')) {
      row.target = '(c)/(b) ≥ 3×'
      row.met = peer / encode >= 3
    }
    rows.push(row)
  }
  rows.push(...stallRows(stalls), ...deferredFreeRows(deferred, DROP))

  const notes = [
    `pprof: ${v8.nodes.length} nodes, ${v8.samples.length} samples, ${fmtBytes(text.length)} of ` +
      `V8 JSON; both encoders decode (pprof-format Profile.decode) to ${v.ours.samples} pprof ` +
      `samples / ${v.ours.locations} locations holding all ${v8.samples.length} V8 samples. ` +
      `gzipped size: ours ${fmtBytes(v.ours.bytes)}, pprof-format ${fmtBytes(v.peer.bytes)}.`,
    'loop delay rows: per round, the max of monitorEventLoopDelay({resolution: 1}) (which ' +
      `counts the 1 ms timer period itself) over a ≥${STALL.windowMs} ms window of ≥` +
      `${STALL.minOps} back-to-back ops, with setImmediate + setTimeout(0) pings running; ` +
      `median and min–max over ${STALL.rounds} interleaved rounds. "ping gap" is the longest ` +
      'wait between two setImmediate turns; "sync call" the longest a call held the thread.',
    deferred
      ? `deferred free: ${DROP} dropped CpuProfiles cost the loop ` +
        `${fmtMs(median(deferred.dropped) - median(deferred.base))} ms more at the next GC ` +
        'than a GC alone (their Rust memory is freed by finalizers on the JS thread).'
      : 'deferred free: not measured (run with node --expose-gc to measure what freeing ' +
        'dropped CpuProfiles costs the loop at the next GC).',
  ]
  return { rows, notes }
}

if (require.main === module) main(run)

module.exports = { run }
