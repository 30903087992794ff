'use strict'
// The private channel is untrusted input. Each test is one concrete attack of a worker
// that found its port (fixtures/forger.js): the main process must not crash, stop()
// must resolve with every other thread's data, and what was dropped is counted in the
// forger's report entry.
const test = require('node:test')
const assert = require('node:assert/strict')

const { serialize } = require('..')
const { LIMITS, kLink } = require('../lib/protocol')
const {
  forgedProfileJson,
  forgeryScene,
  assertNothingForeign,
  samplesUnder,
  threadOf,
  within,
  nothingLeftBehind,
} = require('./helpers')

test.afterEach(() => nothingLeftBehind())

const goodEffects = (extra = {}) => ({
  cpuTimeNs: 1n,
  wallTimeNs: 1n,
  eventLoopUtilization: { idle: 0, active: 1, utilization: 1 },
  custom: [],
  ...extra,
})

/**
 * Run one attack: `forge(scene)` returns the messages the forger posts during the
 * profile; returns the report and the forger's entry, after the common checks.
 */
async function attack(forge, { readBefore = 0 } = {}) {
  const scene = await forgeryScene()
  try {
    await scene.post(forge(scene))
    // The forger's reply comes on its own port, not ordered with the private channel's:
    // where a forged message would answer the stop, wait until the channel has read it.
    while (scene.forger[kLink].rejected < readBefore) await new Promise(setImmediate)
    await new Promise(setImmediate)
    const report = await within(scene.profile.stop(), 'stop() after the attack')
    assertNothingForeign(report, scene)
    return { report, forger: threadOf(report, scene.forger.threadId), scene }
  } finally {
    await scene.close()
  }
}

const effectsMsg = (s, effects) => ({
  t: 'effects',
  id: s.key,
  threadId: s.forger.threadId,
  threadName: 'forger',
  effects,
})
const chunkMsg = (s, fields) => ({
  t: 'chunk',
  threadId: s.forger.threadId,
  threadName: 'forger',
  ids: [s.key],
  json: forgedProfileJson(),
  ...fields,
})

test('effects that are not JSON: dropped and counted, no crash', async () => {
  const { forger } = await attack((s) => [effectsMsg(s, '{not json'), effectsMsg(s, '')])
  assert.equal(forger.dropped.badEffects, 2)
  assert.equal(typeof forger.effects.cpuTimeNs, 'bigint', 'its own effects came home')
})

test('effects that are not a string: dropped and counted', async () => {
  const { forger } = await attack((s) => [effectsMsg(s, { cpuTimeNs: 1n }), effectsMsg(s, 7)])
  assert.equal(forger.dropped.malformed, 2)
})

test('effects whose custom is not an array, or has data that is not text: dropped', async () => {
  const { forger } = await attack((s) => [
    effectsMsg(s, serialize(goodEffects({ custom: 'x' }))),
    effectsMsg(s, serialize(goodEffects({ custom: { length: 1 } }))),
    effectsMsg(s, serialize(goodEffects({ custom: [{ name: 'n', data: 5 }] }))),
    effectsMsg(s, serialize(goodEffects({ custom: [{ name: 'n', data: '{bad' }] }))),
  ])
  assert.equal(forger.dropped.badEffects, 4)
  assert.deepEqual(forger.effects.custom, [], 'its own (empty) custom effects stand')
})

test('effects with a non-integer exitCode or negative times: dropped', async () => {
  const { forger } = await attack((s) => [
    effectsMsg(s, serialize(goodEffects({ exitCode: 1.5 }))),
    effectsMsg(s, serialize(goodEffects({ exitCode: '0' }))),
    effectsMsg(s, serialize(goodEffects({ cpuTimeNs: -5n }))),
    effectsMsg(s, serialize(goodEffects({ wallTimeNs: 3 }))),
  ])
  assert.equal(forger.dropped.badEffects, 4)
  assert.equal(forger.exitCode, null)
  assert.equal(forger.effects.exitCode, undefined)
})

test('an exit message with a non-integer code: dropped', async () => {
  const { forger } = await attack((s) => [
    { t: 'exit', threadId: s.forger.threadId, threadName: 'forger', ids: [s.key], code: 1.5 },
  ])
  assert.equal(forger.dropped.malformed, 1)
  assert.equal(forger.exitCode, null)
  assert.equal(forger.status, 'ok')
})

