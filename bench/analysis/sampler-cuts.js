'use strict'
// What a sampler cut costs on its thread, by way of reaching V8 (lib/sampler/), and the
// longest synchronous sampler operation on the main thread during and at the end of a
// long profile, with and without the 1 s rotation of lib/thread/sampler/index.js.
//
// Cuts: CUTS cuts, CUT_GAP_MS apart with the thread busy in between, at 1 ms sampling:
//   inspector stop + start  Profiler.stop, then Profiler.start (V8's profiler goes idle)
//   inspector overlapping   console.profile(next), then console.profileEnd(current)
//   v8 handles              v8.startCpuProfile() next, then current.stop() (Node ≥ 24.8)
// Each cut is timed with the making of its chunk (JSON text with hrtime timestamps), the
// synchronous work it costs the thread; "of which V8" is the cut alone.
//
// Long profile: SECONDS s of 1 ms sampling on this thread (busy half of each 100 ms),
// stopped at the end as one stretch, or through ThreadSampler (rotation every ROTATE_MS);
// the longest synchronous sampler operation of each.
//
//   node bench/analysis/sampler-cuts.js [--seconds 10]

const { performance } = require('node:perf_hooks')
const { InspectorSampling } = require('../../lib/thread/sampler/inspector')
const { HandleSampling } = require('../../lib/thread/sampler/v8-handles')
const { ThreadSampler, ROTATE_MS } = require('../../lib/thread/sampler')
const chunk = require('../../lib/thread/sampler/chunk')
const { median } = require('../harness')

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const SECONDS = arg('--seconds', 10)
const CUTS = 10
const CUT_GAP_MS = 200
const INTERVAL_US = 1000
const HAS_HANDLES = HandleSampling.usableFor(INTERVAL_US)

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2)
}
function busy(ms) {
  const end = performance.now() + ms
  while (performance.now() < end) fib(18)
}
/** ms of `fn()`, synchronous. */
function timed(fn) {
  const t0 = performance.now()
  fn()
  return performance.now() - t0
}

/** CUTS cuts of `cut(deliver)`: [{ total, v8 }] ms; deliver gets the raw pieces. */
async function cuts(cut) {
  const out = []
  let last = -Infinity
  for (let i = 0; i < CUTS; i++) {
    busy(CUT_GAP_MS / 2)
    await sleep(CUT_GAP_MS / 2)
    let raw
    const t0 = performance.now()
    cut((r) => (raw = r))
    const t1 = performance.now()
    last = toChunk(raw, last).lastUs
    out.push({ total: performance.now() - t0, v8: t1 - t0 })
  }
  return out
}

/** A cut's pieces (the stretch, and an inspector cut's bridge) as chunks, in order. */
function toChunk(pieces, afterUs) {
  let out = { lastUs: afterUs, samples: 0, json: null }
  for (const raw of pieces) {
    const c =
      typeof raw.json === 'string'
        ? chunk.fromJson(raw.json, raw.offsetUs, out.lastUs)
        : chunk.fromObject(raw, out.lastUs)
    out = { lastUs: c.lastUs, samples: out.samples + c.samples, json: out.json ?? c.json }
  }
  return out
}

async function cutArms() {
  const arms = []
  const ins = new InspectorSampling()
  ins.start(INTERVAL_US)
  arms.push({
    arm: 'inspector stop + start',
    xs: await cuts((deliver) => {
      ins.stop(deliver)
      ins.start(INTERVAL_US)
    }),
  })
  if (!ins.canCut(INTERVAL_US)) throw new Error('console profiles unavailable here')
  arms.push({ arm: 'inspector overlapping cut', xs: await cuts((d) => ins.cut(d)) })
  ins.stop(() => {})
  ins.close()
  if (HAS_HANDLES) {
    const h = new HandleSampling()
    h.start()
    arms.push({ arm: 'v8 handles cut', xs: await cuts((d) => h.cut(d)) })
    h.stop(() => {})
  }
  return arms
}

/** SECONDS of sampling (busy half the time), then the longest sync sampler operation. */
async function longProfile(Backend) {
  const b = new Backend()
  b.start(INTERVAL_US)
  for (let i = 0; i < SECONDS * 10; i++) {
    busy(50)
    await sleep(50)
  }
  let raw
  const ms = timed(() => b.stop((r) => (raw = r)))
  let c
  const total = ms + timed(() => (c = toChunk(raw, -Infinity)))
  b.close()
  return { stop: total, samples: c.samples }
}

async function longRotated() {
  let chunks = 0
  const sampler = new ThreadSampler(() => chunks++, { cutOnJoin: false })
  const times = []
  const advance = sampler.advance
  sampler.advance = function (ids) {
    let out
    times.push(timed(() => (out = advance.call(this, ids))))
    return out
  }
  sampler.add(1, INTERVAL_US)
  const backend = sampler.backend.constructor.name
  for (let i = 0; i < SECONDS * 10; i++) {
    busy(50)
    await sleep(50)
  }
  const stop = timed(() => sampler.remove(1))
  return { backend, stop, rotations: times.slice(0, -1), chunks }
}

const f = (ms) => `${ms.toFixed(2)} ms`

;(async () => {
  console.log(
    `node ${process.version}; 1 ms sampling; ${CUTS} cuts ${CUT_GAP_MS} ms apart; ` +
      `long profile ${SECONDS} s (rotation every ${ROTATE_MS} ms)`,
  )
  busy(200) // warm the code the arms share
  const arms = await cutArms()
  const base = median(arms[0].xs.map((x) => x.total))
  console.log(
    '\ncut (synchronous, thread busy between cuts): median [min–max], ratio to stop + start',
  )
  for (const { arm, xs } of arms) {
    const t = xs.map((x) => x.total)
    const v = xs.map((x) => x.v8)
    console.log(
      `  ${arm.padEnd(26)} ${f(median(t))} [${f(Math.min(...t))}–${f(Math.max(...t))}]` +
        `  of which V8 ${f(median(v))}  ratio ${(median(t) / base).toFixed(3)}`,
    )
  }
  if (!HAS_HANDLES) console.log('  v8 handles: not on this Node (no v8.startCpuProfile)')

  console.log(`\nlong profile, ${SECONDS} s: longest synchronous sampler operation on this thread`)
  const plain = await longProfile(InspectorSampling)
  console.log(`  inspector, one stretch:       stop ${f(plain.stop)} (${plain.samples} samples)`)
  if (HAS_HANDLES) {
    const h = await longProfile(HandleSampling)
    console.log(`  v8 handles, one stretch:      stop ${f(h.stop)} (${h.samples} samples)`)
  }
  const r = await longRotated()
  console.log(
    `  ThreadSampler (${r.backend}), rotating: stop ${f(r.stop)}, rotations max ` +
      `${f(Math.max(...r.rotations))} median ${f(median(r.rotations))} (${r.rotations.length}, ` +
      `${r.chunks} chunks)`,
  )
})()
