'use strict'
// Differential: plain Node's behaviour is the specification. Each scenario runs the same
// script (__test__/fixtures/differential/) twice, under the same Node flags: with plain
// Node, and with the patch (`-r <package>`, or loaded by the script) while a profile
// covers the whole run. Its output must be the same line by line (each worker event is
// a line: online, every message, error name/code/message, exit code, in order), and so
// must stderr (minus stack frames, which name our wrappers) and the exit code. The
// profile's report is written to a file of its own, never to the app's output, and is
// checked for why a thread could not be profiled.

const test = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
const DIR = path.join(__dirname, 'fixtures', 'differential')

// The permission model's flag by Node version (none on 18).
const PERMISSION = process.allowedNodeEnvironmentFlags.has('--permission')
  ? ['--permission']
  : process.allowedNodeEnvironmentFlags.has('--experimental-permission')
    ? ['--experimental-permission']
    : null
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-differential-'))
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }))
// Writing the report file needs a write permission; the app itself writes nothing.
const permission = PERMISSION && [
  ...PERMISSION,
  '--allow-fs-read=*',
  `--allow-fs-write=${tmp}/*`,
  '--allow-worker',
]

const NO_ADDONS = { unprofiled: 'all', code: 'ERR_DLOPEN_DISABLED' }

/**
 * Flags a worker inherits (or Node refuses in an explicit execArgv), each run with
 * basic.js: a file worker, workerData, one round trip, its natural exit.
 */
const FLAG_SETS = [
  { flags: [] },
  { flags: ['--no-addons'], report: NO_ADDONS },
  { flags: permission, report: NO_ADDONS, skip: !permission && 'no permission model here' },
  // With addons allowed the inspector still is not: threads sampled through it cannot be
  // profiled (v8.startCpuProfile, where Node has it, may still sample).
  {
    flags: permission && [...permission, '--allow-addons'],
    mayBeUnprofiled: 'ERR_ACCESS_DENIED',
    skip: !permission && 'no permission model here',
  },
  { flags: ['--no-harmony-atomics'] },
  { flags: ['--experimental-shadow-realm', '--max-old-space-size=20'] },
  { flags: ['--max-old-space-size=64', '--title=pw-differential'] },
  { flags: ['--max_old_space_size=64'] },
  { flags: ['--stack-size=900'] },
  { flags: ['--no-warnings'] },
  { flags: ['--expose-gc'] },
  { flags: ['--frozen-intrinsics'] },
  { flags: ['--disallow-code-generation-from-strings'] },
  { flags: ['--jitless'] },
  { flags: ['--unhandled-rejections=strict'] },
  { flags: ['--no-deprecation', '--pending-deprecation'] },
  { flags: ['--throw-deprecation'] },
  { flags: ['--enable-source-maps'] },
  { flags: ['--disable-proto=throw'] },
  { flags: ['--experimental-vm-modules'] },
  { flags: ['--zero-fill-buffers', '--preserve-symlinks'] },
  { flags: ['--conditions=differential'] },
  { flags: ['--require', path.join(DIR, 'harness.js')] },
]

const SCENARIOS = [
  ...FLAG_SETS.map((s) => ({ script: 'basic.js', ...s })),
  { script: 'eval.js' },
  { script: 'esm.js' },
  { script: 'transfer.js' },
  { script: 'env.js' },
  { script: 'stdio.js' },
  { script: 'limits.js' },
  { script: 'exits.js' },
  { script: 'uncaught.js' },
  { script: 'exec-argv.js', report: { unprofiled: 'workers', code: 'ERR_DLOPEN_DISABLED' } },
  { script: 'nested.js' },
  { script: 'face.js', profile: false },
  { script: 'face.js', flags: ['--no-addons'], profile: false },
  { script: 'face.js', via: 'require', profile: false },
  {
    script: 'worker-flags.js',
    report: { unprofiled: 'workers', code: 'ERR_DLOPEN_DISABLED' },
  },
  // Out of file descriptors: which workers get one is a race, so the kinds of outcome
  // are compared. The patched worker must open its preload file, which can fail
  // with EMFILE where a plain eval worker opens none; every other file it opens is
  // optional, and failing to open one leaves the worker running, unprofiled.
  {
    script: 'emfile.js',
    ulimit: 128,
    via: 'require',
    // and such a worker exits with 1, as a plain one whose script cannot be opened.
    // (Node 22 and later also read package.json files to load it, which can fail alike.)
    extraKinds: [
      /^error EMFILE EMFILE: too many open files, open 'lib\/worker\/index\.js'$/,
      /^error ERR_INVALID_PACKAGE_CONFIG Cannot read package config [^ ]*: too many open files\.$/,
    ],
    withExtra: 'exit 1',
  },
]