test('chunks whose json is not a string, does not parse, or is too big: dropped', async () => {
  const { forger } = await attack((s) => [
    chunkMsg(s, { json: { nodes: [] } }),
    chunkMsg(s, { json: 'not a profile' }),
    chunkMsg(s, { json: '{"nodes": 5}' }),
    chunkMsg(s, { json: 'x'.repeat(LIMITS.chunkJson + 1) }),
  ])
  assert.equal(forger.dropped.malformed, 2)
  assert.equal(forger.dropped.badChunk, 2)
  assert.deepEqual(forger.failures, {})
  assert.match(forger.profile.toCollapsed(), /fixtures\/forger\.js/, 'its own samples are kept')
})

test('spans of odd length or under prototype keys: dropped', async () => {
  const { forger } = await attack((s) => [
    chunkMsg(s, { spans: { [s.key]: [1, 2, 3] } }),
    chunkMsg(s, { spans: JSON.parse(`{"__proto__": [1, 2], "${s.key}": [1, 2]}`) }),
    chunkMsg(s, { spans: [1, 2] }),
  ])
  assert.equal(forger.dropped.malformed, 3)
  assert.equal(samplesUnder(forger.profile, 'FORGED'), 0)
})

test('a chunk that names its profile twice is dropped, not counted twice', async () => {
  const { forger } = await attack((s) => [chunkMsg(s, { ids: [s.key, s.key] })])
  assert.equal(forger.dropped.malformed, 1)
  assert.equal(samplesUnder(forger.profile, 'FORGED'), 0)
})

test('stopped replies with a non-iterable timedOut, or naming other threads', async () => {
  const { report, forger } = await attack(
    (s) => [
      { t: 'stopped', id: s.key, timedOut: 5 },
      { t: 'stopped', id: s.key, timedOut: { length: 2 } },
      { t: 'stopped-all', timedOut: null },
      { t: 'stopped', id: s.key, timedOut: [999, s.sibling.threadId, s.nestedThreadId] },
    ],
    { readBefore: 4 },
  )
  assert.equal(forger.dropped.malformed, 3)
  assert.equal(forger.dropped.foreignThread, 1)
  assert.equal(report.thread(999), undefined)
})

test('forged samples for the sibling, its nested worker, the main thread, thread 999', async () => {
  const { report, forger } = await attack((s) =>
    [s.sibling.threadId, s.nestedThreadId, 999].flatMap((threadId) => [
      chunkMsg(s, { threadId, threadName: 'forged' }),
      effectsMsg({ ...s, forger: { threadId } }, serialize(goodEffects())),
      { t: 'error', threadId, threadName: 'forged', ids: [s.key], error: { message: 'x' } },
      { t: 'exit', threadId, threadName: 'forged', ids: [s.key], code: 3 },
    ]),
  )
  assert.equal(forger.dropped.foreignThread, 12)
  assert.equal(report.thread(999), undefined)
  // Thread 0 cannot even be named: thread ids on the channel are positive.
})

test('a worker cannot claim a thread that is not its child', async () => {
  const { forger } = await attack((s) => [
    { t: 'child', threadId: s.nestedThreadId, parentId: s.forger.threadId },
    { t: 'child', threadId: s.sibling.threadId + 1000, parentId: s.sibling.threadId },
    { t: 'child', threadId: 1, parentId: s.forger.threadId },
    chunkMsg(s, { threadId: s.nestedThreadId }),
  ])
  assert.equal(forger.dropped.badChild, 3)
  assert.equal(forger.dropped.foreignThread, 1)
})

test('a message from the parent that fails its check is counted in the worker', async () => {
  const { kLink } = require('../lib/protocol')
  const { forger } = await attack((s) => {
    // The main side's end of the forger's channel: as if the parent were hostile.
    const port = s.forger[kLink].port
    for (const m of [null, { t: 'start', id: -1 }, { t: 'task', k: 0, n: 1, ids: 'x' }])
      port.postMessage(m)
    return []
  })
  assert.equal(forger.dropped.fromParent, 3)
})

test('the interrupt entry point ignores what is not a request, and never throws', async () => {
  const scene = await forgeryScene()
  const { ask } = require('./helpers')
  try {
    for (const arg of [null, undefined, 5, '{', '{"t":"stop","id":-1}', '"x"'])
      assert.deepEqual(await ask(scene.forger, { op: 'interrupt', arg }), { result: 'ignored' })
    const report = await within(scene.profile.stop(), 'stop()')
    assertNothingForeign(report, scene)
  } finally {
    await scene.close()
  }
})

