//! The V8 CPU profile, as `Profiler.stop` returns it, parsed into an indexed tree.
//!
//! The wire form (`RawProfile`) mirrors V8's JSON exactly. `Profile` is the validated,
//! index-based form every other module works on: node ids are resolved to indices once,
//! so windowing and encoding never look anything up by id again.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::v8_unescaped;

/// Strings are shared (`Arc<str>`, interned per profile): thousands of nodes name the
/// same few scripts and functions, and cloning or dropping a node must stay cheap.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallFrame {
  pub function_name: Arc<str>,
  pub script_id: Arc<str>,
  pub url: Arc<str>,
  pub line_number: i64,
  pub column_number: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionTick {
  pub line: i64,
  pub ticks: u64,
}

/// One node as V8 writes it. Optional fields stay optional so that a missing one can be
/// reported with the node it belongs to instead of a bare serde message.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
  id: Option<u64>,
  call_frame: Option<RawCallFrame>,
  hit_count: Option<u64>,
  #[serde(default)]
  children: Vec<u64>,
  #[serde(default)]
  position_ticks: Vec<PositionTick>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCallFrame {
  function_name: Option<String>,
  // V8 sends scriptId as a string; some tools rewrite it as a number.
  script_id: Option<serde_json::Value>,
  url: Option<String>,
  line_number: Option<i64>,
  column_number: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProfile {
  nodes: Option<Vec<RawNode>>,
  start_time: Option<f64>,
  end_time: Option<f64>,
  #[serde(default)]
  samples: Vec<u64>,
  #[serde(default)]
  time_deltas: Vec<i64>,
}

/// A validated node. `parent` and `children` are indices into `Profile::nodes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
  pub id: u64,
  pub call_frame: CallFrame,
  pub hit_count: u64,
  pub children: Vec<usize>,
  pub parent: Option<usize>,
  pub position_ticks: Vec<PositionTick>,
}

/// A validated CPU profile. Times are µs on the monotonic clock V8 samples with (the
/// clock of `process.hrtime`). `samples[i]` is a node index; `timestamps[i]` is absolute.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
  pub nodes: Vec<Node>,
  pub root: usize,
  pub start_time: i64,
  pub end_time: i64,
  pub samples: Vec<usize>,
  pub timestamps: Vec<i64>,
}

/// Where a profile's time went (see `Profile::charged`). `work_us` counts all the time
/// the thread worked for the profile, `own_us` and `unsampled_us` included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Charged {
  pub work_us: i64,
  pub own_us: i64,
  pub unsampled_us: i64,
  pub other_us: i64,
}

/// Why a profile was rejected: `path` names the field (`nodes[3].callFrame.url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
  pub path: String,
  pub message: String,
}

impl fmt::Display for ProfileError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if self.path.is_empty() {
      write!(f, "invalid CPU profile: {}", self.message)
    } else {
      write!(f, "invalid CPU profile at {}: {}", self.path, self.message)
    }
  }
}

impl std::error::Error for ProfileError {}

fn err(path: impl Into<String>, message: impl Into<String>) -> ProfileError {
  ProfileError {
    path: path.into(),
    message: message.into(),
  }
}

/// Node id → index. V8 numbers nodes 1..n, so a table indexed by id is the common case;
/// sparse ids (from other tools) fall back to a map.
enum IdIndex {
  Dense(Vec<u32>),
  Sparse(HashMap<u64, usize>),
}

impl IdIndex {
  const NONE: u32 = u32::MAX;

  fn new(ids: impl Iterator<Item = u64> + Clone, count: usize) -> IdIndex {
    let max = ids.clone().max().unwrap_or(0);
    if max < (count as u64).saturating_mul(4).max(1024) {
      IdIndex::Dense(vec![Self::NONE; max as usize + 1])
    } else {
      IdIndex::Sparse(HashMap::with_capacity(count))
    }
  }

