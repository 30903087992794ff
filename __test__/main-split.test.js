'use strict'
// The main thread split by profile (the default): a report's main thread holds the samples
// taken while code of its profile's async context ran, and the CPU and wall time of that
// code; `mainThread: 'whole'` keeps the whole thread in the window.
const test = require('node:test')
const assert = require('node:assert/strict')
const { setImmediate: turn, setTimeout: sleep } = require('node:timers/promises')
const fs = require('node:fs')
const { AsyncResource } = require('node:async_hooks')
const pw = require('..')
const { threadCpuTime } = pw
const { within, context, samplesUnder, threadOf, nothingLeftBehind } = require('./helpers')

// Busy for `ms` of wall time, in a loop whose own frames (and the clock it reads) are
// sampled under the caller's name: samplesUnder counts by the stack, so inlining or a
// sample in performance.now() still counts for the work that called it.
function spin(ms) {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) for (let i = 0; i < 200; i++) x += Math.sqrt(i + x)
  return x
}
// One uniquely named function per piece of work a test looks for.
function workOfA(ms) {
  return spin(ms)
}
function workOfB(ms) {
  return spin(ms)
}
function outerWork(ms) {
  return spin(ms)
}
function innerWork(ms) {
  return spin(ms)
}
function unprofiledWork(ms) {
  return spin(ms)
}
function inTimer(ms) {
  return spin(ms)
}
function inImmediate(ms) {
  return spin(ms)
}
function inTick(ms) {
  return spin(ms)
}
function inThen(ms) {
  return spin(ms)
}
function afterAwait(ms) {
  return spin(ms)
}
function inIoCallback(ms) {
  return spin(ms)
}
function inBound(ms) {
  return spin(ms)
}

const mainOf = (report) => threadOf(report, 0)
const under = (report, fn) => samplesUnder(mainOf(report).profile, fn)
const cpuNsOf = (report) => Number(mainOf(report).effects.cpuTimeNs)
const wallNsOf = (report) => Number(mainOf(report).effects.wallTimeNs)

/**
 * `pieces` pieces of `work` (ms each), each its own turn of the event loop, with the CPU
 * and wall time the pieces took as measured around them.
 */
async function pieces(work, pieces, ms, next) {
  const own = { cpuNs: 0, wallNs: 0 }
  for (let i = 0; i < pieces; i++) {
    await next()
    const c0 = threadCpuTime()
    const w0 = process.hrtime.bigint()
    work(ms)
    own.wallNs += Number(process.hrtime.bigint() - w0)
    own.cpuNs += Number(threadCpuTime() - c0)
  }
  return own
}

/**
 * Two requests, each in its own profile (one by startProfile, one by runProfile), their
 * pieces of `ms` alternating on the main thread as `gate` lets them (see `alternation`).
 */
async function twoRequests(mainThread, gate = backToBack, ms = 3) {
  const ctxA = context('request A')
  const a = ctxA(() => pw.startProfile({ name: 'A', mainThread }))
  const cpu0 = threadCpuTime()
  const wall0 = process.hrtime.bigint()
  const request = (who, work) => () =>
    pieces(work, 24, ms, gate.next(who)).finally(() => gate.finish(who))
  const [ownA, { result: ownB, report: b }] = await within(
    Promise.all([
      ctxA(request(0, workOfA)),
      pw.runProfile(request(1, workOfB), { name: 'B', mainThread }),
      gate.drive(),
    ]),
    'the two requests',
  )
  const reportA = await within(
    ctxA(() => a.stop()),
    'stop A',
  )
  const total = {
    cpuNs: Number(threadCpuTime() - cpu0),
    wallNs: Number(process.hrtime.bigint() - wall0),
  }
  return { a: reportA, b, ownA, ownB, total }
}

// Each piece is its own setImmediate turn: the two requests' pieces run back to back.
const backToBack = { next: () => () => turn(), finish() {}, drive: async () => {} }

/**
 * The two requests take turns, and the loop is idle for a moment before each turn (both
 * wait, the driver's timer runs outside every profile). A sample's timestamp can trail
 * the moment V8 took its stack by tens of µs, so back-to-back pieces of two profiles can
 * swap a sample at the switch (see README, Limitations); with a gap between them none can.
 */
