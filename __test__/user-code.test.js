'use strict'
// User code that pokes at what it should not see: our envelope key, its own ports,
// a replaced postMessage, the original Worker class, and looking for our port.
const test = require('node:test')
const assert = require('node:assert/strict')
const wt = require('node:worker_threads')

const PlainWorker = wt.Worker // captured before the patch
const { ENVELOPE } = require('../lib/protocol')
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

test('user workerData with our envelope key name reaches the worker unchanged', async () => {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const d = workerData.__profiledWorkerEnvelope_v1
    if (d && d.port) d.port.postMessage('via user port')
    parentPort.postMessage({ keys: Object.keys(workerData), value: d && d.port ? { ...d, port: d.port.constructor.name } : d })`
  const cases = [
    () => ({ workerData: { [ENVELOPE]: 'mine' } }),
    () => {
      const { port1, port2 } = new wt.MessageChannel()
      return {
        workerData: {
          [ENVELOPE]: { port: port2, execArgv: ['--x'], threadName: 'fake', start: [] },
        },
        transferList: [port2],
        userPort: port1,
      }
    },
  ]
  for (const make of cases) {
    const results = []
    for (const [W, profiled] of [
      [PlainWorker, false],
      [Worker, false],
      [Worker, true],
    ]) {
      const { userPort, ...options } = make()
      const viaPort = userPort && within(new Promise((r) => userPort.once('message', r)), 'port')
      const ctx = context()
      const profile = profiled ? ctx(() => startProfile()) : null
      const w = ctx(() => new W(code, { eval: true, ...options }))
      const threadId = w.threadId
      const seen = watch(w)
      results.push(await seen.message(() => true, 'the report'))
      if (viaPort) assert.equal(await viaPort, 'via user port')
      userPort?.close()
      assert.equal(await seen.exited(), 0)
      if (profile) {
        const report = await within(profile.stop(), 'stop()')
        const t = threadOf(report, threadId)
        assert.equal(t.status, 'exited', statusOf(t))
        assert.equal(t.name, `worker ${threadId}`, 'not the name in the user’s data')
        mainIsFine(report)
      }
      nothingLeftBehind()
    }
    assert.deepEqual(results[0].keys, [ENVELOPE])
    assert.deepEqual(results[1], results[0], 'ProfiledWorker outside a profile')
    assert.deepEqual(results[2], results[0], 'ProfiledWorker inside a profile')
  }
})

test('user code using receiveMessageOnPort on its own ports does not break profiling', async () => {
  for (const pooled of [true, false]) {
    const { port1: side, port2 } = new wt.MessageChannel()
    const options = { workerData: { port: port2 }, transferList: [port2] }
    let w = pooled ? new Worker(fixture('own-ports.js'), options) : null
    const ctx = context()
    const profile = ctx(() => startProfile())
    w ??= ctx(() => new Worker(fixture('own-ports.js'), options))
    const threadId = w.threadId
    const seen = watch(w)
    side.postMessage('side message')
    ctx(() => {
      for (const seq of [1, 2, 3]) w.postMessage({ seq, ms: 60 })
    })
    const replies = await seen.waitFor(
      (s) => s.messages.flatMap((m) => m.seqs).length >= 3 && s.messages,
      'all three handled',
    )
    assert.deepEqual(
      replies.flatMap((m) => m.seqs),
      [1, 2, 3],
    )
    assert.equal(replies[0].side, 'side message')
    assert.deepEqual(replies[0].active, [profile.id])
    const report = await within(profile.stop(), 'stop()')
    const t = threadOf(report, threadId)
    assert.equal(t.status, 'ok', statusOf(t))
    assert.ok(samplesUnder(t.profile, 'ownWork') > 0, `samples of the worker (pooled: ${pooled})`)
    mainIsFine(report)
    nothingLeftBehind()
    assert.deepEqual(seen.errors, [])
    side.close()
    await terminateAll(w)
  }
})

async function replacedPostMessage(mode) {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new Worker(fixture('replace-post.js'), { workerData: { mode } }))
  const threadId = w.threadId
  const seen = watch(w)
  ctx(() => w.postMessage({ ms: 150 }))
  await seen.waitFor((s) => s.messages.length > 0 || s.exitCode !== undefined, 'the reply')
  const expected = mode === 'wrap' ? { wrapped: 'done' } : 'done'
  assert.deepEqual(seen.messages, [expected], 'the user’s own messages work as the user made them')
  const report = await within(profile.stop(), 'stop()')
  const t = threadOf(report, threadId)
  assert.equal(t.status, 'ok', statusOf(t))
  assert.ok(samplesUnder(t.profile, 'replacedWork') > 0, "the worker's samples")
  assertEffectsHome(t)
  mainIsFine(report)
  nothingLeftBehind()
  assert.deepEqual(
    seen.errors.map((e) => e.message),
    [],
    'the worker did not crash',
  )
  assert.equal(seen.exitCode, undefined, 'the worker is still running')
  await terminateAll(w)
}

test('user code wrapping MessagePort.prototype.postMessage does not break profiling', () =>
  replacedPostMessage('wrap'))

test('user code disabling MessagePort.prototype.postMessage does not break profiling', () =>
  replacedPostMessage('lockdown'))

test('a worker of the original Worker class (captured before the patch) works, unprofiled', async () => {
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new PlainWorker(WORK, { workerData: { startup: 1 } }))
  const threadId = w.threadId
  assert.deepEqual(await ctx(() => ask(w, { fn: 'taskA', ms: 50 })), { done: 'taskA', active: [] })
  const profiled = ctx(() => new Worker(WORK))
  await ctx(() => ask(profiled, { fn: 'taskA', ms: 1 }))
  const report = await within(profile.stop(), 'stop()')
  assert.equal(report.thread(threadId), undefined, 'the plain worker is not in the report')
  assert.deepEqual(
    report.threads.map((t) => t.threadId),
    [0, profiled.threadId],
  )
  mainIsFine(report)
  nothingLeftBehind()
  assert.deepEqual(await ask(w, { fn: 'taskA', ms: 1 }), { done: 'taskA', active: [] })
  await terminateAll(w, profiled)
})

test('user code cannot find the APM port in workerData, execArgv, env or enumerable globals', async () => {
  const snoop = async (W, profiled) => {
    const { port1, port2 } = new wt.MessageChannel()
    const ctx = context()
    const profile = profiled ? ctx(() => startProfile()) : null
    const w = ctx(
      () =>
        new W(fixture('snoop.js'), {
          workerData: { port: port2, nested: { list: [1, { deeper: true }] } },
          transferList: [port2],
        }),
    )
    const threadId = w.threadId
    const seen = watch(w)
    const found = await seen.message(() => true, 'what the worker found')
    assert.equal(await seen.exited(), 0)
    port1.close()
    if (profile) {
      const report = await within(profile.stop(), 'stop()')
      const t = threadOf(report, threadId)
      assert.equal(t.status, 'exited', statusOf(t))
      assert.ok(samplesUnder(t.profile, 'snoopWork') > 0, 'the worker was profiled meanwhile')
      mainIsFine(report)
      nothingLeftBehind()
    }
    return found
  }
  const plain = await snoop(PlainWorker, false)
  for (const profiled of [false, true]) {
    const found = await snoop(Worker, profiled)
    assert.deepEqual(found.foreign, [], `no MessagePort but the user's (profiled: ${profiled})`)
    assert.deepEqual(found.own, [
      'user port at workerData.port',
      'user port at worker_threads.workerData.port',
    ])
    assert.deepEqual(found.execArgvSuspicious, [])
    assert.deepEqual(found.envSuspicious, [])
    assert.deepEqual(found, plain, 'the same as in a plain worker')
  }
})