  /// Returns the index already holding `id`, if any.
  fn insert(&mut self, id: u64, index: usize) -> Option<usize> {
    match self {
      IdIndex::Dense(v) => {
        let slot = &mut v[id as usize];
        let old = (*slot != Self::NONE).then_some(*slot as usize);
        if old.is_none() {
          *slot = index as u32;
        }
        old
      }
      IdIndex::Sparse(m) => match m.entry(id) {
        std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
        std::collections::hash_map::Entry::Vacant(e) => {
          e.insert(index);
          None
        }
      },
    }
  }

  fn get(&self, id: u64) -> Option<usize> {
    match self {
      IdIndex::Dense(v) => v
        .get(usize::try_from(id).ok()?)
        .filter(|&&i| i != Self::NONE)
        .map(|&i| i as usize),
      IdIndex::Sparse(m) => m.get(&id).copied(),
    }
  }
}

fn node_path(index: usize, id: Option<u64>, field: &str) -> String {
  match id {
    Some(id) => format!("nodes[{index}] (id {id}).{field}"),
    None => format!("nodes[{index}].{field}"),
  }
}

/// Largest magnitude at which every integer is exact in an f64 (and so in JS).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn time_field(value: Option<f64>, name: &str) -> Result<i64, ProfileError> {
  let v = value.ok_or_else(|| err(name, "missing (expected µs as a number)"))?;
  if !v.is_finite() || v.fract() != 0.0 || v.abs() > MAX_SAFE_INTEGER {
    return Err(err(
      name,
      format!("must be a whole number of µs within ±2^53, got {v}"),
    ));
  }
  Ok(v as i64)
}

impl Profile {
  /// Parse V8 profile JSON. Never panics on any input; every rejection names its field.
  pub fn from_json(text: &[u8]) -> Result<Profile, ProfileError> {
    // Path tracking costs on every value, and only a failure needs it: parse plainly,
    // and parse again with tracking only to say where a rejected profile went wrong.
    let raw: RawProfile = match serde_json::from_slice(text) {
      Ok(raw) => raw,
      Err(_) => {
        // V8's own writer leaves strings unescaped (see v8_unescaped): read it as meant.
        if let Some(fixed) = v8_unescaped::repair(text) {
          if let Ok(raw) = serde_json::from_slice(&fixed) {
            return Profile::from_raw(raw);
          }
        }
        let de = &mut serde_json::Deserializer::from_slice(text);
        return Err(
          match serde_path_to_error::deserialize::<_, RawProfile>(de) {
            Ok(_) => err("", "malformed JSON"),
            Err(e) => {
              let path = e.path().to_string();
              let path = if path == "." { String::new() } else { path };
              err(path, e.into_inner().to_string())
            }
          },
        );
      }
    };
    Profile::from_raw(raw)
  }

  fn from_raw(raw: RawProfile) -> Result<Profile, ProfileError> {
    let raw_nodes = raw.nodes.ok_or_else(|| err("nodes", "missing"))?;
    if raw_nodes.is_empty() {
      return Err(err(
        "nodes",
        "is empty (a profile has at least its root node)",
      ));
    }
    let (start_time, end_time) = times(raw.start_time, raw.end_time)?;
    let mut index_of = IdIndex::new(raw_nodes.iter().filter_map(|n| n.id), raw_nodes.len());
    let (mut nodes, child_ids) = read_nodes(raw_nodes, &mut index_of)?;
    link_children(&mut nodes, child_ids, &index_of)?;
    let root = only_root(&nodes)?;
    check_reachable(&nodes, root)?;
    let (samples, timestamps) =
      read_samples(&raw.samples, &raw.time_deltas, start_time, &index_of)?;
    Ok(Profile {
      nodes,
      root,
      start_time,
      end_time,
      samples,
      timestamps,
    })
  }

  /// Per-node sample counts recomputed from `samples` (V8's `hitCount` is only a cache).
  pub fn self_counts(&self) -> Vec<u64> {
    let mut counts = vec![0u64; self.nodes.len()];
    for &s in &self.samples {
      counts[s] += 1;
    }
    counts
  }

  /// Frames from the root's child down to `node` (the root itself is V8's synthetic
  /// `(root)` and carries no code).
  pub fn stack(&self, node: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut cur = Some(node);
    while let Some(i) = cur {
      if i == self.root {
        break;
      }
      out.push(i);
      cur = self.nodes[i].parent;
    }
    out.reverse();
    out
  }