function alternation() {
  const waiting = [null, null]
  const finished = [false, false]
  let wake = null
  const ready = () => [0, 1].every((k) => waiting[k] !== null || finished[k])
  const poke = () => {
    if (wake !== null && ready()) {
      const w = wake
      wake = null
      w()
    }
  }
  return {
    next: (who) => () =>
      new Promise((resolve) => {
        waiting[who] = resolve
        poke()
      }),
    finish(who) {
      finished[who] = true
      poke()
    },
    async drive() {
      for (let who = 0; !(finished[0] && finished[1]); who = 1 - who) {
        if (!ready()) await new Promise((resolve) => (wake = resolve))
        if (waiting[who] === null) continue // that request is done
        await sleep(1) // nobody runs
        const go = waiting[who]
        waiting[who] = null
        go()
      }
    },
  }
}

test('two concurrent profiles on the main thread, interleaved: each holds only its own work, and its own CPU and wall time', async () => {
  const { a, b, ownA, ownB, total } = await twoRequests(true, alternation())
  assert.ok(under(a, 'workOfA') > 0, 'A has its own work')
  assert.ok(under(b, 'workOfB') > 0, 'B has its own work')
  assert.equal(under(a, 'workOfB'), 0, 'A has no sample of B’s work')
  assert.equal(under(b, 'workOfA'), 0, 'B has no sample of A’s work')

  // CPU and wall time: at least what each measured around its own pieces (its spans
  // hold them), and together no more than the thread used (the spans are disjoint).
  for (const [r, own] of [
    [a, ownA],
    [b, ownB],
  ]) {
    assert.ok(cpuNsOf(r) >= 0.9 * own.cpuNs, `${r.name}: CPU ${cpuNsOf(r)} ns ≥ own ${own.cpuNs}`)
    assert.ok(
      wallNsOf(r) >= 0.9 * own.wallNs,
      `${r.name}: wall ${wallNsOf(r)} ns ≥ own ${own.wallNs}`,
    )
  }
  assert.ok(
    cpuNsOf(a) + cpuNsOf(b) <= total.cpuNs,
    `CPU of A + B (${cpuNsOf(a) + cpuNsOf(b)} ns) ≤ the thread’s (${total.cpuNs} ns)`,
  )
  assert.ok(
    wallNsOf(a) + wallNsOf(b) <= total.wallNs,
    `wall of A + B (${wallNsOf(a) + wallNsOf(b)} ns) ≤ elapsed (${total.wallNs} ns)`,
  )
  nothingLeftBehind()
})

test('back to back, alternating with setImmediate: each profile’s main thread is its own work', async () => {
  // Pieces of 6 ms: a switch can swap a sample, so the share is that of the switches.
  const { a, b } = await twoRequests(true, backToBack, 6)
  const share = (r, own, other) => under(r, own) / (under(r, own) + under(r, other))
  // Only a sample at a switch can go astray (see the test above).
  assert.ok(share(a, 'workOfA', 'workOfB') >= 0.95, `A: ${under(a, 'workOfB')} of B’s samples`)
  assert.ok(share(b, 'workOfB', 'workOfA') >= 0.95, `B: ${under(b, 'workOfA')} of A’s samples`)
  nothingLeftBehind()
})

test("mainThread: 'whole' keeps the whole main thread in each report", async () => {
  const { a, b, total } = await twoRequests('whole')
  for (const r of [a, b]) {
    assert.ok(under(r, 'workOfA') > 0, `${r.name} has A’s work`)
    assert.ok(under(r, 'workOfB') > 0, `${r.name} has B’s work`)
  }
  // Each counts the thread's CPU time in its own window, which covers most of the run.
  assert.ok(
    cpuNsOf(a) + cpuNsOf(b) > total.cpuNs,
    `CPU of A + B (${cpuNsOf(a) + cpuNsOf(b)} ns) > the thread’s (${total.cpuNs} ns)`,
  )
  nothingLeftBehind()
})

