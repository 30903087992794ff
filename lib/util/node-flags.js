'use strict'
// The words of this thread's Node command line that can carry flags: execArgv and
// NODE_OPTIONS (a flag set with v8.setFlagsFromString cannot be seen).

function nodeFlagWords() {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
}

module.exports = { nodeFlagWords }
