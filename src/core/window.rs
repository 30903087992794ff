//! Cutting one sampler's profile into the part that belongs to one profiling session.
//!
//! Several sessions share one V8 sampler per thread; each session keeps only the samples
//! taken inside its own `[t0, t1]` (µs, inclusive) and, in a worker shared by several
//! sessions, only those taken while the worker ran that session's tasks (its spans).
//! Nodes whose subtree holds no kept sample are dropped so the result is as small as a
//! profile recorded for that window.

use super::profile::{Node, Profile};

/// Time spans (µs, inclusive) sorted and merged, for fast membership tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spans(Vec<(i64, i64)>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpansError(pub String);

impl std::fmt::Display for SpansError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str(&self.0)
  }
}

impl std::error::Error for SpansError {}

impl Spans {
  /// From flat `[start0, end0, start1, end1, ...]` µs pairs, in any order.
  pub fn from_flat(flat: &[f64]) -> Result<Spans, SpansError> {
    if !flat.len().is_multiple_of(2) {
      return Err(SpansError(format!(
        "spans must be [start, end] pairs (an even count of numbers), got {} numbers",
        flat.len()
      )));
    }
    let mut v = Vec::with_capacity(flat.len() / 2);
    for (k, p) in flat.chunks_exact(2).enumerate() {
      let (s, e) = (p[0], p[1]);
      if !s.is_finite() || !e.is_finite() || e < s {
        return Err(SpansError(format!(
          "span {k} must be finite µs with end >= start, got [{s}, {e}]"
        )));
      }
      v.push((s.floor() as i64, e.ceil() as i64));
    }
    v.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
      match merged.last_mut() {
        Some(last) if s <= last.1 => last.1 = last.1.max(e),
        _ => merged.push((s, e)),
      }
    }
    Ok(Spans(merged))
  }

  pub fn contains(&self, t: i64) -> bool {
    // The last span starting at or before t is the only one that can hold it.
    let k = self.0.partition_point(|&(s, _)| s <= t);
    k > 0 && t <= self.0[k - 1].1
  }

  /// Which span holds `t`, by position in start order.
  pub fn index_of(&self, t: i64) -> Option<usize> {
    let k = self.0.partition_point(|&(s, _)| s <= t);
    (k > 0 && t <= self.0[k - 1].1).then(|| k - 1)
  }

  /// The merged `(start, end)` pairs, in order.
  pub fn pairs(&self) -> &[(i64, i64)] {
    &self.0
  }

  pub fn len(&self) -> usize {
    self.0.len()
  }

  pub fn is_empty(&self) -> bool {
    self.0.is_empty()
  }
}

impl Profile {
  /// The samples taken within `[t0, t1]`, with the tree pruned to what they reach.
  /// `positionTicks` are per-profile aggregates that cannot be split by time, so they are
  /// dropped unless the window covers every sample.
  pub fn window(&self, t0: i64, t1: i64) -> Profile {
    self.retain(t0, t1, |_| true)
  }

  /// `window`, further limited to the samples inside `spans`.
  pub fn window_spans(&self, t0: i64, t1: i64, spans: &Spans) -> Profile {
    self.retain(t0, t1, |t| spans.contains(t))
  }

  fn retain(&self, t0: i64, t1: i64, also: impl Fn(i64) -> bool) -> Profile {
    let keep_sample: Vec<bool> = self
      .timestamps
      .iter()
      .map(|&t| t >= t0 && t <= t1 && also(t))
      .collect();
    let whole = keep_sample.iter().all(|&k| k);
    let start_time = t0.clamp(self.start_time, self.end_time);
    let end_time = t1.clamp(start_time, self.end_time);
    self.keeping(&keep_sample, whole, start_time, end_time)
  }

  /// The tree cut down to the nodes that hold a sample or lead to one, hit counts
  /// recomputed; position ticks kept only when `keep_ticks`.
  pub fn pruned(&self, keep_ticks: bool) -> Profile {
    let all = vec![true; self.samples.len()];
    self.keeping(&all, keep_ticks, self.start_time, self.end_time)
  }

