// `node --import profiled-worker/register app.mjs`: patches worker_threads.Worker before the app starts.
import './index.js'
