'use strict'
// The per-task bookkeeping of a profiled worker (lib/worker/tasks.js), driven by hand in
// this thread: a fake wall clock (performance.now) and a fake CPU clock, so spans, CPU and
// wall time are exact numbers, and real MessagePorts for the channel matching.
const test = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const { MessageChannel } = require('node:worker_threads')
const { performance } = require('node:perf_hooks')
const { TaskTracker, ROOT, NONE } = require('../lib/worker/tasks')

// tasks.js converts performance.now() to the hrtime clock once, on first use: with both
// faked there, 1 ms of fake time is 1000 µs from ORIGIN_US exactly.
const ORIGIN_US = 3_000_000
const clock = { ms: 0, cpuNs: 0, cpuReads: 0 }
const us = (ms) => ORIGIN_US + ms * 1000
{
  const hrtime = process.hrtime.bigint
  clock.ms = 7
  // Node 18's performance.now is a read-only accessor; an own property shadows it.
  Object.defineProperty(performance, 'now', {
    value: () => clock.ms,
    configurable: true,
    writable: true,
  })
  process.hrtime.bigint = () => BigInt((ORIGIN_US + 7000) * 1000)
  try {
    new TaskTracker(() => 0).restart()
  } finally {
    process.hrtime.bigint = hrtime
  }
}

/** A tracker on the fake clocks; the clocks start at 0. */
function tracker() {
  clock.ms = 0
  clock.cpuNs = 0
  clock.cpuReads = 0
  return new TaskTracker(() => {
    clock.cpuReads++
    return clock.cpuNs
  })
}

/** Lets `ms` of wall time pass, `cpuMs` of it on the CPU (all of it by default). */
function pass(ms, cpuMs = ms) {
  clock.ms += ms
  clock.cpuNs += cpuMs * 1e6
}

const ctx = (...ids) => ({ ids })
// intervalUs 4000: the resolution (a quarter) is 1 ms of fake time.
const INTERVAL = 4000

test('ROOT is no context and NONE belongs to no profile', () => {
  assert.equal(ROOT, null)
  assert.deepEqual(NONE.ids, [])
  assert.ok(Object.isFrozen(NONE) && Object.isFrozen(NONE.ids))
})

test('an owner gets the work no message caused; CPU and wall time come with it', () => {
  const t = tracker()
  assert.equal(t.recording, false)
  t.join(1, true, INTERVAL)
  assert.equal(t.recording, true)
  pass(10, 4)
  assert.deepEqual(t.take([1]), { 1: [us(0), us(10)] })
  pass(5, 5)
  assert.deepEqual(t.take([1, 2]), { 1: [us(10), us(15)] })
  assert.deepEqual(t.leave(1), { cpuNs: 9e6, wallUs: 15_000 })
  assert.equal(t.recording, false)
  assert.equal(t.leave(1), null)
})

test('a member that does not own the worker gets only its tasks', () => {
  const t = tracker()
  t.join(1, false, INTERVAL)
  pass(10)
  const r = t.run(ctx(1), () => {
    pass(3, 2)
    return 'result'
  })
  assert.equal(r, 'result')
  pass(10)
  t.run(ctx(2), () => pass(4))
  t.run(ctx(1, 2), () => pass(2))
  assert.deepEqual(t.take([1]), { 1: [us(10), us(13), us(27), us(29)] })
  assert.deepEqual(t.leave(1), { cpuNs: 4e6, wallUs: 5000 })
})

test('run() restores the context it interrupted when it is the only one', () => {
  const t = tracker()
  t.join(1, false, INTERVAL)
  const a = ctx(1)
  t.received(a)
  t.run(ctx(2), () => pass(1))
  assert.equal(t.current, a)
  assert.equal(t.inDispatch, false)
  t.leave(1)
})

test('run() restores the context it interrupted, even when its function throws', () => {
  const t = tracker()
  t.join(1, false, INTERVAL)
  const a = ctx(1)
  const b = ctx(2)
  t.run(a, () => {
    assert.equal(t.current, a)
    assert.throws(() =>
      t.run(b, () => {
        assert.equal(t.current, b)
        throw new Error('x')
      }),
    )
    assert.equal(t.current, a)
  })
  assert.equal(t.current, ROOT)
  t.leave(1)
})

