'use strict'
// What loads when: require('profiled-worker') and a worker's start load only the patch;
// the addon and the profiling modules load with the first profile. Every file loaded is
// a file opened (and can fail under a low `ulimit -n`) and time off a worker's start.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { runScript } = require('./helpers')

// What a worker's preload loads: the runtime and what it needs before user code runs
// (the task tracker, the channel and nested-worker patch, the view of the hub that the
// package's modules get).
const PRELOAD = [
  'lib/parent/channels.js',
  'lib/parent/face.js',
  'lib/parent/link.js',
  'lib/parent/patch.js',
  'lib/parent/profiled-worker.js',
  'lib/protocol.js',
  'lib/thread/worker-view.js',
  'lib/util/clock.js',
  'lib/util/intrinsics.js',
  'lib/worker/index.js',
  'lib/worker/runtime.js',
  'lib/worker/tasks.js',
]
// Loaded with the first profile only.
const PROFILING = [
  'binding.js',
  'profiled-worker.linux-x64-gnu.node',
  'lib/main/api.js',
  'lib/main/session.js',
  'lib/thread/hub.js',
  'lib/thread/sampler/index.js',
  'lib/thread/sampler/inspector.js',
  'lib/util/json.js',
]

test('the addon and the profiling modules load with the first profile, not before', () => {
  const r = runScript(path.join(__dirname, 'fixtures', 'loaded-modules.js'))
  assert.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  const none = (where, files) =>
    assert.deepEqual(
      files.filter((f) => PROFILING.includes(f) || f.endsWith('.node')),
      [],
      `${where} loaded profiling files`,
    )
  none('require()', out.main)
  assert.deepEqual(out.idleWorker, PRELOAD, 'a worker before any profile loads the preload only')
  none('a worker started with -r profiled-worker', out.idleWorkerWithR)
  for (const f of ['binding.js', 'lib/thread/hub.js', 'lib/util/native.js'])
    assert.ok(out.profiledWorker.includes(f), `a profiled worker loads ${f}`)
  for (const f of ['binding.js', 'lib/main/session.js'])
    assert.ok(out.mainAfterProfile.includes(f), `the main thread loads ${f} with a profile`)
})
