'use strict'
// The command line tool: `profiled-worker [options] -- node app.js`, run for real on a
// fixture app whose worker computes fib.
const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { Profile } = require('pprof-format')

const { CpuProfile } = require('..')
const { ROOT, within } = require('./helpers')

const CLI = path.join(ROOT, 'bin', 'profiled-worker.js')
const APP = path.join(__dirname, 'fixtures', 'cli', 'app.js')
const ESM_APP = path.join(__dirname, 'fixtures', 'cli', 'app.mjs')

const made = []
const tmpDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-cli-'))
  made.push(dir)
  return dir
}
// A test that fails half-way must not leave its CLI (and the app under it) running.
const started = []
test.after(() => {
  for (const child of started) {
    // The whole process group: the CLI and the app it runs.
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL')
  }
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true })
})

/** Start the CLI; `done` resolves with { code, signal, stdout, stderr } when it exits. */
function startCli(args, { env = {}, all = false } = {}) {
  // The tests of one process's files profile the first process only (its files then lie
  // directly in --out); the child-process tests pass `all`.
  const argv = all || args[0] === 'merge' || !args.includes('--') ? args : ['--first-only', ...args]
  const child = spawn(process.execPath, [CLI, ...argv], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, so that cleanup can reach the app under it too.
    detached: true,
  })
  started.push(child)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const done = new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
  /** Resolves once the app has printed `text`. */
  const printed = (text) =>
    within(
      new Promise((resolve) => {
        const check = () => stdout.includes(text) && (child.stdout.off('data', check), resolve())
        child.stdout.on('data', check)
        check()
      }),
      `the app printing ${JSON.stringify(text)}`,
    )
  return { child, done: within(done, `profiled-worker ${args.join(' ')}`, 60_000), printed }
}

const runCli = (args, options) => startCli(args, options).done