  /// The wall time each sample stands for, in µs, as DevTools and speedscope read a
  /// `.cpuprofile`: until the next sample, and the last one until `end_time`. V8
  /// occasionally records samples out of order; such a sample counts zero time rather
  /// than subtracting.
  pub fn sample_durations(&self) -> Vec<i64> {
    let n = self.timestamps.len();
    (0..n)
      .map(|k| {
        let next = self.timestamps.get(k + 1).copied().unwrap_or(self.end_time);
        (next - self.timestamps[k]).max(0)
      })
      .collect()
  }

  /// Whether `node` is one of the markers assembly lays over time that no sample of
  /// the thread's own work stands for (see `assemble`).
  pub fn is_marker(&self, node: usize, name: &str) -> bool {
    let n = &self.nodes[node];
    n.parent == Some(self.root)
      && n.call_frame.url.is_empty()
      && &*n.call_frame.function_name == name
  }

  /// Samples V8 took, without the markers of time no sample stands for.
  pub fn real_sample_count(&self) -> usize {
    use super::assemble::{OTHER_WORK, UNSAMPLED};
    self
      .samples
      .iter()
      .filter(|&&s| !self.is_marker(s, OTHER_WORK) && !self.is_marker(s, UNSAMPLED))
      .count()
  }

  /// µs of the profile charged to the thread's work, to `(profiled-worker)`, to
  /// `(unsampled)` and to `(other work)`.
  pub fn charged(&self) -> Charged {
    use super::assemble::{OTHER_WORK, UNSAMPLED};
    use super::own::OWN_FRAME;
    let mut c = Charged::default();
    for (&s, d) in self.samples.iter().zip(self.sample_durations()) {
      if self.is_marker(s, OTHER_WORK) {
        c.other_us += d;
      } else if self.is_marker(s, UNSAMPLED) {
        c.unsampled_us += d;
        c.work_us += d;
      } else {
        if &*self.nodes[s].call_frame.function_name == OWN_FRAME {
          c.own_us += d;
        }
        c.work_us += d;
      }
    }
    c
  }
}

fn times(start: Option<f64>, end: Option<f64>) -> Result<(i64, i64), ProfileError> {
  let start_time = time_field(start, "startTime")?;
  let end_time = time_field(end, "endTime")?;
  if end_time < start_time {
    return Err(err(
      "endTime",
      format!("{end_time} is before startTime {start_time}"),
    ));
  }
  Ok((start_time, end_time))
}

/// Strings interned per profile (see `CallFrame`).
#[derive(Default)]
struct Interner(HashMap<String, Arc<str>>);

impl Interner {
  fn get(&mut self, s: String) -> Arc<str> {
    if let Some(a) = self.0.get(&s) {
      return a.clone();
    }
    let a: Arc<str> = Arc::from(s.as_str());
    self.0.insert(s, a.clone());
    a
  }
}

/// The nodes without their links, and each node's child ids to link them by.
fn read_nodes(
  raw_nodes: Vec<RawNode>,
  index_of: &mut IdIndex,
) -> Result<(Vec<Node>, Vec<Vec<u64>>), ProfileError> {
  let mut interner = Interner::default();
  let mut nodes = Vec::with_capacity(raw_nodes.len());
  let mut child_ids = Vec::with_capacity(raw_nodes.len());
  for (i, n) in raw_nodes.into_iter().enumerate() {
    let id = n
      .id
      .ok_or_else(|| err(node_path(i, None, "id"), "missing"))?;
    if let Some(first) = index_of.insert(id, i) {
      return Err(err(
        node_path(i, Some(id), "id"),
        format!("duplicate id, already used by nodes[{first}]"),
      ));
    }
    let cf = n
      .call_frame
      .ok_or_else(|| err(node_path(i, Some(id), "callFrame"), "missing"))?;
    let call_frame = read_call_frame(cf, i, id, &mut interner)?;
    child_ids.push(n.children);
    nodes.push(Node {
      id,
      call_frame,
      hit_count: n.hit_count.unwrap_or(0),
      children: Vec::new(),
      parent: None,
      position_ticks: n.position_ticks,
    });
  }
  Ok((nodes, child_ids))
}

