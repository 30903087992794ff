//! Joining consecutive profiles of one thread into one.
//!
//! A thread's sampler is restarted whenever a profiling session ends while others go on,
//! so one session's share of a thread can span several V8 profiles ("chunks"). Their
//! trees are merged by call path: the same chain of call frames is one node.

use std::collections::HashMap;

use super::profile::{CallFrame, Node, PositionTick, Profile};

impl Profile {
  /// One profile holding every part's samples, in the given order. Node ids are
  /// renumbered from 1; `hitCount`s and `positionTicks` of merged nodes are summed.
  /// `parts` must not be empty.
  pub fn concat(parts: &[&Profile]) -> Option<Profile> {
    let first = parts.first()?;
    let mut nodes: Vec<Node> = vec![Node {
      id: 1,
      call_frame: first.nodes[first.root].call_frame.clone(),
      hit_count: 0,
      children: Vec::new(),
      parent: None,
      position_ticks: Vec::new(),
    }];
    let mut by_path: HashMap<(usize, &CallFrame), usize> = HashMap::new();
    let mut samples = Vec::new();
    let mut timestamps = Vec::new();

    for part in parts {
      let mut new_index = vec![usize::MAX; part.nodes.len()];
      new_index[part.root] = 0;
      let mut stack = vec![part.root];
      while let Some(old) = stack.pop() {
        let here = new_index[old];
        for &child in &part.nodes[old].children {
          let cf = &part.nodes[child].call_frame;
          let at = *by_path.entry((here, cf)).or_insert_with(|| {
            let at = nodes.len();
            nodes.push(Node {
              id: at as u64 + 1,
              call_frame: cf.clone(),
              hit_count: 0,
              children: Vec::new(),
              parent: Some(here),
              position_ticks: Vec::new(),
            });
            nodes[here].children.push(at);
            at
          });
          new_index[child] = at;
          stack.push(child);
        }
      }
      for (old, node) in part.nodes.iter().enumerate() {
        let merged = &mut nodes[new_index[old]];
        merged.hit_count += node.hit_count;
        add_ticks(&mut merged.position_ticks, &node.position_ticks);
      }
      samples.extend(part.samples.iter().map(|&s| new_index[s]));
      timestamps.extend_from_slice(&part.timestamps);
    }

    Some(Profile {
      nodes,
      root: 0,
      start_time: parts.iter().map(|p| p.start_time).min()?,
      end_time: parts.iter().map(|p| p.end_time).max()?,
      samples,
      timestamps,
    })
  }
}

fn add_ticks(into: &mut Vec<PositionTick>, from: &[PositionTick]) {
  for t in from {
    match into.iter_mut().find(|x| x.line == t.line) {
      Some(x) => x.ticks += t.ticks,
      None => into.push(t.clone()),
    }
  }
}

#[cfg(test)]
mod tests {
  use crate::core::encode::collapsed::profile_to_collapsed;
  use crate::core::profile::Profile;
  use crate::core::testing::ProfileBuilder;

  const A: &str = "a@a.js:0";
  const B: &str = "a@a.js:0;b@a.js:4";
  const C: &str = "a@a.js:0;c@a.js:9";

  /// A chunk of 1000 µs from `start`, one sample every 100 µs; V8's ticks on `b`.
  fn chunk(start: i64, samples: &[&str]) -> Profile {
    let mut p = ProfileBuilder::new(start, start + 1000);
    for (k, s) in samples.iter().enumerate() {
      p = p.at(start + 100 * (k as i64 + 1), s);
    }
    if samples.contains(&B) {
      p = p.ticks("a;b", 5, 2);
    }
    p.build()
  }

  #[test]
  fn merges_trees_by_call_path_and_keeps_every_sample() {
    let a = chunk(0, &[B, B]);
    let b = chunk(1000, &[B, C, A]);
    let c = Profile::concat(&[&a, &b]).unwrap();
    assert_eq!(c.nodes.len(), 4);
    assert_eq!(c.samples.len(), 5);
    assert_eq!(c.timestamps, vec![100, 200, 1100, 1200, 1300]);
    assert_eq!((c.start_time, c.end_time), (0, 2000));
    assert_eq!(
      profile_to_collapsed(&c),
      "a (a.js:1) 1\na (a.js:1);b (a.js:5) 3\na (a.js:1);c (a.js:10) 1\n"
    );
    let b_node = c
      .nodes
      .iter()
      .find(|n| &*n.call_frame.function_name == "b")
      .unwrap();
    assert_eq!(b_node.hit_count, 3);
    assert_eq!(b_node.position_ticks[0].ticks, 4);
  }

  #[test]
  fn concat_of_one_is_the_same_tree_and_of_none_is_none() {
    let a = chunk(0, &[B, A, C]);
    let c = Profile::concat(&[&a]).unwrap();
    assert_eq!(profile_to_collapsed(&c), profile_to_collapsed(&a));
    assert_eq!(c.timestamps, a.timestamps);
    assert!(Profile::concat(&[]).is_none());
  }

  #[test]
  fn merged_nodes_are_numbered_from_1_and_position_ticks_add_up() {
    let a = chunk(0, &[B]);
    let b = chunk(1000, &[B]);
    let c = Profile::concat(&[&a, &b, &b]).unwrap();
    let ids: Vec<u64> = c.nodes.iter().map(|n| n.id).collect();
    assert_eq!(ids, (1..=c.nodes.len() as u64).collect::<Vec<_>>());
    let b_node = c
      .nodes
      .iter()
      .find(|n| &*n.call_frame.function_name == "b")
      .unwrap();
    // 2 + 2 + 2: a sum, not a product.
    assert_eq!(b_node.position_ticks[0].ticks, 6);
  }
}