test('sessionsNow: the owners outside every task, the task’s profiles inside one', () => {
  const t = tracker()
  const sessions = new Map([
    [1, { id: 1, owner: true }],
    [2, { id: 2, owner: false }],
    [3, { id: 3, owner: true }],
  ])
  assert.deepEqual(
    t.sessionsNow(sessions).map((s) => s.id),
    [1, 3],
  )
  t.run(ctx(2, 9, 1), () => {
    assert.deepEqual(
      t.sessionsNow(sessions).map((s) => s.id),
      [2, 1],
    )
  })
  t.run(NONE, () => assert.deepEqual(t.sessionsNow(sessions), []))
})

test('a short gap between two pieces of a member joins them, unless another member worked in it', () => {
  const t = tracker()
  t.join(1, false, INTERVAL)
  t.join(2, false, INTERVAL)
  t.run(ctx(1), () => pass(2))
  pass(1) // idle, exactly the resolution: joined
  t.run(ctx(1), () => pass(2))
  pass(1.5) // idle, longer than the resolution: a new span
  t.run(ctx(1), () => pass(2))
  t.run(ctx(2), () => pass(0.5)) // short, but member 2 worked in it
  t.run(ctx(1), () => pass(2))
  assert.deepEqual(t.take([1, 2]), {
    1: [us(0), us(5), us(6.5), us(8.5), us(9), us(11)],
    2: [us(8.5), us(9)],
  })
  // The joined gap counts as member 1's wall and CPU time; the others do not.
  assert.deepEqual(t.leave(1), { cpuNs: 9e6, wallUs: 9000 })
  assert.deepEqual(t.leave(2), { cpuNs: 0.5e6, wallUs: 500 })
})

test('work for the owners in a gap is foreign to a member that does not own the worker', () => {
  const t = tracker()
  t.join(1, false, INTERVAL)
  t.join(2, true, INTERVAL)
  t.run(ctx(1), () => pass(2))
  pass(0.5) // ROOT: member 2's
  t.run(ctx(1), () => pass(2))
  assert.deepEqual(t.take([1, 2]), { 1: [us(0), us(2), us(2.5), us(4.5)], 2: [us(2), us(2.5)] })
  t.leave(1)
  t.leave(2)
})

test('work for nobody in a gap is not foreign: the gap is joined', () => {
  const t = tracker()
  t.join(1, false, INTERVAL)
  t.join(2, false, INTERVAL)
  t.run(ctx(1), () => pass(2))
  t.run(NONE, () => pass(0.5))
  t.run(ctx(3), () => pass(0.25))
  t.run(ctx(1), () => pass(2))
  assert.deepEqual(t.take([1]), { 1: [us(0), us(4.75)] })
  t.leave(1)
  t.leave(2)
})

test('spans taken at a cut are not extended: the next piece starts a span of its own', () => {
  const t = tracker()
  t.join(1, false, INTERVAL)
  t.join(2, false, INTERVAL)
  t.run(ctx(1), () => pass(2))
  assert.deepEqual(t.take([1]), { 1: [us(0), us(2)] })
  pass(0.5)
  t.run(ctx(1), () => pass(1))
  assert.deepEqual(t.take([1]), { 1: [us(2.5), us(3.5)] })
  t.run(ctx(2), () => pass(0.5))
  assert.deepEqual(t.take([1, 2]), { 1: [], 2: [us(3.5), us(4)] })
  t.run(ctx(1), () => pass(1))
  assert.deepEqual(t.take([1]), { 1: [us(4), us(5)] })
  assert.deepEqual(t.leave(1), { cpuNs: 4e6, wallUs: 4000 })
  t.leave(2)
})

test('pieces that touch are one span; pieces of no length are none', () => {
  const t = tracker()
  t.join(1, false, 4) // resolution 1 µs: no gap is joined but touching ones
  t.run(ctx(1), () => pass(1))
  t.run(ctx(1, 2), () => pass(1))
  t.run(ctx(2), () => t.run(ctx(1), () => {}))
  t.run(ctx(1), () => pass(1))
  assert.deepEqual(t.take([1]), { 1: [us(0), us(3)] })
  t.leave(1)
})

