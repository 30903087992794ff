'use strict'
// Workers that fail in every way while a profile is active: each case reports the
// thread's status and what came home before the failure, and the main thread is unharmed.
const test = require('node:test')
const assert = require('node:assert/strict')
const wt = require('node:worker_threads')

const pw = require('..')
const { startProfile } = pw
const {
  within,
  context,
  ask,
  samplesUnder,
  threadOf,
  fixture,
  assertEffectsHome,
  watch,
  mainIsFine,
  nothingLeftBehind,
  terminateAll,
  statusOf,
} = require('./helpers')

const Worker = wt.Worker // patched
const WORK = fixture('work.js')
const CRASH = fixture('crash.js')

test('a worker that throws at startup: stop() resolves, thread crashed, samples up to the throw', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(CRASH, { workerData: { mode: 'throw-at-startup', ms: 150 } }))
  const threadId = w.threadId
  const seen = watch(w)
  assert.equal(await seen.exited(), 1)
  assert.deepEqual(
    seen.errors.map((e) => e.message),
    ['thrown at startup'],
  )
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'crashed', statusOf(t))
  assert.equal(t.exitCode, 1)
  assert.deepEqual(
    t.effects.errors.map((e) => e.message),
    ['thrown at startup'],
  )
  assert.ok(samplesUnder(t.profile, 'beforeTheEnd') > 0, 'the samples before the throw came home')
  mainIsFine(report)
  nothingLeftBehind()

  // A script that cannot even be loaded fails the same way.
  const ctx2 = context()
  const profile2 = ctx2(() => startProfile())
  const missing = ctx2(() => new Worker(fixture('no-such-file.js')))
  const missingId = missing.threadId
  const seen2 = watch(missing)
  assert.equal(await seen2.exited(), 1)
  assert.equal(seen2.errors[0]?.code, 'MODULE_NOT_FOUND')
  const report2 = await within(profile2.stop(), 'stop()')
  const t2 = threadOf(report2, missingId)
  assert.equal(t2.status, 'crashed', statusOf(t2))
  assert.match(t2.effects.errors[0].message, /no-such-file/)
  mainIsFine(report2)
  nothingLeftBehind()
})

test('a worker that throws in a message handler: crashed, samples up to the throw', async () => {
  const w = new Worker(CRASH, { workerData: { mode: 'throw' } }) // a pool's worker
  const threadId = w.threadId
  const seen = watch(w)
  const ctx = context()
  const profile = ctx(() => startProfile())
  ctx(() => w.postMessage({ ms: 150 }))
  assert.equal(await seen.exited(), 1)
  assert.deepEqual(
    seen.errors.map((e) => e.message),
    ['thrown in a handler'],
  )
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'crashed', statusOf(t))
  assert.equal(t.exitCode, 1)
  assert.deepEqual(
    t.effects.errors.map((e) => e.message),
    ['thrown in a handler'],
  )
  assert.ok(samplesUnder(t.profile, 'beforeTheEnd') > 0, 'the samples before the throw came home')
  mainIsFine(report)
  nothingLeftBehind()
})

test('a worker that calls process.exit(7): exited with code 7, samples up to the exit', async () => {
  const w = new Worker(CRASH, { workerData: { mode: 'exit' } })
  const threadId = w.threadId
  const seen = watch(w)
  const ctx = context()
  const profile = ctx(() => startProfile())
  ctx(() => w.postMessage({ ms: 150, code: 7 }))
  assert.equal(await seen.exited(), 7)
  assert.deepEqual(seen.errors, [])
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'exited', statusOf(t))
  assert.equal(t.exitCode, 7)
  assert.deepEqual(t.effects.errors, [])
  assert.ok(samplesUnder(t.profile, 'beforeTheEnd') > 0, 'the samples before the exit came home')
  assertEffectsHome(t)
  mainIsFine(report)
  nothingLeftBehind()
})