test('require() of package files gives user code in a worker no way onto the port', async () => {
  const wt = require('node:worker_threads')
  const { startProfile } = require('..')
  const { context, ask, fixture } = require('./helpers')
  const ctx = context()
  const profile = ctx(() => startProfile())
  const w = ctx(() => new wt.Worker(fixture('require-hub.js')))
  try {
    const found = await ctx(() => ask(w, 'look'))
    assert.deepEqual(found, {
      upstream: 'undefined',
      deliver: 'undefined',
      sampler: 'undefined',
      tasks: 'undefined',
      sessionsAreLive: false,
      recorded: 1,
    })
    const report = await within(profile.stop(), 'stop()')
    const t = threadOf(report, w.threadId)
    assert.equal(samplesUnder(t.profile, 'FORGED'), 0, 'nothing forged got through')
    assert.deepEqual(
      t.effects.custom.map((e) => e.name),
      ['after'],
    )
  } finally {
    await within(w.terminate(), 'terminate()')
  }
})

test('ownership relayed: a worker two levels below a worker is accepted as its own thread', async () => {
  const wt = require('node:worker_threads')
  const { runProfile } = require('..')
  // main → outer → middle → inner: each creates the next and forwards what it says; all
  // stay up until the profile has stopped.
  const leaf = `
    const { parentPort, threadId } = require('node:worker_threads')
    function innerWork(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x }
    innerWork(60)
    parentPort.on('message', () => {})
    parentPort.postMessage(threadId)`
  const spawn = (name, code) => `
    const { Worker, parentPort } = require('node:worker_threads')
    const w = new Worker(${JSON.stringify(code)}, { eval: true, name: ${JSON.stringify(name)} })
    w.on('message', (m) => parentPort.postMessage(m))`
  const code = spawn('middle', spawn('inner', leaf))
  const outer = { worker: null }
  try {
    const { result: innerId, report } = await runProfile(async () => {
      outer.worker = new wt.Worker(code, { eval: true, name: 'outer' })
      return within(new Promise((resolve) => outer.worker.once('message', resolve)), 'inner up')
    })
    assert.deepEqual(
      report.threads.map((t) => t.name),
      ['main', 'outer', 'middle', 'inner'],
    )
    const inner = threadOf(report, innerId)
    assert.ok(inner.profile.sampleCount > 0, 'the innermost worker’s samples came home')
    for (const t of report.threads) assert.deepEqual(t.dropped, {}, `${t.name}: nothing dropped`)
  } finally {
    await within(outer.worker.terminate(), 'terminate()')
  }
})

test('a failure the worker’s runtime swallows is counted in its report entry', async () => {
  const scene = await forgeryScene()
  const { ask } = require('./helpers')
  try {
    assert.deepEqual(await ask(scene.forger, { op: 'fail-inspector' }), { armed: true })
    const report = await within(scene.profile.stop(), 'stop()')
    const forger = threadOf(report, scene.forger.threadId)
    assert.ok(forger.failures.inspector >= 1, `inspector failures: ${forger.failures.inspector}`)
    for (const t of report.threads)
      if (t !== forger) assert.deepEqual(t.failures, {}, `${t.name}: no failures`)
  } finally {
    await scene.close()
  }
})

test('effects keep only the fields that were checked', async () => {
  const { ProfileSession } = require('../lib/main/session')
  const { DEFAULTS } = require('../lib/protocol')
  const session = new ProfileSession(1, 'unit', { ...DEFAULTS, mainThread: false })
  session.setEffects(
    5,
    'w',
    serialize(
      goodEffects({
        extra: 'x',
        custom: [{ name: 'n', data: '1', atNs: 1n, extra: true }],
        eventLoopUtilization: { idle: 0, active: 1, utilization: 1, extra: 1 },
        dropped: { malformed: 2 },
      }),
    ),
  )
  const report = await within(session.stop(), 'stop()')
  const t = threadOf(report, 5)
  assert.deepEqual(t.effects, {
    cpuTimeNs: 1n,
    wallTimeNs: 1n,
    eventLoopUtilization: { idle: 0, active: 1, utilization: 1 },
    custom: [{ name: 'n', data: 1, atNs: 1n }],
    // Not from the worker: the main thread reads it off the thread's profile.
    profilerTimeNs: 0n,
    errors: [],
  })
  assert.deepEqual(t.dropped, { malformed: 2 }, 'what the worker counted itself')
})
