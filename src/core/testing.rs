//! One builder for the test profiles of every Rust test: samples as `"a;b"` stacks at
//! absolute µs, the tree made from their call paths. A frame is `name` (in `a.js`),
//! `name@url` or `name@url:line` (0-based, as V8 counts); `(idle)`, `(program)` and other
//! parenthesised names get V8's empty url.

use std::sync::Arc;

use super::encode::cpuprofile::to_cpuprofile;
use super::profile::{CallFrame, Node, PositionTick, Profile};

pub struct ProfileBuilder {
  start: i64,
  end: i64,
  samples: Vec<(i64, String)>,
  ticks: Vec<(String, i64, u64)>,
}

pub fn frame(spec: &str) -> CallFrame {
  let (name, url) = match spec.split_once('@') {
    Some((n, u)) => (n, u),
    None if spec.starts_with('(') => (spec, ""),
    None => (spec, "a.js"),
  };
  let (url, line) = match url.rsplit_once(':') {
    Some((u, l)) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => {
      (u, l.parse().unwrap_or(0))
    }
    _ => (url, name.len() as i64),
  };
  let builtin = url.is_empty();
  CallFrame {
    function_name: Arc::from(name),
    script_id: Arc::from(if builtin { "0" } else { "1" }),
    url: Arc::from(url),
    line_number: if builtin { -1 } else { line },
    column_number: if builtin { -1 } else { 0 },
  }
}

impl ProfileBuilder {
  pub fn new(start: i64, end: i64) -> ProfileBuilder {
    ProfileBuilder {
      start,
      end,
      samples: Vec::new(),
      ticks: Vec::new(),
    }
  }

  /// A sample at `t` µs with `stack` (root first, `;`-separated; empty: the root).
  pub fn at(mut self, t: i64, stack: &str) -> ProfileBuilder {
    self.samples.push((t, stack.to_string()));
    self
  }

  /// Samples every `step` µs from `from`, `n` of them, all with `stack`.
  pub fn every(mut self, from: i64, step: i64, n: usize, stack: &str) -> ProfileBuilder {
    for k in 0..n {
      self
        .samples
        .push((from + step * k as i64, stack.to_string()));
    }
    self
  }

  /// V8's per-line tick counts on the node of `stack`, which a sample must reach.
  pub fn ticks(mut self, stack: &str, line: i64, ticks: u64) -> ProfileBuilder {
    self.ticks.push((stack.to_string(), line, ticks));
    self
  }

  pub fn build(self) -> Profile {
    let mut nodes = vec![Node {
      id: 1,
      call_frame: frame("(root)"),
      hit_count: 0,
      children: Vec::new(),
      parent: None,
      position_ticks: Vec::new(),
    }];
    let mut samples = Vec::new();
    let mut timestamps = Vec::new();
    for (t, stack) in &self.samples {
      let mut at = 0;
      for spec in stack.split(';').filter(|s| !s.is_empty()) {
        let cf = frame(spec);
        let found = nodes[at]
          .children
          .iter()
          .copied()
          .find(|&c| nodes[c].call_frame == cf);
        at = match found {
          Some(c) => c,
          None => {
            let c = nodes.len();
            nodes.push(Node {
              id: c as u64 + 1,
              call_frame: cf,
              hit_count: 0,
              children: Vec::new(),
              parent: Some(at),
              position_ticks: Vec::new(),
            });
            nodes[at].children.push(c);
            c
          }
        };
      }
      nodes[at].hit_count += 1;
      samples.push(at);
      timestamps.push(*t);
    }
    let mut p = Profile {
      nodes,
      root: 0,
      start_time: self.start,
      end_time: self.end,
      samples,
      timestamps,
    };
    for (stack, line, ticks) in &self.ticks {
      let at = (0..p.nodes.len())
        .find(|&i| {
          let names: Vec<&str> = p
            .stack(i)
            .iter()
            .map(|&j| &*p.nodes[j].call_frame.function_name)
            .collect();
          names.join(";") == *stack
        })
        .expect("ticks on a stack no sample reaches");
      p.nodes[at].position_ticks.push(PositionTick {
        line: *line,
        ticks: *ticks,
      });
    }
    p
  }

  /// The profile as V8's JSON text.
  pub fn json(self) -> String {
    to_cpuprofile(&self.build())
  }
}

/// Each sample's stack as `"a;b"` text, in order.
pub fn stacks(p: &Profile) -> Vec<String> {
  p.samples
    .iter()
    .map(|&s| {
      p.stack(s)
        .iter()
        .map(|&i| &*p.nodes[i].call_frame.function_name)
        .collect::<Vec<_>>()
        .join(";")
    })
    .collect()
}