test('nested profiles: the inner holds only its context’s work, the outer holds both', async () => {
  const gate = alternation()
  const [{ result: inner, report: outer }] = await within(
    Promise.all([
      pw.runProfile(
        async () => {
          const inside = pw.runProfile(
            () => pieces(innerWork, 20, 3, gate.next(0)).finally(() => gate.finish(0)),
            { name: 'inner' },
          )
          await pieces(outerWork, 20, 3, gate.next(1)).finally(() => gate.finish(1))
          return (await inside).report
        },
        { name: 'outer' },
      ),
      gate.drive(),
    ]),
    'nested profiles',
  )
  assert.ok(under(inner, 'innerWork') > 0, 'inner has its work')
  assert.equal(under(inner, 'outerWork'), 0, 'inner has none of the outer context’s work')
  assert.ok(under(outer, 'outerWork') > 0, 'outer has its own work')
  assert.ok(under(outer, 'innerWork') > 0, 'outer has the inner profile’s work')
  assert.ok(cpuNsOf(outer) > cpuNsOf(inner), 'the outer used more CPU than the inner')
  nothingLeftBehind()
})

test('work in the profile’s timers, immediates, ticks, promise continuations and I/O callbacks counts; unprofiled work does not', async () => {
  // The profile's rounds take turns with an unprofiled request's pieces (see alternation).
  const gate = alternation()
  const unprofiled = pieces(unprofiledWork, 4, 3, gate.next(1)).finally(() => gate.finish(1))
  const next = gate.next(0)
  const [{ report }] = await within(
    Promise.all([
      pw.runProfile(async () => {
        for (let i = 0; i < 4; i++) {
          await next()
          await new Promise((resolve) => setTimeout(() => resolve(inTimer(4)), 1))
          await new Promise((resolve) => setImmediate(() => resolve(inImmediate(4))))
          await new Promise((resolve) => process.nextTick(() => resolve(inTick(4))))
          await Promise.resolve().then(() => inThen(4))
          await turn()
          afterAwait(4)
          await new Promise((resolve) => fs.stat(__filename, () => resolve(inIoCallback(4))))
        }
        gate.finish(0)
      }),
      unprofiled,
      gate.drive(),
    ]),
    'profile',
  )
  for (const fn of ['inTimer', 'inImmediate', 'inTick', 'inThen', 'afterAwait', 'inIoCallback']) {
    assert.ok(under(report, fn) > 0, `${fn} is in the report`)
  }
  assert.equal(under(report, 'unprofiledWork'), 0, 'no sample of the unprofiled request')
  nothingLeftBehind()
})

test("mainThread accepts true, false and 'whole' only", async () => {
  for (const bad of ['split', 'yes', 1, null]) {
    assert.throws(() => context()(() => pw.startProfile({ mainThread: bad })), {
      name: 'TypeError',
      message: /mainThread/,
    })
  }
  const { report } = await pw.runProfile(() => workOfA(100), { mainThread: 'whole' })
  assert.ok(under(report, 'workOfA') > 0)
  nothingLeftBehind()
})

test('the event loop’s idle time between a profile’s callbacks counts for nobody', async () => {
  const t0 = process.hrtime.bigint()
  const { report } = await within(
    pw.runProfile(async () => {
      for (let i = 0; i < 10; i++) {
        workOfA(2)
        await sleep(20)
      }
    }),
    'profile',
  )
  const elapsedNs = Number(process.hrtime.bigint() - t0)
  // 10 pieces of 2 ms among 200 ms of waiting: the wall time is the pieces'.
  assert.ok(
    wallNsOf(report) < elapsedNs / 2,
    `wall ${wallNsOf(report)} ns of ${elapsedNs} ns elapsed`,
  )
  assert.ok(cpuNsOf(report) <= wallNsOf(report), 'no more CPU than wall time')
  assert.ok(under(report, 'workOfA') > 0)
  nothingLeftBehind()
})

test('a function bound in the profile’s context (AsyncResource.bind) counts wherever it is called from', async () => {
  const ctx = context('binding')
  const profile = ctx(() => pw.startProfile({ name: 'bound' }))
  const bound = ctx(() => AsyncResource.bind(() => inBound(40)))
  await sleep(2)
  bound() // from here, outside the profile
  await sleep(2)
  unprofiledWork(20)
  const report = await within(
    ctx(() => profile.stop()),
    'stop',
  )
  assert.ok(under(report, 'inBound') > 0, 'the bound function’s work is in the report')
  assert.equal(under(report, 'unprofiledWork'), 0, 'the caller’s own work is not')
  nothingLeftBehind()
})
