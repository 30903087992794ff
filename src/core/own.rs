//! The profiler's own work, named as such.
//!
//! profiled-worker runs code in every profiled thread on its own account: the worker
//! runtime's boot, inspector calls, async-hook callbacks, cuts, serialization. A sample
//! taken there is charged to one frame `(profiled-worker)`, never to the user frame or
//! the anonymous internal frames it happened to sit under. Code of ours that user code
//! calls directly (the patched `postMessage`, `runProfile`) stays where it was called,
//! and a user callback that our code runs is the user's again.

use std::collections::HashMap;
use std::sync::Arc;

use super::profile::{CallFrame, Node, Profile};

pub const OWN_FRAME: &str = "(profiled-worker)";

/// Which script urls are ours (prefixes: the package's `lib/` as a path and a file URL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnCode {
  prefixes: Vec<String>,
}

impl OwnCode {
  pub fn new(prefixes: Vec<String>) -> OwnCode {
    OwnCode {
      prefixes: prefixes.into_iter().filter(|p| !p.is_empty()).collect(),
    }
  }

  pub fn is_empty(&self) -> bool {
    self.prefixes.is_empty()
  }

  fn is_own(&self, cf: &CallFrame) -> bool {
    self.prefixes.iter().any(|p| cf.url.starts_with(p.as_str()))
  }

  /// Code the user wrote or loaded: has a url, is neither Node's nor ours.
  fn is_user(&self, cf: &CallFrame) -> bool {
    !cf.url.is_empty() && !cf.url.starts_with("node:") && !self.is_own(cf)
  }
}

pub fn own_frame() -> CallFrame {
  CallFrame {
    function_name: Arc::from(OWN_FRAME),
    script_id: Arc::from("0"),
    url: Arc::from(""),
    line_number: -1,
    column_number: -1,
  }
}

/// What the walk down the tree knows about the frames above a node.
#[derive(Clone, Copy)]
struct Above {
  /// A user frame above the first frame of ours that runs on its own account.
  user: bool,
  /// Where `(profiled-worker)` goes once our own work began: the node above our first
  /// frame when user code is further up (an async hook under `setTimeout`), else the root.
  own_anchor: Option<usize>,
  /// A user frame below our own work: user code that ours called back.
  user_again: bool,
  /// The nearest frame with a url, this one included, is user code. Frames without one
  /// (builtins, code compiled without a name) call on behalf of the code above them.
  caller_user: bool,
}

impl Profile {
  /// This profile with every sample taken in our own work moved to `(profiled-worker)`.
  pub fn own_work_named(&self, own: &OwnCode) -> Profile {
    if own.is_empty() {
      return self.clone();
    }
    let mut nodes = self.nodes.clone();
    // Node → the `(profiled-worker)` node its samples move to.
    let mut moved: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut own_under: HashMap<usize, usize> = HashMap::new();
    let start = Above {
      user: false,
      own_anchor: None,
      user_again: false,
      caller_user: false,
    };
    let mut stack = vec![(self.root, start)];
    while let Some((i, above)) = stack.pop() {
      for &c in &self.nodes[i].children {
        let cf = &self.nodes[c].call_frame;
        let mut here = above;
        match above.own_anchor {
          None if own.is_own(cf) && !above.caller_user => {
            here.own_anchor = Some(if above.user { i } else { self.root });
          }
          None => here.user |= own.is_user(cf),
          Some(_) => here.user_again |= own.is_user(cf),
        }
        if !cf.url.is_empty() {
          here.caller_user = own.is_user(cf);
        }
        if let (Some(anchor), false) = (here.own_anchor, here.user_again) {
          let at = *own_under.entry(anchor).or_insert_with(|| {
            let at = nodes.len();
            nodes.push(Node {
              id: nodes.iter().map(|n| n.id).max().unwrap_or(0) + 1,
              call_frame: own_frame(),
              hit_count: 0,
              children: Vec::new(),
              parent: Some(anchor),
              position_ticks: Vec::new(),
            });
            nodes[anchor].children.push(at);
            at
          });
          moved[c] = Some(at);
        }
        stack.push((c, here));
      }
    }
    let samples: Vec<usize> = self
      .samples
      .iter()
      .map(|&s| moved[s].unwrap_or(s))
      .collect();
    let mut p = Profile {
      nodes,
      root: self.root,
      start_time: self.start_time,
      end_time: self.end_time,
      samples,
      timestamps: self.timestamps.clone(),
    };
    if !own_under.is_empty() {
      p = p.pruned(false);
    }
    p
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::core::testing::{stacks, ProfileBuilder};

  const OURS: &str = "file:///pw/lib/";

  fn own() -> OwnCode {
    OwnCode::new(vec![OURS.into(), String::new()])
  }

  #[test]
  fn our_own_work_is_one_frame_and_user_calls_stay() {
    let p = ProfileBuilder::new(0, 1000)
      // The runtime's boot under Node's internals, down to the inspector.
      .at(100, "run@node:internal/main/worker_thread;boot@file:///pw/lib/worker/index.js;post@node:inspector")
      // An async hook that user code set off.
      .at(200, "task@app.js;setTimeout@node:timers;emitInit@node:internal/async_hooks;init@file:///pw/lib/worker/tasks.js")
      // The patched postMessage, called by user code.
      .at(300, "task@app.js;postMessage@file:///pw/lib/parent/patch.js")
      // A user callback our code runs.
      .at(400, "run@node:internal/main/worker_thread;boot@file:///pw/lib/worker/index.js;main@app.js")
      .at(500, "task@app.js")
      // Our code called by user code through a builtin, or by user code without a url
      // (`new Function` before V8 names its script): still the user's call.
      .at(600, "task@app.js;map@;cb@file:///pw/lib/util/json.js")
      .at(700, "task@app.js;anon@;threadCpuTime@file:///pw/lib/util/native.js")
      .build();
    let q = p.own_work_named(&own());
    assert_eq!(
      stacks(&q),
      vec![
        "(profiled-worker)",
        "task;setTimeout;emitInit;(profiled-worker)",
        "task;postMessage",
        "run;boot;main",
        "task",
        "task;map;cb",
        "task;anon;threadCpuTime",
      ]
    );
    assert_eq!(q.timestamps, p.timestamps);
    let counts: u64 = q.nodes.iter().map(|n| n.hit_count).sum();
    assert_eq!(counts, 7);
    // No prefixes: nothing is ours.
    assert_eq!(p.own_work_named(&OwnCode::new(vec![])), p);
  }
}