test('a worker that runs out of memory (maxOldGenerationSizeMb: 8): crashed, exit code 1, ERR_WORKER_OUT_OF_MEMORY recorded', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(
    () =>
      new Worker(CRASH, {
        workerData: { mode: 'oom' },
        resourceLimits: { maxOldGenerationSizeMb: 8 },
      }),
  )
  const threadId = w.threadId
  const seen = watch(w)
  ctx(() => w.postMessage({ ms: 50 }))
  assert.equal(await seen.exited(), 1)
  assert.deepEqual(
    seen.errors.map((e) => e.code),
    ['ERR_WORKER_OUT_OF_MEMORY'],
  )
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  // A recorded error outranks the exit code that follows it.
  assert.equal(t.status, 'crashed', statusOf(t))
  assert.equal(t.exitCode, 1)
  assert.deepEqual(
    t.effects.errors.map((e) => e.code),
    ['ERR_WORKER_OUT_OF_MEMORY'],
    JSON.stringify(t.effects.errors),
  )
  // V8 kills the isolate at the heap limit: no 'exit' listener runs, so the thread's
  // samples cannot come home. The report is still whole.
  mainIsFine(report)
  nothingLeftBehind()
})

test('a worker that runs out of memory keeps its samples and effects up to one cut before its death', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(
    () =>
      new Worker(CRASH, {
        workerData: { mode: 'oom' },
        // Room for the work and the package's API that recordEffect loads (on Node 24,
        // 8 MB are gone before the work starts); the hoard then fills it.
        resourceLimits: { maxOldGenerationSizeMb: 32 },
      }),
  )
  const threadId = w.threadId
  const seen = watch(w)
  // Longer than one cut interval (lib/thread/sampler ROTATE_MS) before the end, with the
  // event loop turning (a thread blocked in one synchronous stretch cannot cut).
  const ms = require('../lib/thread/sampler').ROTATE_MS * 1.5
  ctx(() => w.postMessage({ ms, sliced: true, effect: 'before-oom' }))
  assert.equal(await seen.exited(), 1)
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'crashed', statusOf(t))
  assert.ok(samplesUnder(t.profile, 'beforeTheEnd') > 0, 'the samples before the last cut')
  assertEffectsHome(t)
  assert.ok(t.effects.cpuTimeNs > 0n && t.effects.wallTimeNs > 0n, 'cpu and wall time')
  assert.deepEqual(
    t.effects.custom.map((e) => [e.name, e.data]),
    [['before-oom', { before: 'the end' }]],
  )
  mainIsFine(report)
  nothingLeftBehind()
})

test('a worker terminated by the user while profiling: exited, samples up to the terminate', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(WORK))
  const threadId = w.threadId
  const seen = watch(w)
  assert.deepEqual(await ctx(() => ask(w, { fn: 'taskA', ms: 150 })), {
    done: 'taskA',
    active: [profile.id],
  })
  assert.equal(await within(w.terminate(), 'terminate()'), 1)
  assert.equal(await seen.exited(), 1)
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'exited', statusOf(t))
  assert.equal(t.exitCode, 1)
  assert.ok(samplesUnder(t.profile, 'taskA') > 0, 'the samples before the terminate came home')
  assertEffectsHome(t)
  mainIsFine(report)
  nothingLeftBehind()
})

test('a nested worker that crashes: its thread crashed, the outer worker and the main thread fine', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const outer = ctx(() => new Worker(fixture('nested-crash.js'), { name: 'outer' }))
  const outerId = outer.threadId
  const seen = watch(outer)
  const { innerThreadId } = await seen.message((m) => m.innerThreadId !== undefined)
  await seen.message((m) => m.innerExit !== undefined, 'the nested exit')
  assert.deepEqual(
    seen.messages.filter((m) => m.innerThreadId === undefined),
    [{ innerError: 'nested worker failed' }, { innerExit: 1 }],
  )
  assert.deepEqual(await ctx(() => ask(outer, { ms: 100 })), { done: 100 }, 'outer still answers')
  const report = await within(profile.stop(), 'stop()')

  const inner = threadOf(report, innerThreadId)
  assert.equal(inner.name, 'inner')
  assert.equal(inner.status, 'crashed', statusOf(inner))
  assert.equal(inner.exitCode, 1)
  assert.deepEqual(
    inner.effects.errors.map((e) => e.message),
    ['nested worker failed'],
  )
  assert.ok(samplesUnder(inner.profile, 'innerWork') > 0, 'the nested samples before the throw')
  const o = threadOf(report, outerId)
  assert.equal(o.status, 'ok', statusOf(o))
  assert.ok(samplesUnder(o.profile, 'outerWork') > 0, 'the outer worker’s samples')
  mainIsFine(report)
  nothingLeftBehind()
  assert.deepEqual(seen.errors, [])
  await terminateAll(outer)
})