fn read_call_frame(
  cf: RawCallFrame,
  i: usize,
  id: u64,
  interner: &mut Interner,
) -> Result<CallFrame, ProfileError> {
  let field = |name: &str| node_path(i, Some(id), &format!("callFrame.{name}"));
  let script_id = match cf.script_id {
    Some(serde_json::Value::String(s)) => s,
    Some(serde_json::Value::Number(n)) => n.to_string(),
    Some(other) => {
      return Err(err(
        field("scriptId"),
        format!("expected a string, got {other}"),
      ))
    }
    None => return Err(err(field("scriptId"), "missing")),
  };
  Ok(CallFrame {
    function_name: interner.get(
      cf.function_name
        .ok_or_else(|| err(field("functionName"), "missing"))?,
    ),
    script_id: interner.get(script_id),
    url: interner.get(cf.url.ok_or_else(|| err(field("url"), "missing"))?),
    line_number: cf
      .line_number
      .ok_or_else(|| err(field("lineNumber"), "missing"))?,
    column_number: cf
      .column_number
      .ok_or_else(|| err(field("columnNumber"), "missing"))?,
  })
}

fn link_children(
  nodes: &mut [Node],
  child_ids: Vec<Vec<u64>>,
  index_of: &IdIndex,
) -> Result<(), ProfileError> {
  for (i, ids) in child_ids.into_iter().enumerate() {
    let mut children = Vec::with_capacity(ids.len());
    for (k, child_id) in ids.into_iter().enumerate() {
      let at = || node_path(i, Some(nodes[i].id), &format!("children[{k}]"));
      let c = index_of
        .get(child_id)
        .ok_or_else(|| err(at(), format!("refers to unknown node id {child_id}")))?;
      if let Some(p) = nodes[c].parent {
        return Err(err(
          at(),
          format!(
            "node id {child_id} already has parent id {} (a profile is a tree)",
            nodes[p].id
          ),
        ));
      }
      nodes[c].parent = Some(i);
      children.push(c);
    }
    nodes[i].children = children;
  }
  Ok(())
}

fn only_root(nodes: &[Node]) -> Result<usize, ProfileError> {
  let mut roots = (0..nodes.len()).filter(|&i| nodes[i].parent.is_none());
  let root = roots
    .next()
    .ok_or_else(|| err("nodes", "has no root (every node is somebody's child)"))?;
  if let Some(second) = roots.next() {
    return Err(err(
      node_path(second, Some(nodes[second].id), "id"),
      format!(
        "is a second root besides node id {} (no node lists it as a child)",
        nodes[root].id
      ),
    ));
  }
  Ok(root)
}

/// One root and one parent per node still allows a detached cycle; counting what the
/// root reaches rules it out.
fn check_reachable(nodes: &[Node], root: usize) -> Result<(), ProfileError> {
  let mut reached = 0usize;
  let mut stack = vec![root];
  while let Some(i) = stack.pop() {
    reached += 1;
    stack.extend(nodes[i].children.iter().copied());
  }
  if reached != nodes.len() {
    return Err(err(
      "nodes",
      format!(
        "{} node(s) form a cycle unreachable from the root",
        nodes.len() - reached
      ),
    ));
  }
  Ok(())
}

/// Node indices and absolute timestamps of the samples.
fn read_samples(
  ids: &[u64],
  deltas: &[i64],
  start_time: i64,
  index_of: &IdIndex,
) -> Result<(Vec<usize>, Vec<i64>), ProfileError> {
  if ids.len() != deltas.len() {
    return Err(err(
      "timeDeltas",
      format!(
        "has {} entries but samples has {} (they must match one to one)",
        deltas.len(),
        ids.len()
      ),
    ));
  }
  let mut samples = Vec::with_capacity(ids.len());
  let mut timestamps = Vec::with_capacity(ids.len());
  let mut t = start_time;
  for (k, (id, delta)) in ids.iter().zip(deltas).enumerate() {
    let i = index_of.get(*id).ok_or_else(|| {
      err(
        format!("samples[{k}]"),
        format!("refers to unknown node id {id}"),
      )
    })?;
    t = t
      .checked_add(*delta)
      .ok_or_else(|| err(format!("timeDeltas[{k}]"), "overflows the timestamp range"))?;
    samples.push(i);
    timestamps.push(t);
  }
  Ok((samples, timestamps))
}