function normalizeStderr(text) {
  return text
    .replace(/\(node:\d+\)/g, '(node:PID)')
    .split('\n')
    .filter((l) => !/^\s+at /.test(l) && !/^\s+\.\.\. \d+ lines matching/.test(l))
    .join('\n')
}

function run(s, patched, reportFile) {
  const argv = [...(s.flags ?? [])]
  if (patched && (s.via ?? '-r') === '-r') argv.push('-r', ROOT)
  argv.push(path.join(DIR, s.script))
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  delete env.PW_DIFFERENTIAL_REPORT
  delete env.PW_DIFFERENTIAL_PATCH
  if (patched) {
    env.PW_DIFFERENTIAL_PATCH = '1'
    if (s.profile !== false) env.PW_DIFFERENTIAL_REPORT = reportFile
  }
  const [cmd, args] = s.ulimit
    ? ['/bin/sh', ['-c', `ulimit -n ${s.ulimit} && exec "$0" "$@"`, process.execPath, ...argv]]
    : [process.execPath, argv]
  const r = spawnSync(cmd, args, { cwd: DIR, env, encoding: 'utf8', timeout: 60_000 })
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout.split('\n'),
    stderr: normalizeStderr(r.stderr),
  }
}

function title(s) {
  const how = (s.via ?? '-r') === '-r' ? '-r' : 'require()'
  const flags = s.flags?.length ? ` ${s.flags.join(' ')}` : ''
  const limit = s.ulimit ? ` (ulimit -n ${s.ulimit})` : ''
  return `${s.script}${flags}${limit}: plain Node and the patch (${how}${s.profile === false ? '' : ', profiling'}) agree`
}

let n = 0
for (const s of SCENARIOS) {
  test(title(s), { skip: s.skip || false }, (t) => {
    // A flag this Node does not know ("bad option", exit 9) is no scenario here.
    const known = spawnSync(process.execPath, [...(s.flags ?? []), '-e', '0'], { cwd: DIR })
    if (known.status === 9) return t.skip(`not a flag of Node ${process.version}`)
    const reportFile = path.join(tmp, `report-${n++}.json`)
    const plain = run(s, false)
    const patched = run(s, true, reportFile)
    assert.ok(plain.stdout.length > 1, `the scenario printed nothing: ${plain.stderr}`)
    if (s.extraKinds) {
      // Lines of `outcomes [...]`: the patched run may add only the allowed kinds.
      const kinds = (out) => {
        const line = out.find((l) => l.startsWith('outcomes ')) ?? ''
        const m = /^outcomes (\[.*\]) all exited true$/.exec(line)
        assert.ok(m, `every worker exited: ${line}`)
        return JSON.parse(m[1])
      }
      const preloadFailed = kinds(patched.stdout).some((k) => s.extraKinds.some((re) => re.test(k)))
      const extra = (k) =>
        s.extraKinds.some((re) => re.test(k)) || (preloadFailed && k === s.withExtra)
      assert.deepEqual(
        kinds(patched.stdout).filter((k) => !extra(k)),
        kinds(plain.stdout).filter((k) => !extra(k)),
      )
    } else {
      assert.deepEqual(patched.stdout, plain.stdout, 'stdout, line by line')
    }
    assert.equal(patched.stderr, plain.stderr, 'stderr (without stack frames)')
    assert.equal(patched.status, plain.status, 'exit code')
    assert.equal(patched.signal, plain.signal, 'signal')
    if (s.profile === false) return
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'))
    assert.equal(report.stopFailed, undefined, 'profile.stop() resolved')
    const want = s.report
    for (const t of report.threads) {
      const affected = want && (want.unprofiled === 'all' || !t.main)
      if (affected) {
        assert.equal(t.status, 'unprofiled', `thread ${JSON.stringify(t)}`)
        assert.equal(t.code, want.code, `the load error keeps its code: ${JSON.stringify(t)}`)
      } else if (t.status === 'unprofiled' && s.mayBeUnprofiled) {
        assert.equal(t.code, s.mayBeUnprofiled, JSON.stringify(t))
      } else if (t.status === 'unprofiled') {
        // Only a missing resource may keep a thread unprofiled, and it says which.
        assert.ok(s.ulimit, `thread unprofiled: ${JSON.stringify(t)}`)
        assert.notEqual(t.code, 'ERR_PROFILED_WORKER_NOT_BUILT', JSON.stringify(t))
      }
    }
    if (want)
      assert.ok(
        report.threads.some((t) => t.status === 'unprofiled'),
        'a report entry says why',
      )
  })
}