/** Resolves once `file` exists (polled): files appear while the app keeps running. */
function appears(file) {
  return within(
    new Promise((resolve) => {
      const poll = () => (fs.existsSync(file) ? resolve() : setTimeout(poll, 20))
      poll()
    }),
    `${file} to be written`,
  )
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Check one profile's files in `dir`: every format parses and shows the worker's fib. */
function checkFiles(dir, { worker = 'fib-worker' } = {}) {
  const files = fs.readdirSync(dir).sort()
  const cpuprofiles = files.filter((f) => f.endsWith('.cpuprofile'))
  assert.ok(cpuprofiles.includes('thread-0-main.cpuprofile'), files.join(' '))
  const workerFile = cpuprofiles.find((f) => f.endsWith(`-${worker}.cpuprofile`))
  assert.ok(workerFile, `the worker's .cpuprofile in ${files}`)
  for (const f of ['profile.pb.gz', 'flamegraph.svg', 'summary.txt'])
    assert.ok(files.includes(f), f)

  for (const f of cpuprofiles) CpuProfile.parse(fs.readFileSync(path.join(dir, f)))
  const workerProfile = CpuProfile.parse(fs.readFileSync(path.join(dir, workerFile)))
  assert.match(workerProfile.toCollapsed(), /fibWorkerFib \(/)

  const gz = fs.readFileSync(path.join(dir, 'profile.pb.gz'))
  assert.deepEqual([...gz.subarray(0, 2)], [0x1f, 0x8b], 'gzip magic')
  const pprof = Profile.decode(zlib.gunzipSync(gz))
  const names = pprof.function.map((fn) => pprof.stringTable.strings[Number(fn.name)])
  assert.ok(names.includes('fibWorkerFib'), 'the worker’s function in the pprof')

  const svg = fs.readFileSync(path.join(dir, 'flamegraph.svg'), 'utf8')
  assert.match(svg, /^<\?xml/)
  assert.match(svg, /<title>fibWorkerFib \([^<]*fib-worker\.js:\d+\) \(\d/)
  assert.match(svg, new RegExp(`<title>${worker} \\(thread \\d+\\)`))

  const summary = fs.readFileSync(path.join(dir, 'summary.txt'), 'utf8')
  assert.match(summary, new RegExp(`\\d+\\s+${worker}\\s+\\S+.*\\d+\\.\\d ms`), summary)
  assert.match(summary, /\d+\s+\d+\.\d%\s+fibWorkerFib \(/, summary)
  return { files, summary }
}

test('profiles the app from start to exit: a .cpuprofile per thread, pprof, flame graph, summary', async () => {
  const out = tmpDir()
  const r = await runCli(['--out', out, '--', process.execPath, APP, 'fib', '200'])
  assert.equal(r.code, 0, r.stderr)
  // The app's own output passes through untouched; the CLI is quiet when stderr is no TTY.
  assert.match(r.stdout, /^app: started\napp: fib done, \d+ calls\n$/)
  assert.equal(r.stderr, '')
  const { summary } = checkFiles(out)
  assert.match(summary, /^profiled-worker: .*app\.js fib 200\nwhole run: /)
})

test('an ESM app (named import of Worker, top-level await) is profiled the same way', async () => {
  const out = tmpDir()
  const r = await runCli(['-o', out, '--', process.execPath, ESM_APP, '150'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^esm app: fib done, \d+ calls\n$/)
  checkFiles(out, { worker: 'esm-fib-worker' })
})

test('the app’s exit code is the CLI’s, also through process.exit()', async () => {
  const out = tmpDir()
  const ends = await runCli(['-o', out, '--', process.execPath, APP, 'fib', '50', '3'])
  assert.equal(ends.code, 3, ends.stderr)
  checkFiles(out)

  const exits = await runCli([
    '-o',
    tmpDir(),
    '--',
    process.execPath,
    APP,
    'fib',
    '50',
    '4',
    'exit',
  ])
  assert.equal(exits.code, 4, exits.stderr)
})

const EXITS = path.join(__dirname, 'fixtures', 'cli', 'exits.js')

/** The main thread and both workers of exits.js, each with samples. */
function checkExitFiles(out) {
  const files = fs.readdirSync(out)
  for (const name of ['main', 'busy', 'idle']) {
    const f = files.find((x) => x.endsWith(`-${name}.cpuprofile`))
    assert.ok(f, `${name} in ${files.join(' ')}`)
    const p = CpuProfile.parse(fs.readFileSync(path.join(out, f)))
    assert.ok(p.sampleCount > 0, `${f} has samples`)
  }
  assert.match(
    CpuProfile.parse(
      fs.readFileSync(
        path.join(
          out,
          files.find((x) => x.endsWith('-busy.cpuprofile')),
        ),
      ),
    ).toCollapsed(),
    /fibWorkerFib \(/,
  )
  for (const f of ['profile.pb.gz', 'flamegraph.svg', 'summary.txt'])
    assert.ok(files.includes(f), f)
}

for (const [how, code] of [
  ['exit', 3],
  ['throw', 1],
  ['reject', 1],
]) {
  test(`an app that ends by ${how} mid-profile writes every thread, exit code ${code} as plain Node's`, async () => {
    const plain = spawn(process.execPath, [EXITS, how], { stdio: 'ignore' })
    const [plainCode] = await within(require('node:events').once(plain, 'exit'), 'plain node')
    assert.equal(plainCode, code)
    const out = tmpDir()
    const r = await runCli(['-o', out, '--', process.execPath, EXITS, how])
    assert.equal(r.code, code, r.stderr)
    checkExitFiles(out)
  })
}

test('an app killed by SIGTERM it has no handler for writes every thread and dies of it', () =>
  killedBy('SIGTERM', [EXITS, 'wait'], 'exits app: worker busy', checkExitFiles))

test('the app sees its own NODE_OPTIONS and no trace of the CLI in its environment', async () => {
  const r = await runCli(['-o', tmpDir(), '--', process.execPath, APP, 'env'], {
    env: { NODE_OPTIONS: '--max-old-space-size=200' },
  })
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), {
    NODE_OPTIONS: '--max-old-space-size=200',
    cliVariable: false,
    execArgv: [],
  })
  const none = await runCli(['-o', tmpDir(), '--', process.execPath, APP, 'env'], {
    env: { NODE_OPTIONS: '' },
  })
  assert.equal(JSON.parse(none.stdout).NODE_OPTIONS, '')
})

test('bad command lines: a message and the usage on stderr, exit code 2', async () => {
  const cases = [
    [['--bogus', '--', 'node', 'x'], /unknown option --bogus/],
    [['node', 'app.js'], /unexpected argument "node": put the command after --/],
    [[], /missing -- and the command to run/],
    [['--'], /missing the command after --/],
    [['--every', 'soon', '--', 'node', 'x'], /--every needs a duration with a unit .* got "soon"/],
    [['--every', '10ms', '--', 'node', 'x'], /--every 10ms is shorter than 100ms/],
    [['--every', '1s', '--signal', '--', 'node', 'x'], /--every and --signal cannot be combined/],
    [
      ['--interval', 'fast', '--', 'node', 'x'],
      /--interval must be a whole number of microseconds/,
    ],
    [['--out'], /--out needs a value/],
    [['--signal=yes', '--', 'node', 'x'], /--signal takes no value/],
  ]
  for (const [args, message] of cases) {
    const r = await runCli(args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, new RegExp(`^profiled-worker: ${message.source}`))
    assert.match(r.stderr, /\n\nUsage: profiled-worker \[options\] -- <command> \[args\.\.\.\]\n/)
  }
  const help = await runCli(['--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /^Usage: profiled-worker /)
  const missing = await runCli(['--', 'no-such-command-for-profiled-worker'])
  assert.equal(missing.code, 127)
  assert.match(
    missing.stderr,
    /cannot run "no-such-command-for-profiled-worker": command not found/,
  )
})

test('--every writes one set of files per window, each with the worker', async () => {
  const out = tmpDir()
  const r = await runCli(['--every', '200ms', '-o', out, '--', process.execPath, APP, 'fib', '700'])
  assert.equal(r.code, 0, r.stderr)
  const windows = fs.readdirSync(out).sort()
  assert.ok(windows.length >= 2, `windows: ${windows}`)
  assert.deepEqual(
    windows,
    windows.map((_, i) => `window-${String(i + 1).padStart(3, '0')}`),
  )
  // 700 ms of fib in 200 ms windows: the worker is in at least two of them, whenever it
  // started; every window's files are complete either way.
  let withWorker = 0
  for (const w of windows) {
    const dir = path.join(out, w)
    const summary = fs.readFileSync(path.join(dir, 'summary.txt'), 'utf8')
    assert.match(summary, new RegExp(`^window ${Number(w.slice(-3))} \\(--every 200ms\\): `, 'm'))
    for (const f of ['thread-0-main.cpuprofile', 'profile.pb.gz', 'flamegraph.svg'])
      assert.ok(fs.existsSync(path.join(dir, f)), `${w}/${f}`)
    if (/fibWorkerFib \(/.test(summary)) {
      checkFiles(dir)
      withWorker++
    }
  }
  assert.ok(withWorker >= 2, `the worker in ${withWorker} of ${windows.length} windows`)
})

test('--signal: SIGUSR2 starts a window, the next stops it and writes; stdin reaches the app', async () => {
  const out = tmpDir()
  const cli = startCli(['--signal', '-o', out, '--', process.execPath, APP, 'serve'])
  await cli.printed('app: worker busy')
  // Signals to the CLI are forwarded; wait for each to arrive (two pending signals of the
  // same kind would arrive as one).
  cli.child.kill('SIGUSR2')
  await cli.printed('app: SIGUSR2 1')
  await pause(300) // let the worker be sampled for a while
  cli.child.kill('SIGUSR2')
  await cli.printed('app: SIGUSR2 2')
  await appears(path.join(out, 'window-001', 'summary.txt'))
  checkFiles(path.join(out, 'window-001'))
  // A window still open when the app ends is written at its end.
  cli.child.kill('SIGUSR2')
  await cli.printed('app: SIGUSR2 3')
  cli.child.stdin.end('quit\n')
  const r = await cli.done
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(fs.readdirSync(out).sort(), ['window-001', 'window-002'])
  assert.ok(fs.existsSync(path.join(out, 'window-002', 'summary.txt')))
})

/** Start `app` under the CLI, send `sig` once it printed `text`: both die of it; `check(out)`. */
async function killedBy(sig, app, text, check) {
  const out = tmpDir()
  const cli = startCli(['-o', out, '--', process.execPath, ...app])
  await cli.printed(text)
  await pause(150)
  cli.child.kill(sig)
  const r = await cli.done
  assert.equal(r.signal, sig, `exit code ${r.code}: ${r.stderr}`)
  check(out)
}

test('SIGINT reaches the app, which writes its profile and dies of SIGINT, as does the CLI', () =>
  killedBy('SIGINT', [APP, 'serve'], 'app: worker busy', (out) => checkFiles(out)))

test('one name per thread: file name, pprof label, summary and flame graph agree', async () => {
  const out = tmpDir()
  const app = path.join(__dirname, 'fixtures', 'cli', 'names.js')
  const r = await runCli(['-o', out, '--', process.execPath, app])
  assert.equal(r.code, 0, r.stderr)
  // The worker is named 'fib worker/α 1': not safe in a file name, so it is written
  // `fib_worker_1` everywhere.
  const name = 'fib_worker_1'
  const files = fs.readdirSync(out)
  const file = files.find((f) => /^thread-[1-9]\d*-.*\.cpuprofile$/.test(f))
  assert.equal(file?.replace(/^thread-\d+-|\.cpuprofile$/g, ''), name, files.join(' '))
  const threadId = Number(/^thread-(\d+)-/.exec(file)[1])

  const pprof = Profile.decode(zlib.gunzipSync(fs.readFileSync(path.join(out, 'profile.pb.gz'))))
  const str = (i) => pprof.stringTable.strings[Number(i)]
  const labelled = new Map() // thread_id → thread_name
  for (const s of pprof.sample) {
    const l = Object.fromEntries(s.label.map((x) => [str(x.key), x.str ? str(x.str) : x.num]))
    labelled.set(Number(l.thread_id), l.thread_name)
  }
  assert.equal(labelled.get(threadId), name)
  assert.equal(labelled.get(0), 'main')

  const summary = fs.readFileSync(path.join(out, 'summary.txt'), 'utf8')
  assert.match(summary, new RegExp(`\\n\\s+${threadId}\\s+${name}\\s`), summary)
  assert.match(summary, new RegExp(`\\n${name} \\(thread ${threadId}\\): `), summary)
  const svg = fs.readFileSync(path.join(out, 'flamegraph.svg'), 'utf8')
  assert.match(svg, new RegExp(`<title>${name} \\(thread ${threadId}\\)`))
})

test('merge of --every windows: per-thread profiles whose samples are the sum, and one pprof', async () => {
  const runs = tmpDir()
  const r = await runCli([
    '--every',
    '200ms',
    '-o',
    runs,
    '--',
    process.execPath,
    APP,
    'fib',
    '500',
  ])
  assert.equal(r.code, 0, r.stderr)
  const windows = fs.readdirSync(runs).map((w) => path.join(runs, w))
  assert.ok(windows.length >= 2, `${windows.length} windows`)
  const samplesOf = (dir, name) => {
    const f = fs.readdirSync(dir).find((x) => x.endsWith(`-${name}.cpuprofile`))
    return f === undefined ? 0 : CpuProfile.parse(fs.readFileSync(path.join(dir, f))).sampleCount
  }
  const out = tmpDir()
  const m = await runCli(['merge', ...windows, '--out', out])
  assert.equal(m.code, 0, m.stderr)
  for (const name of ['main', 'fib-worker']) {
    const sum = windows.reduce((n, w) => n + samplesOf(w, name), 0)
    assert.equal(samplesOf(out, name), sum, name)
  }
  // CPU time is not in .cpuprofile files: the merged summary shows samples only.
  assert.match(fs.readFileSync(path.join(out, 'summary.txt'), 'utf8'), /\d+\.\d%\s+fibWorkerFib \(/)
  assert.match(
    fs.readFileSync(path.join(out, 'flamegraph.svg'), 'utf8'),
    /<title>fib-worker \(thread \d+\)/,
  )
  const pprof = Profile.decode(zlib.gunzipSync(fs.readFileSync(path.join(out, 'profile.pb.gz'))))
  const total = pprof.sample.reduce((n, s) => n + Number(s.value[0]), 0)
  assert.equal(total, samplesOf(out, 'main') + samplesOf(out, 'fib-worker'))
  const go = require('node:child_process').spawnSync(
    'go',
    ['tool', 'pprof', '-top', path.join(out, 'profile.pb.gz')],
    { encoding: 'utf8' },
  )
  if (go.status === 0) assert.match(go.stdout, /fibWorkerFib/)
})

test('every Node process of the command is profiled into <pid>-<script>/, plus one combined pprof', async () => {
  const out = tmpDir()
  const parent = path.join(__dirname, 'fixtures', 'cli', 'parent.js')
  const r = await runCli(['-o', out, '--', process.execPath, parent], { all: true })
  assert.equal(r.code, 0, r.stderr)
  const dirs = fs
    .readdirSync(out)
    .filter((d) => d !== 'profile.pb.gz')
    .sort()
  assert.equal(dirs.length, 2, dirs.join(' '))
  assert.ok(
    dirs.some((d) => /^\d+-parent\.js$/.test(d)),
    dirs.join(' '),
  )
  const child = dirs.find((d) => /^\d+-app\.js$/.test(d))
  assert.ok(child, dirs.join(' '))
  checkFiles(path.join(out, child))
  const pprof = Profile.decode(zlib.gunzipSync(fs.readFileSync(path.join(out, 'profile.pb.gz'))))
  const str = (i) => pprof.stringTable.strings[Number(i)]
  const names = new Set()
  for (const s of pprof.sample)
    for (const l of s.label) if (str(l.key) === 'thread_name') names.add(str(l.str))
  assert.ok(names.has(`${child}/fib-worker`), [...names].join(' '))
  assert.ok(
    [...names].some((n) => /^\d+-parent\.js\/main$/.test(n)),
    [...names].join(' '),
  )
})

test('merge of several processes keeps each process’s threads apart', async () => {
  const out = tmpDir()
  const parent = path.join(__dirname, 'fixtures', 'cli', 'parent.js')
  const r = await runCli(['-o', out, '--', process.execPath, parent], { all: true })
  assert.equal(r.code, 0, r.stderr)
  const procs = fs.readdirSync(out).filter((d) => /^\d+-/.test(d))
  const files = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  const expected = new Map() // `<proc>_<thread>` → samples
  for (const proc of procs)
    for (const f of files(path.join(out, proc))) {
      const name = /^thread-\d+-(.+)\.cpuprofile$/.exec(f)[1]
      const { sampleCount } = CpuProfile.parse(fs.readFileSync(path.join(out, proc, f)))
      // A merged set's names are file-safe, as in its file names (one name per thread).
      expected.set(`${proc}_${name}`, sampleCount)
    }
  assert.ok(expected.size >= 3, [...expected.keys()].join(' ')) // two mains and a worker

  const merged = tmpDir()
  const m = await runCli(['merge', out, '--out', merged])
  assert.equal(m.code, 0, m.stderr)
  const pprof = Profile.decode(zlib.gunzipSync(fs.readFileSync(path.join(merged, 'profile.pb.gz'))))
  const str = (i) => pprof.stringTable.strings[Number(i)]
  const seen = new Map()
  for (const s of pprof.sample) {
    const name = str(s.label.find((l) => str(l.key) === 'thread_name').str)
    seen.set(name, (seen.get(name) ?? 0) + Number(s.value[0]))
  }
  // Every thread of every process, once, under its own name, with its own samples.
  assert.deepEqual(
    [...seen.keys()].sort(),
    [...expected.keys()].filter((k) => expected.get(k) > 0).sort(),
  )
  for (const [name, n] of seen) assert.equal(n, expected.get(name), name)
  assert.equal(files(merged).length, expected.size)
})

test('-- npm run <script> profiles the script’s node process too', async () => {
  const pkg = tmpDir()
  fs.writeFileSync(
    path.join(pkg, 'package.json'),
    JSON.stringify({
      name: 'pw-cli-npm',
      version: '1.0.0',
      scripts: { fib: `node ${JSON.stringify(APP)} fib 150` },
    }),
  )
  const out = tmpDir()
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const r = await runCli(['-o', out, '--', npm, 'run', '--silent', '--prefix', pkg, 'fib'], {
    all: true,
  })
  assert.equal(r.code, 0, r.stderr)
  const app = fs.readdirSync(out).find((d) => /^\d+-app\.js$/.test(d))
  assert.ok(app, fs.readdirSync(out).join(' '))
  checkFiles(path.join(out, app))
})

test('--first-only profiles the first process only, and the app sees its own environment', async () => {
  const out = tmpDir()
  const parent = path.join(__dirname, 'fixtures', 'cli', 'parent.js')
  const r = await runCli(['--first-only', '-o', out, '--', process.execPath, parent], { all: true })
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(
    fs.readdirSync(out).filter((f) => f.endsWith('.cpuprofile')),
    ['thread-0-main.cpuprofile'],
  )
})