#[cfg(test)]
mod tests {
  use super::*;

  pub(crate) fn tiny() -> &'static str {
    r#"{"nodes":[
      {"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"hitCount":0,"children":[2,3]},
      {"id":2,"callFrame":{"functionName":"a","scriptId":"1","url":"file:///a.js","lineNumber":0,"columnNumber":0},"hitCount":1,"children":[4]},
      {"id":3,"callFrame":{"functionName":"(idle)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"hitCount":1},
      {"id":4,"callFrame":{"functionName":"b","scriptId":"1","url":"file:///a.js","lineNumber":4,"columnNumber":2},"hitCount":2,"positionTicks":[{"line":6,"ticks":2}]}
    ],"startTime":1000,"endTime":2000,"samples":[2,4,4,3],"timeDeltas":[100,100,100,100]}"#
  }

  #[test]
  fn the_test_builder_writes_what_the_parser_reads() {
    use crate::core::testing::{stacks, ProfileBuilder};
    let b = || {
      ProfileBuilder::new(0, 400)
        .every(0, 100, 3, "a;b")
        .at(300, "(idle)")
    };
    let p = Profile::from_json(b().json().as_bytes()).unwrap();
    assert_eq!(p, b().build());
    assert_eq!(stacks(&p), vec!["a;b", "a;b", "a;b", "(idle)"]);
  }

  #[test]
  fn parses_a_valid_profile() {
    let p = Profile::from_json(tiny().as_bytes()).unwrap();
    assert_eq!(p.nodes.len(), 4);
    assert_eq!(p.nodes[p.root].id, 1);
    assert_eq!(p.timestamps, vec![1100, 1200, 1300, 1400]);
    assert_eq!(p.self_counts(), vec![0, 1, 1, 2]);
    assert_eq!(p.stack(3), vec![1, 3]);
  }