test('the CPU clock is read at most once per resolution and shared out by wall time', () => {
  const t = tracker()
  t.join(1, false, INTERVAL)
  t.join(2, false, INTERVAL)
  const reads = clock.cpuReads
  // Four switches within 1 ms: only the first reads the clock (the last reading was at 0).
  clock.ms = 1
  t.run(ctx(1), () => pass(0.25, 0))
  t.run(ctx(2), () => pass(0.5, 0))
  pass(0, 3) // 3 ms of CPU in those 0.75 ms, read at the next reading
  clock.ms = 2.25
  t.run(ctx(1), () => pass(1))
  // Read at 1 ms, not at 1.25, 1.25 or 1.75; read at 2.25 and 3.25 (1 ms after the last).
  assert.equal(clock.cpuReads - reads, 3)
  t.take([])
  assert.equal(clock.cpuReads - reads, 4)
  const one = t.leave(1)
  const two = t.leave(2)
  // 1 → 2.25 ms: 3 ms of CPU over 1.25 ms of wall time, 2.4 ms per ms: member 1's quarter
  // gets 0.6 ms, member 2's half 1.2 ms; then 1 ms at 1 ms per ms.
  assert.deepEqual(two, { cpuNs: 1.2e6, wallUs: 500 })
  assert.equal(one.wallUs, 250 + 1000)
  assert.ok(Math.abs(one.cpuNs - 1.6e6) < 1e-3, `${one.cpuNs}`)
})

test('readings on the same instant share no CPU time and divide by no zero', () => {
  const t = tracker()
  t.join(1, false, INTERVAL)
  t.join(2, false, INTERVAL)
  // The clock does not move: every switch is at the last reading's instant.
  t.run(ctx(1), () => t.run(ctx(2), () => {}))
  pass(0, 2)
  assert.deepEqual(t.leave(1), { cpuNs: 0, wallUs: 0 })
  assert.deepEqual(t.leave(2), { cpuNs: 0, wallUs: 0 })
})

test('interpolated CPU readings lie on the line between the readings taken', () => {
  const t = tracker()
  t.join(1, false, INTERVAL)
  t.join(2, false, INTERVAL)
  clock.ms = 2
  clock.cpuNs = 8e6
  // Read at 2 ms; the switches at 2.25, 2.5 and 2.75 are not read.
  t.run(ctx(1), () => {
    pass(0.25, 0)
    t.run(ctx(2), () => pass(0.25, 0))
    pass(0.25, 0)
  })
  clock.ms = 3
  clock.cpuNs = 12e6
  // Read at 3 ms: 4 ms of CPU per ms from 2 to 3.
  t.run(ctx(1), () => pass(1, 1))
  // Member 1: 2–2.25, then 2.5–4 (the idle gap at 2.75–3 joined).
  assert.deepEqual(t.take([1, 2]), { 1: [us(2), us(2.25), us(2.5), us(4)], 2: [us(2.25), us(2.5)] })
  assert.deepEqual(t.leave(1), { cpuNs: 1e6 + 3e6, wallUs: 1750 })
  assert.deepEqual(t.leave(2), { cpuNs: 1e6, wallUs: 250 })
})

test('the resolution is a quarter of the smallest member interval', () => {
  const t = tracker()
  t.join(1, false, 8000)
  t.join(2, false, 4000)
  assert.equal(t.resolutionUs, 1000)
  t.leave(2)
  t.join(3, false, 12_000)
  assert.equal(t.resolutionUs, 2000)
  t.leave(1)
  t.leave(3)
})

test('a member joining later starts from its join, with the others’ marks folded first', () => {
  const t = tracker()
  t.join(1, true, INTERVAL)
  pass(2)
  t.join(2, true, INTERVAL)
  pass(3)
  assert.deepEqual(t.take([1, 2]), { 1: [us(0), us(5)], 2: [us(2), us(5)] })
  assert.deepEqual(t.leave(2), { cpuNs: 3e6, wallUs: 3000 })
  pass(1)
  assert.deepEqual(t.leave(1), { cpuNs: 6e6, wallUs: 6000 })
  // Recording again starts afresh.
  pass(10)
  t.join(4, true, INTERVAL)
  pass(1)
  assert.deepEqual(t.take([4]), { 4: [us(16), us(17)] })
  t.leave(4)
})

test('marks are folded as they pile up, with the same result', () => {
  const t = tracker()
  t.join(1, false, 4)
  t.join(2, false, 4)
  const a = ctx(1)
  const b = ctx(2)
  for (let i = 0; i < 5000; i++) {
    t.run(a, () => pass(1))
    t.run(b, () => pass(1))
  }
  assert.ok(t.times.length <= 8193, `${t.times.length} marks kept`)
  const spans = t.take([1])[1]
  assert.equal(spans.length, 10_000)
  assert.deepEqual(spans.slice(0, 4), [us(0), us(1), us(2), us(3)])
  assert.deepEqual(spans.slice(-2), [us(9998), us(9999)])
  assert.deepEqual(t.leave(1), { cpuNs: 5000e6, wallUs: 5000_000 })
  t.leave(2)
})

