'use strict'
// Names shared by the main side and the worker runtime.

const path = require('node:path')

module.exports = {
  // Key of the envelope that carries the APM port and start flags inside workerData.
  ENVELOPE: '__profiledWorkerEnvelope_v1',
  RUNTIME_PATH: path.join(__dirname, 'worker', 'index.js'),
  // MessagePort dispatch goes through this registered symbol (lib/internal/per_context/
  // messageport.js); wrapping it on a port lets the runtime act before user listeners.
  HYBRID_DISPATCH: Symbol.for('nodejs.internal.kHybridDispatch'),
  MAIN_THREAD_NAME: 'main',
  // Non-enumerable global in a profiled worker: the parent's way in when the worker is too
  // busy to read its port (see lib/parent/busy.js).
  INTERRUPT: Symbol.for('profiled-worker.interrupt'),
  // The WorkerLink of a ProfiledWorker instance.
  kLink: Symbol('profiled-worker.link'),
  DEFAULTS: Object.freeze({
    samplingIntervalUs: 1000,
    mainThread: true,
    stopTimeoutMs: 2000,
  }),
  // APM port messages. Parent → child: start, stop, stop-all, task, untag. Child →
  // parent (relayed upward unchanged through intermediate workers): chunk, effects,
  // error, exit; and to the direct parent only: stopped, stopped-all, port-gone.
  MSG: Object.freeze({
    START: 'start',
    STOP: 'stop',
    STOP_ALL: 'stop-all',
    // Announces one user message on a watched channel: its key, its sequence number on
    // that channel, the profiles of the context that sent it, and the ports it carries.
    TASK: 'task',
    // The announced message was never sent (postMessage threw).
    UNTAG: 'untag',
    // A watched port left the worker (transferred onward): stop announcing its messages.
    PORT_GONE: 'port-gone',
    CHUNK: 'chunk',
    EFFECTS: 'effects',
    ERROR: 'error',
    EXIT: 'exit',
    STOPPED: 'stopped',
    STOPPED_ALL: 'stopped-all',
  }),
}
