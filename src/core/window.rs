//! Cutting one sampler's profile into the part that belongs to one profiling session.
//!
//! Several sessions share one V8 sampler per thread; each session keeps only the samples
//! taken inside its own `[t0, t1]` (µs, inclusive). Nodes whose subtree holds no kept
//! sample are dropped so the result is as small as a profile recorded for that window.

use super::profile::{Node, Profile};

impl Profile {
  /// The samples taken within `[t0, t1]`, with the tree pruned to what they reach.
  /// `positionTicks` are per-profile aggregates that cannot be split by time, so they are
  /// dropped unless the window covers every sample.
  pub fn window(&self, t0: i64, t1: i64) -> Profile {
    let keep_sample: Vec<bool> = self
      .timestamps
      .iter()
      .map(|&t| t >= t0 && t <= t1)
      .collect();
    let whole = keep_sample.iter().all(|&k| k);

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
        position_ticks: if whole {
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

    let start_time = t0.clamp(self.start_time, self.end_time);
    let end_time = t1.clamp(start_time, self.end_time);
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
  use crate::core::profile::Profile;

  fn profile() -> Profile {
    // root -> a -> b, root -> (idle); samples at 1100 a, 1200 b, 1300 b, 1400 idle
    let text = r#"{"nodes":[
      {"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"children":[2,3]},
      {"id":2,"callFrame":{"functionName":"a","scriptId":"1","url":"a.js","lineNumber":0,"columnNumber":0},"children":[4]},
      {"id":3,"callFrame":{"functionName":"(idle)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1}},
      {"id":4,"callFrame":{"functionName":"b","scriptId":"1","url":"a.js","lineNumber":4,"columnNumber":2},"positionTicks":[{"line":6,"ticks":2}]}
    ],"startTime":1000,"endTime":2000,"samples":[2,4,4,3],"timeDeltas":[100,100,100,100]}"#;
    Profile::from_json(text.as_bytes()).unwrap()
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
}