test('switching while not recording marks nothing', () => {
  const t = tracker()
  t.run(ctx(1), () => pass(5))
  assert.deepEqual(t.times, [])
  assert.equal(clock.cpuReads, 0)
  t.join(1, false, INTERVAL)
  assert.deepEqual(t.take([1]), { 1: [] })
  t.leave(1)
})

test('received(): a message read synchronously switches outside a handler only', () => {
  const t = tracker()
  const a = ctx(1)
  t.received(a)
  assert.equal(t.current, ROOT, 'not recording')
  t.join(1, false, INTERVAL)
  t.received(undefined)
  assert.equal(t.current, ROOT)
  t.received(a)
  assert.equal(t.current, a)
  t.run(ctx(2), () => {
    t.received(a)
    assert.deepEqual(t.current.ids, [2])
  })
  t.leave(1)
})

// -- channels --------------------------------------------------------------------------

function channel(t, key) {
  const { port1, port2 } = new MessageChannel()
  port2.close()
  t.watch(port1, key)
  return port1
}

test('contextOf: an unwatched port, or no announcement, leaves the context alone', () => {
  const t = tracker()
  const { port1 } = new MessageChannel()
  assert.equal(t.contextOf(port1, {}), undefined)
  t.watch({}, 4) // not a port
  const p = channel(t, 0)
  assert.equal(t.contextOf(p, {}), undefined)
  port1.close()
})

test('contextOf: an announcement covers its message and the next ones, up to the next', () => {
  const t = tracker()
  const p = channel(t, 0)
  t.announce({ k: 0, n: 2, ids: [1] })
  t.announce({ k: 0, n: 4, ids: [] })
  t.announce({ k: 0, n: 5, ids: [1, 2] })
  assert.equal(t.contextOf(p, {}), undefined) // 1
  const two = t.contextOf(p, {})
  assert.deepEqual(two, { ids: [1] })
  assert.equal(t.contextOf(p, {}), two, 'the same context object for the same announcement')
  assert.equal(t.contextOf(p, {}), NONE) // 4
  assert.deepEqual(t.contextOf(p, {}), { ids: [1, 2] }) // 5
  assert.deepEqual(t.contextOf(p, {}), { ids: [1, 2] }) // 6
})

test('contextOf: announcements are per channel', () => {
  const t = tracker()
  const p = channel(t, 0)
  const q = channel(t, 3)
  t.announce({ k: 3, n: 1, ids: [7] })
  assert.equal(t.contextOf(p, {}), undefined)
  assert.deepEqual(t.contextOf(q, {}), { ids: [7] })
  t.announce({ k: 0, n: 2, ids: [8] })
  assert.deepEqual(t.contextOf(p, {}), { ids: [8] })
  assert.deepEqual(t.contextOf(q, {}), { ids: [7] })
})

test('contextOf: an announcement that arrives late still covers the later messages', () => {
  const t = tracker()
  const p = channel(t, 0)
  t.contextOf(p, {})
  t.contextOf(p, {})
  t.announce({ k: 0, n: 1, ids: [1] })
  assert.deepEqual(t.contextOf(p, {}), { ids: [1] })
})

test('withdraw() drops an announcement whose message was never sent', () => {
  const t = tracker()
  const p = channel(t, 0)
  t.announce({ k: 0, n: 1, ids: [1] })
  t.announce({ k: 0, n: 2, ids: [2] })
  t.announce({ k: 0, n: 3, ids: [3] })
  t.withdraw(0, 9)
  t.withdraw(5, 1)
  t.withdraw(0, 2)
  assert.deepEqual(t.contextOf(p, {}), { ids: [1] })
  assert.deepEqual(t.contextOf(p, {}), { ids: [1] })
  assert.deepEqual(t.contextOf(p, {}), { ids: [3] })
  // The first waiting one can be withdrawn too.
  const q = channel(t, 1)
  t.announce({ k: 1, n: 1, ids: [1] })
  t.announce({ k: 1, n: 2, ids: [2] })
  t.withdraw(1, 1)
  assert.equal(t.contextOf(q, {}), undefined)
  assert.deepEqual(t.contextOf(q, {}), { ids: [2] })
})