  #[test]
  fn reads_v8_writer_text_with_unescaped_names() {
    // v8.startCpuProfile() text: a RegExp frame's source copied in raw.
    let text = concat!(
      r#"{"nodes":[{"id":1,"hitCount":0,"callFrame":{"functionName":"(root)","lineNumber":-1,"#,
      r#""columnNumber":-1,"scriptId":0,"url":""},"children":[2]},{"id":2,"hitCount":2,"#,
      r#""callFrame":{"functionName":"RegExp: "(\d+)"","lineNumber":-1,"columnNumber":-1,"#,
      r#""scriptId":0,"url":""}}],"startTime":5,"endTime":9,"samples":[2,2],"timeDeltas":[1,1]}"#,
    );
    let p = Profile::from_json(text.as_bytes()).unwrap();
    assert_eq!(&*p.nodes[1].call_frame.function_name, r#"RegExp: "(\d+)""#);
    assert_eq!(p.timestamps, vec![6, 7]);
    // Any other fault is still reported as it is.
    let e = reject(&text.replace(r#""samples":[2,2]"#, r#""samples":[2,x]"#));
    assert!(e.message.contains("expected"), "{e}");
  }

  fn reject(text: &str) -> ProfileError {
    Profile::from_json(text.as_bytes()).unwrap_err()
  }

  #[test]
  fn names_the_field_of_a_type_error() {
    let bad = tiny().replace(r#""lineNumber":4"#, r#""lineNumber":"four""#);
    let e = reject(&bad);
    assert_eq!(e.path, "nodes[3].callFrame.lineNumber", "{e}");
  }

  #[test]
  fn names_the_node_with_a_missing_field() {
    let bad = tiny().replace(
      r#""url":"file:///a.js","lineNumber":4"#,
      r#""lineNumber":4"#,
    );
    let e = reject(&bad);
    assert_eq!(e.path, "nodes[3] (id 4).callFrame.url", "{e}");
  }

  #[test]
  fn rejects_structural_faults() {
    let cases = [
      (tiny().replace("[2,4,4,3]", "[2,4,4,9]"), "samples[3]"),
      (
        tiny().replace("[100,100,100,100]", "[100,100]"),
        "timeDeltas",
      ),
      (
        tiny().replace(r#""children":[4]"#, r#""children":[7]"#),
        "nodes[1] (id 2).children[0]",
      ),
      (
        tiny().replace(r#""children":[4]"#, r#""children":[3]"#),
        "nodes[1] (id 2).children[0]",
      ),
      (
        tiny().replace(r#""id":4"#, r#""id":3"#),
        "nodes[3] (id 3).id",
      ),
      (
        tiny().replace(r#""children":[2,3]"#, r#""children":[2]"#),
        "nodes[2] (id 3).id",
      ),
      (
        tiny().replace(r#""endTime":2000"#, r#""endTime":10"#),
        "endTime",
      ),
      (
        tiny().replace(r#""startTime":1000"#, r#""startTime":1.5"#),
        "startTime",
      ),
      (r#"{"startTime":0,"endTime":0}"#.to_string(), "nodes"),
      (r#"[]"#.to_string(), ""),
    ];
    for (text, path) in cases {
      let e = reject(&text);
      assert_eq!(e.path, path, "{e}");
    }
  }

  #[test]
  fn rejects_a_detached_cycle() {
    let bad = tiny().replace(
      r#""hitCount":1}"#,
      r#""hitCount":1,"children":[5]},{"id":5,"callFrame":{"functionName":"x","scriptId":"0","url":"","lineNumber":0,"columnNumber":0},"children":[6]},{"id":6,"callFrame":{"functionName":"y","scriptId":"0","url":"","lineNumber":0,"columnNumber":0},"children":[5]}"#,
    );
    let e = reject(&bad);
    assert!(e.message.contains("already has parent"), "{e}");
  }

  #[test]
  fn garbage_never_panics() {
    let base = tiny().as_bytes();
    // Every truncation and a byte flip at every position: all must return, not panic.
    for cut in 0..base.len() {
      let _ = Profile::from_json(&base[..cut]);
      let mut flipped = base.to_vec();
      flipped[cut] ^= 0x5a;
      let _ = Profile::from_json(&flipped);
    }
  }

  /// tiny() with its start and end times replaced.
  fn with_times(start: &str, end: &str) -> Result<Profile, ProfileError> {
    let text = tiny()
      .replace(r#""startTime":1000"#, &format!(r#""startTime":{start}"#))
      .replace(r#""endTime":2000"#, &format!(r#""endTime":{end}"#));
    Profile::from_json(text.as_bytes())
  }

  #[test]
  fn times_are_whole_us_within_2_pow_53_and_end_may_equal_start() {
    let max = "9007199254740991";
    let p = with_times(max, max).unwrap();
    assert_eq!(
      (p.start_time, p.end_time),
      (9_007_199_254_740_991, 9_007_199_254_740_991)
    );
    let p = with_times("-9007199254740991", "0").unwrap();
    assert_eq!(p.start_time, -9_007_199_254_740_991);
    for bad in [
      "9007199254740992",
      "18014398509481984",
      "-9007199254740992",
      "1.5",
    ] {
      let e = with_times(bad, max).unwrap_err();
      assert_eq!(e.path, "startTime", "{bad}");
      assert!(e.message.contains("whole number of µs"), "{bad}: {e}");
    }
  }

  #[test]
  fn an_error_says_where_when_it_knows() {
    let at = ProfileError {
      path: "nodes[1].id".into(),
      message: "missing".into(),
    };
    assert_eq!(
      at.to_string(),
      "invalid CPU profile at nodes[1].id: missing"
    );
    let nowhere = ProfileError {
      path: String::new(),
      message: "malformed JSON".into(),
    };
    assert_eq!(nowhere.to_string(), "invalid CPU profile: malformed JSON");
  }
}
