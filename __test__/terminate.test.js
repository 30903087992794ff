'use strict'
// terminate() at every awkward moment, profiled or not: it resolves as the plain
// Worker's does, and the profile's report is whole.
const test = require('node:test')
const assert = require('node:assert/strict')
const wt = require('node:worker_threads')

const PlainWorker = wt.Worker // captured before the patch
const pw = require('..')
const { startProfile } = pw
const {
  fixture,
  within,
  context,
  ask,
  samplesUnder,
  threadOf,
  assertEffectsHome,
  watch,
  mainIsFine,
  nothingLeftBehind,
  statusOf,
} = require('./helpers')

const Worker = wt.Worker // patched
const WORK = fixture('work.js')
const ECHO = fixture('echo.js')

test("terminate() before 'online': resolves with the plain Worker's exit code", async () => {
  const plainCode = await within(new PlainWorker(ECHO).terminate(), 'plain terminate()')

  const unprofiled = new Worker(ECHO)
  const seenUnprofiled = watch(unprofiled)
  const unprofiledCode = await within(unprofiled.terminate(), 'terminate()')
  assert.equal(await seenUnprofiled.exited(), unprofiledCode)
  assert.equal(unprofiledCode, plainCode, 'outside a profile')

  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(ECHO))
  const threadId = w.threadId
  const seen = watch(w)
  const code = await within(
    ctx(() => w.terminate()),
    'terminate()',
  )
  assert.equal(await seen.exited(), code, "terminate() resolves with the 'exit' code")
  assert.deepEqual(seen.errors, [])
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'exited', statusOf(t))
  assert.equal(t.exitCode, code)
  mainIsFine(report)
  nothingLeftBehind()
  assert.equal(code, plainCode, 'inside a profile, as the plain Worker')
})

test('terminate() twice concurrently: both resolve with the plain Worker’s exit code', async () => {
  const plain = new PlainWorker(ECHO)
  assert.equal(await ask(plain, 'hi'), 'hi')
  const plainCodes = await within(
    Promise.all([plain.terminate(), plain.terminate()]),
    'plain terminate() x2',
  )
  assert.deepEqual(plainCodes, [1, 1])

  for (const profiled of [false, true]) {
    const ctx = context()
    const profile = profiled ? ctx(() => startProfile()) : null
    const w = ctx(() => new Worker(ECHO))
    const threadId = w.threadId
    const seen = watch(w)
    assert.equal(await ctx(() => ask(w, 'hi')), 'hi')
    const codes = await within(
      ctx(() => Promise.all([w.terminate(), w.terminate()])),
      'terminate() x2',
    )
    assert.deepEqual(codes, plainCodes, `profiled: ${profiled}`)
    assert.equal(await seen.exited(), 1)
    if (profile) {
      const report = await within(profile.stop(), 'stop()')
      const t = threadOf(report, threadId)
      assert.equal(t.status, 'exited', statusOf(t))
      assert.equal(t.exitCode, 1)
      assertEffectsHome(t)
      mainIsFine(report)
    }
    nothingLeftBehind()
  }
})

test("terminate() after 'exit': resolves as the plain Worker's does, no hang", async () => {
  const plain = new PlainWorker(ECHO)
  const plainSeen = watch(plain)
  plain.postMessage('exit:0')
  assert.equal(await plainSeen.exited(), 0)
  const plainResult = await within(plain.terminate(), 'plain terminate()')

  // Profile still active when terminate() is called, and already stopped.
  for (const stopFirst of [false, true]) {
    const ctx = context()
    const profile = ctx(() => startProfile())
    const w = ctx(() => new Worker(ECHO))
    const threadId = w.threadId
    const seen = watch(w)
    ctx(() => w.postMessage('exit:0'))
    assert.equal(await seen.exited(), 0)
    const report = stopFirst ? await within(profile.stop(), 'stop()') : null
    assert.equal(await within(w.terminate(), 'terminate()'), plainResult)
    assert.equal(await within(w.terminate(), 'terminate() again'), plainResult)
    const r = report ?? (await within(profile.stop(), 'stop()'))
    const t = threadOf(r, threadId)
    assert.equal(t.status, 'exited', statusOf(t))
    assert.equal(t.exitCode, 0)
    mainIsFine(r)
    nothingLeftBehind()
  }
})

test('terminate() right after the postMessage that starts a profile', async () => {
  const plain = new PlainWorker(WORK)
  assert.equal((await ask(plain, { fn: 'taskB', ms: 1 })).done, 'taskB')
  plain.postMessage({ fn: 'taskA', ms: 100 })
  const plainCode = await within(plain.terminate(), 'plain terminate()')

  const w = new Worker(WORK) // a pool's worker, idle and not profiled
  const threadId = w.threadId
  assert.deepEqual(await ask(w, { fn: 'taskB', ms: 1 }), { done: 'taskB', active: [] })
  const seen = watch(w)
  const ctx = context()
  const profile = ctx(() => startProfile())
  const code = await within(
    ctx(() => {
      w.postMessage({ fn: 'taskA', ms: 100 }) // sends the start ahead of the message
      return w.terminate()
    }),
    'terminate()',
  )
  assert.equal(code, plainCode, 'as the plain Worker')
  assert.equal(await seen.exited(), code)
  assert.deepEqual(seen.errors, [])
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'exited', statusOf(t))
  assert.equal(t.exitCode, code)
  // The record came home; its times may be 0: terminate() can land before the task ran.
  assert.equal(typeof t.effects.cpuTimeNs, 'bigint')
  assert.equal(typeof t.effects.wallTimeNs, 'bigint')
  mainIsFine(report)
  nothingLeftBehind()
})

test('terminate() while the profile is stopping, in either order', async () => {
  for (const terminateFirst of [false, true]) {
    const w = new Worker(WORK)
    const threadId = w.threadId
    const seen = watch(w)
    const ctx = context()
    const profile = ctx(() => startProfile())
    assert.deepEqual(await ctx(() => ask(w, { fn: 'taskA', ms: 150 })), {
      done: 'taskA',
      active: [profile.id],
    })
    const [report, code] = terminateFirst
      ? (
          await within(Promise.all([w.terminate(), profile.stop()]), 'terminate() and stop()')
        ).reverse()
      : await within(Promise.all([profile.stop(), w.terminate()]), 'stop() and terminate()')
    assert.equal(code, 1, `terminate() resolved (terminate first: ${terminateFirst})`)
    assert.equal(await seen.exited(), 1)
    assert.deepEqual(seen.errors, [])
    const t = threadOf(report, threadId)
    // Whether the exit lands inside the profile or just after it depends on the race.
    assert.ok(['ok', 'exited'].includes(t.status), statusOf(t))
    if (t.status === 'exited') assert.equal(t.exitCode, 1)
    assert.ok(samplesUnder(t.profile, 'taskA') > 0, 'the samples before the stop came home')
    assertEffectsHome(t)
    mainIsFine(report)
    nothingLeftBehind()
  }
})