test('at most 4096 announcements wait per channel; the oldest are dropped', () => {
  const t = tracker()
  const p = channel(t, 0)
  for (let n = 1; n <= 4097; n++) t.announce({ k: 0, n, ids: [n] })
  assert.equal(t.contextOf(p, {}), undefined)
  assert.deepEqual(t.contextOf(p, {}), { ids: [2] })
  const q = channel(t, 1)
  for (let n = 1; n <= 4096; n++) t.announce({ k: 1, n, ids: [n] })
  assert.deepEqual(t.contextOf(q, {}), { ids: [1] })
})

test('ports a message carries are watched from that message on', () => {
  const t = tracker()
  const p = channel(t, 0)
  const a = new MessageChannel()
  const b = new MessageChannel()
  const data = { reply: a.port1, list: [0, b.port1], n: null }
  t.announce({
    k: 0,
    n: 1,
    ids: [1],
    ports: [
      [['reply'], 5],
      [['list', 1], 6],
      [['n', 'x'], 7],
      [['missing', 'deeper'], 8],
    ],
  })
  t.contextOf(p, data)
  t.announce({ k: 5, n: 1, ids: [2] })
  t.announce({ k: 6, n: 1, ids: [3] })
  assert.deepEqual(t.contextOf(a.port1, {}), { ids: [2] })
  assert.deepEqual(t.contextOf(b.port1, {}), { ids: [3] })
  // Only the announced message carries them: the next one covered is not searched.
  const c = new MessageChannel()
  t.contextOf(p, { reply: c.port1 })
  assert.equal(t.contextOf(c.port1, {}), undefined)
  for (const ch of [a, b, c]) ch.port1.close()
})

test('watchCarried reads the paths into the worker’s data', () => {
  const t = tracker()
  const a = new MessageChannel()
  t.watchCarried({ ports: [a.port1] }, [[['ports', 0], 2]])
  t.watchCarried(null, [[['x'], 3]])
  t.watchCarried(a.port1, [[[], 4]])
  t.announce({ k: 4, n: 1, ids: [9] })
  assert.deepEqual(t.contextOf(a.port1, {}), { ids: [9] })
  a.port1.close()
})

test('release(): ports leaving forget their channel; the worker port’s key is not reported', () => {
  const t = tracker()
  const p0 = channel(t, 0)
  const p5 = channel(t, 5)
  const { port1: other } = new MessageChannel()
  t.announce({ k: 5, n: 1, ids: [1] })
  t.contextOf(p5, {})
  t.announce({ k: 5, n: 3, ids: [2] })
  assert.deepEqual(t.release([p0, other, p5]), [5])
  assert.equal(t.contextOf(p5, {}), undefined)
  assert.equal(t.contextOf(p0, {}), undefined)
  // Watched again, the channel starts from its first message, with no announcement left.
  t.watch(p5, 5)
  t.contextOf(p5, {})
  t.contextOf(p5, {})
  assert.equal(t.contextOf(p5, {}), undefined)
  other.close()
})

// -- async context ---------------------------------------------------------------------

test('async work inherits the context of the code that started it', async () => {
  const t = tracker()
  t.join(1, true, INTERVAL)
  const a = ctx(1)
  const seen = []
  try {
    await new Promise((resolve) => {
      t.run(a, () => {
        setImmediate(() => {
          seen.push(t.current)
          // An async callback is no message handler: a message read here switches.
          const b = ctx(2)
          t.received(b)
          seen.push(t.current === b)
          t.received(a)
          Promise.resolve().then(() => {
            seen.push(t.current)
            setTimeout(() => {
              seen.push(t.current)
              resolve()
            }, 1)
          })
        })
      })
      assert.equal(t.current, ROOT)
    })
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(seen, [a, true, a, a])
  } finally {
    t.leave(1)
  }
  // Not recording: the hook is off.
  let after
  await new Promise((resolve) =>
    t.run(a, () =>
      setImmediate(() => {
        after = t.current
        resolve()
      }),
    ),
  )
  assert.equal(after, ROOT)
})

