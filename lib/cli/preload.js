'use strict'
// Preloaded into the app by the profiled-worker CLI (NODE_OPTIONS=--require <this file>),
// before the app's first line: profiles its main thread and workers and writes the files.
// Settings come from the CLI in the PROFILED_WORKER_CLI environment variable.
//
// Nothing here may hurt the app: every failure becomes a line on stderr, never a throw.

const fs = require('node:fs')
const path = require('node:path')
const wt = require('node:worker_threads')

const ENV = 'PROFILED_WORKER_CLI'
// Not ./output, which loads the package: only what naming a directory needs.
const fileSafe = (name) => name.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '') || 'node'

function line(text) {
  try {
    fs.writeSync(2, `profiled-worker: ${text}\n`)
  } catch {
    // stderr closed: nothing to tell anyone.
  }
}

function readConfig() {
  // NODE_OPTIONS preloads run in worker threads too; the main thread does all the work.
  if (!wt.isMainThread) return null
  const text = process.env[ENV]
  if (!text) return null
  try {
    const config = JSON.parse(text)
    if (config.firstOnly) {
      // The app, and every process it starts, sees the environment it would see without
      // us: so the first Node process of the command is the one profiled, and only it.
      delete process.env[ENV]
      if (config.nodeOptions === null) delete process.env.NODE_OPTIONS
      else process.env.NODE_OPTIONS = config.nodeOptions
    } else {
      // Every Node process of the command inherits the preload (as with --cpu-prof in
      // NODE_OPTIONS) and writes into a directory of its own.
      const script = process.argv[1] ? path.basename(process.argv[1]) : 'node'
      config.out = path.join(config.out, `${process.pid}-${fileSafe(script)}`)
    }
    return config
  } catch (err) {
    line(`ignoring a malformed ${ENV} (${err.message}); the app runs unprofiled`)
    return null
  }
}

function run(config) {
  // After readConfig: loading the package patches worker_threads.Worker for the app.
  require('../..')
  const { processScope } = require('../main/api')
  const { writeReport, writeReportSync } = require('./output')

  const say = (text) => config.progress && line(text)
  const shown = (p) => path.relative(config.cwd, p) || '.'
  const windowed = config.mode !== 'run'
  const dirOf = (n) =>
    windowed ? path.join(config.out, `window-${String(n).padStart(3, '0')}`) : config.out
  const labelOf = (n) =>
    config.mode === 'every'
      ? `window ${n} (--every ${config.every})`
      : config.mode === 'signal'
        ? `window ${n} (SIGUSR2)`
        : 'whole run'

  // Made here, at the top level of the app's main thread, before any of its code: every
  // async context of the app descends from it, so every profile started in the scope,
  // also later from a timer or a signal handler, covers the whole app.
  const scope = processScope()
  let current = null // { profile, n }
  let windows = 0
  let pending = 0 // windows stopped whose files are not written yet
  let queue = Promise.resolve()
  let ending = false

  /** Start the next window; `current` stays null if that fails (and the app runs on). */
  function start() {
    const n = ++windows
    try {
      const profile = scope.start({
        name: windowed ? `${config.command} (${labelOf(n)})` : config.command,
        samplingIntervalUs: config.intervalUs,
        // The whole app is profiled, so its main thread is too, not one context's share.
        mainThread: config.mainThread ? 'whole' : false,
      })
      current = { n, profile }
    } catch (err) {
      current = null
      line(`could not start ${labelOf(n)}: ${err?.message ?? err}`)
    }
  }

  /** Stop `entry`'s profile and write its files (after those of earlier windows). */
  function finish({ n, profile }) {
    pending++
    // stop() now, so the window ends now; the files are written one window at a time.
    const report = profile.stop()
    queue = queue
      .then(() => report)
      .then((r) => writeReport(r, dirOf(n), { command: config.command, window: labelOf(n) }))
      .then(
        (files) =>
          say(
            `${labelOf(n)}: wrote ${files.length} files to ${shown(dirOf(n))}` +
              (windowed ? '' : ` (open ${shown(path.join(dirOf(n), 'flamegraph.svg'))})`),
          ),
        (err) => line(`could not write the profile of ${labelOf(n)}: ${err?.message ?? err}`),
      )
      .finally(() => pending--)
    return queue
  }

  let timer = null
  if (config.mode === 'signal') {
    process.on('SIGUSR2', () => {
      if (ending) return
      if (current) {
        say(`SIGUSR2: stopping ${labelOf(current.n)}`)
        finish(current)
        current = null
      } else {
        start()
        if (current) say(`SIGUSR2: profiling ${labelOf(current.n)}`)
      }
    })
  } else {
    start()
  }
  if (config.mode === 'every') {
    timer = setInterval(() => {
      if (ending) return
      // The next window starts before this one stops, so no sample falls between them.
      const last = current
      start()
      if (last) finish(last)
    }, config.everyMs)
    // The windows must never keep the app alive.
    timer.unref()
  }

  function end() {
    ending = true
    if (timer) clearInterval(timer)
    const last = current
    current = null
    return last ? finish(last) : queue
  }

  // The event loop is empty: the app is done. Writing is async, so the loop runs again
  // and 'beforeExit' comes back once the files are written; then there is nothing to do.
  process.on('beforeExit', () => {
    if (!ending) end()
  })

  const { onUnhandledTerminatingSignal, EXIT_BUDGET_MS } = require('./signals')
  // Killed by a signal the app does not handle itself: write the profile first, then die
  // of the same signal, as the app would have. A repeat of the signal (a terminal's
  // Ctrl+C reaches us both directly and through the CLI) changes nothing.
  onUnhandledTerminatingSignal((sig, reraise) => {
    if (ending && current === null && pending === 0) return reraise()
    if (ending) return
    say(`${sig}: writing the profile before the app stops`)
    end().finally(reraise)
  })

  // process.exit() and uncaught errors end the app synchronously: no promise settles any
  // more, so the open window is stopped and written here, synchronously, with what each
  // worker sends within EXIT_BUDGET_MS (summary.txt names those that did not answer).
  process.on('exit', () => {
    if (timer) clearInterval(timer)
    ending = true
    const last = current
    current = null
    if (last === null) {
      if (pending > 0) line('the app exited before the last window was written; it is lost')
      return
    }
    try {
      const report = last.profile.stopNow(EXIT_BUDGET_MS)
      writeReportSync(report, dirOf(last.n), { command: config.command, window: labelOf(last.n) })
      say(`${labelOf(last.n)}: written at exit to ${shown(dirOf(last.n))}`)
    } catch (err) {
      line(`could not write the profile of ${labelOf(last.n)} at exit: ${err?.message ?? err}`)
    }
  })
}

const config = readConfig()
if (config) {
  try {
    if (config.mode === 'continuous') require('./continuous').run(config, line)
    else run(config)
  } catch (err) {
    line(`could not start profiling (${err?.stack ?? err}); the app runs unprofiled`)
  }
}