  /// The samples marked in `keep_sample`, over `[start_time, end_time]`, the tree pruned
  /// to what they reach; position ticks kept only when `keep_ticks`.
  fn keeping(
    &self,
    keep_sample: &[bool],
    keep_ticks: bool,
    start_time: i64,
    end_time: i64,
  ) -> Profile {
    // A node survives if it or any descendant holds a kept sample; walking up from each
    // sampled node marks exactly those, stopping at the first already-marked ancestor.
    let mut alive = vec![false; self.nodes.len()];
    alive[self.root] = true;
    for (k, &s) in self.samples.iter().enumerate() {
      if !keep_sample[k] {
        continue;
      }
      let mut cur = Some(s);
      while let Some(i) = cur {
        if alive[i] {
          break;
        }
        alive[i] = true;
        cur = self.nodes[i].parent;
      }
    }

    let mut new_index = vec![usize::MAX; self.nodes.len()];
    let mut next = 0;
    for (i, a) in alive.iter().enumerate() {
      if *a {
        new_index[i] = next;
        next += 1;
      }
    }

    let mut nodes: Vec<Node> = Vec::with_capacity(next);
    for (i, node) in self.nodes.iter().enumerate() {
      if !alive[i] {
        continue;
      }
      nodes.push(Node {
        id: node.id,
        call_frame: node.call_frame.clone(),
        hit_count: 0,
        children: node
          .children
          .iter()
          .filter(|&&c| alive[c])
          .map(|&c| new_index[c])
          .collect(),
        parent: node.parent.map(|p| new_index[p]),
        position_ticks: if keep_ticks {
          node.position_ticks.clone()
        } else {
          Vec::new()
        },
      });
    }

    let mut samples = Vec::new();
    let mut timestamps = Vec::new();
    for (k, (&s, &t)) in self.samples.iter().zip(&self.timestamps).enumerate() {
      if keep_sample[k] {
        let s = new_index[s];
        nodes[s].hit_count += 1;
        samples.push(s);
        timestamps.push(t);
      }
    }

    Profile {
      nodes,
      root: new_index[self.root],
      start_time,
      end_time,
      samples,
      timestamps,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::Spans;
  use crate::core::profile::Profile;
  use crate::core::testing::ProfileBuilder;

  fn profile() -> Profile {
    // root -> a -> b, root -> (idle); samples at 1100 a, 1200 b, 1300 b, 1400 idle
    ProfileBuilder::new(1000, 2000)
      .at(1100, "a@a.js:0")
      .every(1200, 100, 2, "a@a.js:0;b@a.js:4")
      .at(1400, "(idle)")
      .ticks("a;b", 6, 2)
      .build()
  }

  fn names(p: &Profile) -> Vec<&str> {
    p.nodes
      .iter()
      .map(|n| &*n.call_frame.function_name)
      .collect()
  }

  #[test]
  fn keeps_only_samples_inside_the_window() {
    let w = profile().window(1150, 1300);
    assert_eq!(w.timestamps, vec![1200, 1300]);
    assert_eq!(names(&w), vec!["(root)", "a", "b"]);
    assert_eq!(w.self_counts(), vec![0, 0, 2]);
    assert_eq!(w.nodes[2].hit_count, 2);
    assert_eq!((w.start_time, w.end_time), (1150, 1300));
    assert!(w.nodes[2].position_ticks.is_empty());
  }

  #[test]
  fn bounds_are_inclusive_and_clamped() {
    let p = profile();
    let w = p.window(1400, 1400);
    assert_eq!(names(&w), vec!["(root)", "(idle)"]);
    let all = p.window(i64::MIN, i64::MAX);
    assert_eq!(all, {
      let mut q = p.clone();
      for n in &mut q.nodes {
        n.hit_count = 0;
      }
      for &s in &q.samples.clone() {
        q.nodes[s].hit_count += 1;
      }
      q
    });
  }

  #[test]
  fn empty_window_leaves_the_root() {
    let w = profile().window(5000, 6000);
    assert_eq!(names(&w), vec!["(root)"]);
    assert!(w.samples.is_empty());
    assert_eq!((w.start_time, w.end_time), (2000, 2000));
  }

  #[test]
  fn windows_partition_the_samples() {
    let p = profile();
    let cuts = [1000, 1150, 1250, 1399, 2000];
    let total: usize = cuts
      .windows(2)
      .map(|c| p.window(c[0] + 1, c[1]).samples.len())
      .sum();
    assert_eq!(total, p.samples.len());
  }

  #[test]
  fn spans_keep_only_their_samples() {
    let p = profile();
    // Unsorted, overlapping and touching spans are normalised.
    let spans = Spans::from_flat(&[1350.0, 1450.0, 1090.0, 1110.0, 1100.0, 1105.0]).unwrap();
    assert_eq!(spans.len(), 2);
    let w = p.window_spans(i64::MIN, i64::MAX, &spans);
    assert_eq!(w.timestamps, vec![1100, 1400]);
    assert_eq!(names(&w), vec!["(root)", "a", "(idle)"]);
    // The window still applies on top of the spans.
    let w = p.window_spans(1200, 2000, &spans);
    assert_eq!(w.timestamps, vec![1400]);
    let none = p.window_spans(i64::MIN, i64::MAX, &Spans::from_flat(&[]).unwrap());
    assert!(none.samples.is_empty());
  }

  #[test]
  fn bad_spans_are_named() {
    let odd = Spans::from_flat(&[1.0, 2.0, 3.0]).unwrap_err();
    assert!(odd.0.contains("even count"), "{}", odd.0);
    let back = Spans::from_flat(&[1.0, 2.0, 5.0, 4.0]).unwrap_err();
    assert!(back.0.contains("span 1"), "{}", back.0);
    assert!(Spans::from_flat(&[f64::NAN, 1.0]).is_err());
  }

  #[test]
  fn spans_error_displays_as_its_message_and_spans_know_their_size() {
    assert_eq!(super::SpansError("bad".into()).to_string(), "bad");
    let none = Spans::from_flat(&[]).unwrap();
    assert!(none.is_empty());
    let some = Spans::from_flat(&[1.0, 2.0]).unwrap();
    assert!(!some.is_empty());
    assert_eq!(some.len(), 1);
    // A span may be a single instant.
    let instant = Spans::from_flat(&[5.0, 5.0]).unwrap();
    assert!(instant.contains(5) && !instant.contains(4) && !instant.contains(6));
  }
}