test('async hooks tolerate resources that keep no context', () => {
  const t = tracker()
  t.current = ctx(1)
  const frozen = Object.freeze({})
  t.onInit(frozen)
  t.onInit(null)
  t.onInit(5)
  const plain = {}
  t.onInit(plain)
  assert.deepEqual(Object.getOwnPropertySymbols(plain).length, 1)
  t.current = ROOT
  const none = {}
  t.onInit(none)
  assert.deepEqual(Object.getOwnPropertySymbols(none), [])
})

test('after() with no before() returns to ROOT; a runaway stack is cut', () => {
  const t = tracker()
  t.run(ctx(1), () => {
    t.stack.length = 0
  })
  assert.equal(t.current, ROOT)
  assert.equal(t.inDispatch, false)
  for (let i = 0; i < 10_000; i++) t.onBefore()
  assert.equal(t.stack.length, 20_000)
  t.onBefore()
  assert.equal(t.stack.length, 20_002)
  // Past 20000 entries the stack is dropped before the push.
  t.onBefore()
  assert.equal(t.stack.length, 2)
})

test('while recording, Atomics.wait runs outside every task', () => {
  const builtin = Atomics.wait
  const t = tracker()
  t.join(1, false, INTERVAL)
  const a = ctx(1)
  assert.notEqual(Atomics.wait, builtin)
  assert.equal(Atomics.wait, t.wait)
  const cell = new Int32Array(new SharedArrayBuffer(4))
  const during = []
  const realNow = performance.now
  t.run(a, () => {
    pass(1)
    // The clock is read at each switch: what the context was then.
    performance.now = () => {
      during.push(t.current)
      return realNow()
    }
    const r = Atomics.wait(cell, 0, 0, 0)
    performance.now = realNow
    assert.equal(r, 'timed-out')
    assert.equal(Atomics.wait(cell, 0, 1), 'not-equal')
    assert.equal(t.current, a)
  })
  // Each switch reads the clock: into the wait, and back out of it.
  assert.deepEqual(during, [ROOT, a])
  t.leave(1)
  assert.equal(Atomics.wait, builtin)
  // A second tracker recording does not wrap the wrapper.
  const u = tracker()
  const v = tracker()
  u.join(1, false, INTERVAL)
  v.join(1, false, INTERVAL)
  assert.equal(Atomics.wait, u.wait)
  v.leave(1)
  assert.equal(Atomics.wait, u.wait)
  u.leave(1)
  assert.equal(Atomics.wait, builtin)
})

test('CPU readings are filled in only between two taken readings, never over them', () => {
  const t = tracker()
  t.join(1, true, INTERVAL)
  t.join(2, false, INTERVAL)
  clock.ms = 1
  clock.cpuNs = 1e6
  // Read at 1 ms (ROOT's piece 0–1 ms is member 1's), not at 1.25, read again at 2.
  t.run(ctx(2), () => pass(0.25, 0))
  clock.ms = 2
  clock.cpuNs = 5e6
  t.run(ctx(2), () => pass(1, 0))
  // Member 1: 0–1 (1 ms CPU), 1.25–2 (3 ms of the 4 shared out), 3–3 none.
  assert.deepEqual(t.leave(1), { cpuNs: 1e6 + 3e6, wallUs: 1750 })
  t.leave(2)
})

test('a wait while profiling is sliced, the port read between slices, with what one wait returns', () => {
  const t = tracker()
  const cell = new Int32Array(new SharedArrayBuffer(4))
  let idles = 0
  t.onIdle = () => {
    idles++
    clock.ms += 10 // the fake clock: each slice's 10 ms
  }
  // The value differs at the call: as the built-in, at once.
  assert.equal(t.wait(cell, 0, 1), 'not-equal')
  assert.equal(idles, 0)
  // Nobody wakes it: slices until the timeout, reading the port between them.
  assert.equal(t.wait(cell, 0, 0, 35), 'timed-out')
  assert.equal(idles, 3)
  // A waker that changed the value between two slices found no one to notify: 'ok'.
  t.onIdle = () => {
    clock.ms += 10
    Atomics.store(cell, 0, 7)
  }
  assert.equal(t.wait(cell, 0, 0), 'ok')
  // Calls the built-in would refuse get its own error.
  assert.throws(() => t.wait(new Int32Array(4), 0, 0, 5), TypeError)
  assert.throws(() => t.wait(cell, 0, 0, Symbol('t')), TypeError)
  // No reader set (not profiling here): the built-in as it is.
  t.onIdle = null
  assert.equal(t.wait(cell, 0, 0, 0), 'not-equal')
})
