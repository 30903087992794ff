'use strict'
// Built-ins the profiler uses, captured when it loads. In a worker that is before any user
// code runs (the runtime is preloaded), so user code that replaces
// MessagePort.prototype.postMessage, say, changes its own messages but not ours.

const { MessagePort, MessageChannel, receiveMessageOnPort } = require('node:worker_threads')

const postMessage = MessagePort.prototype.postMessage

module.exports = {
  post: (port, msg) => Reflect.apply(postMessage, port, [msg]),
  postMessage,
  receiveMessageOnPort,
  MessagePort,
  MessageChannel,
}
