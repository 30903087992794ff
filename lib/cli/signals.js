'use strict'
// How the CLI's preloads finish their work when the app ends: on a signal that ends an
// app by default and that the app does not handle itself (then they die of the same
// signal, as the app would have), and within a budget when it exits synchronously.

// How long an exiting app waits, in all, for its workers' last samples.
const EXIT_BUDGET_MS = 200

const TERMINATING = ['SIGINT', 'SIGTERM', 'SIGHUP']

/**
 * For each terminating signal that the app has no handler of its own for: `onSignal(sig,
 * reraise)`, where `reraise()` removes ours and sends the signal again. Without a
 * listener, Node restores the default action: the signal then ends the process.
 */
function onUnhandledTerminatingSignal(onSignal) {
  for (const sig of TERMINATING) {
    const listener = () => {
      if (process.listenerCount(sig) > 1) return // the app's own handler decides
      onSignal(sig, reraise)
    }
    const reraise = () => {
      process.off(sig, listener)
      process.kill(process.pid, sig)
    }
    process.on(sig, listener)
  }
}

module.exports = { onUnhandledTerminatingSignal, EXIT_BUDGET_MS }
