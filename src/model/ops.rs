//! Plain functions over [`Profile`]: merge, scale, compaction. Like pprof's `profile` package,
//! they never parse and never print.

use super::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Why two profiles cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct MergeError(pub String);

/// Merge profiles into one. Sample types must agree (kind and unit, in the same order);
/// functions, locations and mappings are re-interned so equal entities are shared; samples with
/// equal stacks (and no labels) are summed. Durations add up, the earliest start time is kept,
/// data-quality counters add up, metadata of the first profile wins on conflicts.
pub fn merge(profiles: &[Profile]) -> Result<Profile, MergeError> {
    let mut m = Merger::new();
    for p in profiles {
        m.add(p)?;
    }
    m.finish()
        .ok_or_else(|| MergeError("nothing to merge".into()))
}

/// Incremental merge with the semantics of [`merge`]: profiles are added one at a time (and
/// can be dropped right after), so memory grows with the unique stacks of the result, not
/// with the number of inputs.
///
/// For a parallel merge, every worker adds inputs to its own merger, each worker in
/// increasing input order (numbered with [`Merger::skip_to`]), for instance by taking the
/// next input from a shared counter; [`Merger::combine`] then gives exactly the profile one
/// merger adding all inputs in order gives (same ids, same order), however the inputs were
/// shared out. For that a merger remembers which input first brought each entity: one small
/// record per input that brought new ones.
#[derive(Default)]
pub struct Merger {
    builder: Option<ProfileBuilder>,
    /// Profiles added so far.
    count: usize,
    /// Name-only frames added through [`Merger::add_stacks`]: name → location, so a name seen
    /// before costs one lookup and no allocation.
    names: FxHashMap<Box<str>, LocationId>,
    /// Number of the next input (inputs are numbered in merge order).
    next_input: usize,
    /// Number of the first input added.
    first_input: usize,
    /// For each input that brought new entities: its number and the first new ids.
    firsts: Vec<FirstIds>,
    /// Input that set each metadata key, and that brought each comment and each quality note.
    metadata_input: BTreeMap<String, usize>,
    comment_input: Vec<usize>,
    note_input: Vec<usize>,
}

/// Where one input's new entities start in a merger's tables.
#[derive(Clone, Copy, Debug, PartialEq)]
struct FirstIds {
    input: usize,
    ids: [usize; 4],
}

/// Entity tables of a profile, in the order [`FirstIds::ids`] lists them.
const MAPPINGS: usize = 0;
const FUNCTIONS: usize = 1;
const LOCATIONS: usize = 2;
const SAMPLES: usize = 3;

fn table_lens(p: &Profile) -> [usize; 4] {
    [
        p.mappings.len(),
        p.functions.len(),
        p.locations.len(),
        p.samples.len(),
    ]
}

impl Merger {
    pub fn new() -> Self {
        Merger::default()
    }

    /// Number of profiles merged so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Number the next input `n` (inputs 0..n were, or will be, added to other mergers). Input
    /// numbers must increase.
    pub fn skip_to(&mut self, n: usize) {
        debug_assert!(
            n >= self.next_input,
            "inputs must be added in increasing order"
        );
        self.next_input = self.next_input.max(n);
    }

    /// Add one profile.
    pub fn add(&mut self, p: &Profile) -> Result<(), MergeError> {
        let first = self.start(p)?;
        let b = self.builder.as_mut().expect("started");
        merge_into(b, p);
        self.end(p, first);
        Ok(())
    }

    /// Add one profile that a text reader produces as name stacks, straight into the merged
    /// profile, without building a profile of its own first (which would create, and drop,
    /// every frame name and stack once per input). `header` holds everything but the stacks
    /// (sample types, metadata, …; its samples are ignored); `fill` feeds the stacks into the
    /// sink it is given and returns the input's data quality. The result is the same as
    /// [`Merger::add`] of the profile `fill` would build with [`ProfileBuilder`].
    ///
    /// `Err` is a header that cannot be merged (nothing was added); `Ok(Err(e))` is `fill`'s
    /// error, after which the merger holds part of that input and should be dropped.
    pub fn add_stacks<E>(
        &mut self,
        header: &Profile,
        fill: impl FnOnce(&mut dyn StackSink) -> Result<DataQuality, E>,
    ) -> Result<Result<(), E>, MergeError> {
        let first = self.start(header)?;
        let mut sink = MergerSink {
            b: self.builder.as_mut().expect("started"),
            names: &mut self.names,
        };
        let quality = match fill(&mut sink) {
            Ok(q) => q,
            Err(e) => return Ok(Err(e)),
        };
        let out = self.builder.as_mut().expect("started").profile_mut();
        out.quality.add(&quality);
        self.end(header, first);
        Ok(Ok(()))
    }

    /// Check `p` can join the merge and set up the merged profile from it when it is the
    /// first. Returns whether it is the first.
    fn start(&mut self, p: &Profile) -> Result<bool, MergeError> {
        let first = match &self.builder {
            None => {
                let mut b = ProfileBuilder::new(p.sample_types.clone());
                let out = b.profile_mut();
                out.default_sample_type = p.default_sample_type;
                out.period_type = p.period_type.clone();
                out.period = p.period;
                out.drop_frames = p.drop_frames.clone();
                out.keep_frames = p.keep_frames.clone();
                self.builder = Some(b);
                self.first_input = self.next_input;
                true
            }
            Some(b) => {
                if p.sample_types != b.profile().sample_types {
                    return Err(MergeError(format!(
                        "profile {} has sample types [{}] but the first has [{}]",
                        self.next_input + 1,
                        describe_types(&p.sample_types),
                        describe_types(&b.profile().sample_types)
                    )));
                }
                false
            }
        };
        let out = self.builder.as_ref().expect("started").profile();
        self.firsts.push(FirstIds {
            input: self.next_input,
            ids: table_lens(out),
        });
        Ok(first)
    }

    /// Everything but the samples: times, metadata, comments (the first profile's win); and
    /// the bookkeeping of which input brought what.
    fn end(&mut self, p: &Profile, first: bool) {
        let input = self.next_input;
        let out = self.builder.as_mut().expect("started").profile_mut();
        if first {
            out.time_nanos = p.time_nanos.max(0);
            out.duration_nanos = p.duration_nanos.max(0);
            out.metadata = p.metadata.clone();
            out.comments = p.comments.clone();
            self.metadata_input = p.metadata.keys().map(|k| (k.clone(), input)).collect();
        } else {
            if p.time_nanos > 0 && (out.time_nanos == 0 || p.time_nanos < out.time_nanos) {
                out.time_nanos = p.time_nanos;
            }
            out.duration_nanos = out.duration_nanos.saturating_add(p.duration_nanos.max(0));
            for (k, v) in &p.metadata {
                if !out.metadata.contains_key(k) {
                    out.metadata.insert(k.clone(), v.clone());
                    self.metadata_input.insert(k.clone(), input);
                }
            }
            for c in &p.comments {
                if !out.comments.contains(c) {
                    out.comments.push(c.clone());
                }
            }
        }
        self.comment_input.resize(out.comments.len(), input);
        self.note_input.resize(out.quality.notes.len(), input);
        // Keep the record only when this input brought new entities.
        let lens = table_lens(out);
        if self.firsts.last().is_some_and(|f| f.ids == lens) {
            self.firsts.pop();
        }
        self.count += 1;
        self.next_input = input + 1;
    }

    /// The merged profile (`None` when nothing was added).
    pub fn finish(self) -> Option<Profile> {
        self.builder.map(|b| b.finish())
    }

    /// Combine mergers that each added a disjoint set of inputs, each in increasing input
    /// order: the result is the profile one merger adding all those inputs in input order
    /// gives, entity ids and order included. `None` when nothing was added.
    pub fn combine(parts: Vec<Merger>) -> Result<Option<Profile>, MergeError> {
        let mut parts: Vec<Merger> = parts.into_iter().filter(|m| m.builder.is_some()).collect();
        parts.sort_by_key(|m| m.first_input);
        if parts.len() <= 1 {
            return Ok(parts.pop().and_then(Merger::finish));
        }
        let all: Vec<(Profile, Merger)> = parts
            .into_iter()
            .map(|mut m| (m.builder.take().expect("kept").finish(), m))
            .collect();
        let types = all[0].0.sample_types.clone();
        // Inputs of different types: the first input (by number) that disagrees is named.
        if let Some((p, m)) = all
            .iter()
            .filter(|(p, _)| p.sample_types != types)
            .min_by_key(|(_, m)| m.first_input)
        {
            return Err(MergeError(format!(
                "profile {} has sample types [{}] but the first has [{}]",
                m.first_input + 1,
                describe_types(&p.sample_types),
                describe_types(&types)
            )));
        }

        let mut b = ProfileBuilder::new(types);
        {
            let (p0, _) = &all[0];
            let out = b.profile_mut();
            out.default_sample_type = p0.default_sample_type;
            out.period_type = p0.period_type.clone();
            out.period = p0.period;
            out.drop_frames = p0.drop_frames.clone();
            out.keep_frames = p0.keep_frames.clone();
        }
        // Every entity of every part, in the order one merger would have met them first:
        // by the input that first brought it, then by its order within that part.
        let order = |table: usize| -> Vec<(usize, usize)> {
            let mut v: Vec<(usize, usize, usize)> = Vec::new();
            for (w, (p, m)) in all.iter().enumerate() {
                let len = table_lens(p)[table];
                for (k, f) in m.firsts.iter().enumerate() {
                    let end = m.firsts.get(k + 1).map_or(len, |n| n.ids[table]);
                    v.extend((f.ids[table]..end).map(|id| (f.input, w, id)));
                }
            }
            v.sort_unstable();
            v.into_iter().map(|(_, w, id)| (w, id)).collect()
        };
        let mut mapping_ids: Vec<Vec<MappingId>> =
            all.iter().map(|(p, _)| vec![0; p.mappings.len()]).collect();
        for (w, id) in order(MAPPINGS) {
            mapping_ids[w][id] = b.mapping_ref(&all[w].0.mappings[id]);
        }
        let mut function_ids: Vec<Vec<FunctionId>> = all
            .iter()
            .map(|(p, _)| vec![0; p.functions.len()])
            .collect();
        for (w, id) in order(FUNCTIONS) {
            function_ids[w][id] = b.function_ref(&all[w].0.functions[id]);
        }
        let mut location_ids: Vec<Vec<LocationId>> = all
            .iter()
            .map(|(p, _)| vec![0; p.locations.len()])
            .collect();
        let mut scratch = Location::default();
        for (w, id) in order(LOCATIONS) {
            let l = &all[w].0.locations[id];
            remap_location(&mut scratch, l, &mapping_ids[w], &function_ids[w]);
            location_ids[w][id] = b.location_ref(&scratch);
        }
        let mut stack = Vec::new();
        for (w, id) in order(SAMPLES) {
            let s = &all[w].0.samples[id];
            stack.clear();
            stack.extend(s.locations.iter().map(|&l| location_ids[w][l as usize]));
            if s.labels.is_empty() {
                b.add_sample(&stack, &s.values);
            } else {
                b.add_labeled_sample(stack.clone(), s.values.clone(), s.labels.clone());
            }
        }

        // The rest as adding the inputs in order would have left it.
        let out = b.profile_mut();
        let first = all[0].1.first_input;
        let mut metadata: BTreeMap<String, (usize, String)> = BTreeMap::new();
        let mut comments: Vec<(usize, usize, &String)> = Vec::new();
        let mut notes: Vec<(usize, usize, &String)> = Vec::new();
        for (p, m) in &all {
            if p.time_nanos > 0 && (out.time_nanos == 0 || p.time_nanos < out.time_nanos) {
                out.time_nanos = p.time_nanos;
            }
            out.duration_nanos = out.duration_nanos.saturating_add(p.duration_nanos);
            for (k, v) in &p.metadata {
                let input = m.metadata_input.get(k).copied().unwrap_or(m.first_input);
                match metadata.get(k) {
                    Some((i, _)) if *i <= input => {}
                    _ => {
                        metadata.insert(k.clone(), (input, v.clone()));
                    }
                }
            }
            comments.extend(
                p.comments
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (m.comment_input[i], i, c)),
            );
            notes.extend(
                p.quality
                    .notes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (m.note_input[i], i, n)),
            );
            let q = DataQuality {
                notes: Vec::new(),
                ..p.quality.clone()
            };
            out.quality.add(&q);
        }
        out.metadata = metadata.into_iter().map(|(k, (_, v))| (k, v)).collect();
        comments.sort_unstable();
        for (input, _, c) in comments {
            // The first input's comments are kept as they are, later ones only when new.
            if input == first || !out.comments.contains(c) {
                out.comments.push(c.clone());
            }
        }
        notes.sort_unstable();
        for (_, _, n) in notes {
            if !out.quality.notes.contains(n) {
                out.quality.notes.push(n.clone());
            }
        }
        Ok(Some(b.finish()))
    }
}

fn remap_location(
    out: &mut Location,
    l: &Location,
    mapping_ids: &[MappingId],
    function_ids: &[FunctionId],
) {
    out.mapping = l.mapping.map(|m| mapping_ids[m as usize]);
    out.address = l.address;
    out.is_folded = l.is_folded;
    out.lines.clear();
    out.lines.extend(l.lines.iter().map(|ln| Line {
        function: function_ids[ln.function as usize],
        ..*ln
    }));
}

/// [`Merger::add_stacks`]' sink: name-only frames are interned exactly as [`merge_into`]
/// interns the locations [`ProfileBuilder::frame`] makes, so inputs added either way share
/// them.
struct MergerSink<'a> {
    b: &'a mut ProfileBuilder,
    names: &'a mut FxHashMap<Box<str>, LocationId>,
}

impl StackSink for MergerSink<'_> {
    fn frame(&mut self, name: &str) -> LocationId {
        if let Some(&id) = self.names.get(name) {
            return id;
        }
        let loc = if name.is_empty() || name == UNKNOWN {
            Location::default()
        } else {
            let f = self.b.function(Function {
                name: name.to_string(),
                system_name: name.to_string(),
                ..Default::default()
            });
            Location {
                lines: vec![Line {
                    function: f,
                    line: 0,
                    column: 0,
                }],
                ..Default::default()
            }
        };
        let id = self.b.location(loc);
        self.names.insert(name.into(), id);
        id
    }
    fn add_sample(&mut self, stack: &[LocationId], values: &[i64]) {
        self.b.add_sample(stack, values);
    }
}

/// Add all samples of `p` into builder `b` (sample types must already agree). Functions,
/// locations and mappings `b` already has cost a lookup, not a copy.
pub fn merge_into(b: &mut ProfileBuilder, p: &Profile) {
    let mapping_ids: Vec<MappingId> = p.mappings.iter().map(|m| b.mapping_ref(m)).collect();
    let function_ids: Vec<FunctionId> = p.functions.iter().map(|f| b.function_ref(f)).collect();
    let mut scratch = Location::default();
    let location_ids: Vec<LocationId> = p
        .locations
        .iter()
        .map(|l| {
            remap_location(&mut scratch, l, &mapping_ids, &function_ids);
            b.location_ref(&scratch)
        })
        .collect();
    let mut stack = Vec::new();
    for s in &p.samples {
        stack.clear();
        stack.extend(s.locations.iter().map(|&l| location_ids[l as usize]));
        if s.labels.is_empty() {
            b.add_sample(&stack, &s.values);
        } else {
            b.add_labeled_sample(stack.clone(), s.values.clone(), s.labels.clone());
        }
    }
    b.profile_mut().quality.add(&p.quality);
}

fn describe_types(t: &[ValueType]) -> String {
    t.iter()
        .map(|t| format!("{}/{}", t.kind, t.unit))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(lines: &[(&str, i64)]) -> Profile {
        let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
        for (stack, n) in lines {
            let mut locs: Vec<_> = stack.split(';').map(|f| b.frame(f)).collect();
            locs.reverse();
            b.add_sample(&locs, &[*n]);
        }
        b.finish()
    }

    #[test]
    fn merge_sums_equal_stacks() {
        let a = folded(&[("main;f", 2), ("main;g", 1)]);
        let b = folded(&[("main;f", 3), ("main;h", 4)]);
        let m = merge(&[a, b]).unwrap();
        assert_eq!(m.total(0), 10);
        assert_eq!(m.samples.len(), 3);
        let f = m
            .samples
            .iter()
            .find(|s| m.stack_names(s) == vec!["main", "f"])
            .unwrap();
        assert_eq!(f.values, vec![5]);
    }

    /// Inputs with everything the merge has to order: new and shared functions, locations,
    /// mappings and stacks, labeled samples, metadata, comments and quality notes.
    fn varied_inputs() -> Vec<Profile> {
        (0..9)
            .map(|i| {
                let mut b = ProfileBuilder::new(vec![ValueType::samples()]);
                let m = b.mapping(Mapping {
                    file: format!("/lib{}.so", i % 3),
                    start: 0x1000,
                    limit: 0x9000,
                    ..Default::default()
                });
                let unsym = b.location(Location {
                    mapping: Some(m),
                    address: 0x1100 + (i % 2) as u64,
                    ..Default::default()
                });
                let main = b.frame("main");
                let f = b.frame(&format!("f{}", i % 4));
                let g = b.frame(&format!("g{i}"));
                b.add_sample(&[f, main], &[i as i64 + 1]);
                b.add_sample(&[g, f, main], &[2]);
                b.add_sample(&[unsym, main], &[3]);
                if i % 3 == 1 {
                    b.add_labeled_sample(
                        vec![f, main],
                        vec![1],
                        vec![Label {
                            key: "thread".into(),
                            str: Some(format!("t{i}")),
                            num: None,
                            num_unit: None,
                        }],
                    );
                }
                let p = b.profile_mut();
                p.time_nanos = 1000 - i as i64;
                p.duration_nanos = 10;
                p.metadata.insert("host".into(), format!("h{i}"));
                p.metadata.insert(format!("k{}", i % 4), format!("v{i}"));
                p.comments.push(format!("c{}", i % 5));
                p.quality.lost_samples = i as u64;
                p.quality.notes.push(format!("n{}", i % 3));
                b.finish()
            })
            .collect()
    }

    #[test]
    fn parallel_merge_combine_equals_merging_in_order() {
        let inputs = varied_inputs();
        let want = merge(&inputs).unwrap();
        // Inputs shared out to 1..=4 workers in several interleavings.
        let assignments: Vec<Vec<usize>> = vec![
            vec![0; 9],
            vec![0, 1, 0, 1, 0, 1, 0, 1, 0],
            vec![1, 1, 0, 0, 0, 1, 1, 1, 0],
            vec![2, 0, 1, 3, 3, 0, 2, 1, 0],
            vec![3, 3, 3, 3, 3, 3, 3, 3, 2],
        ];
        for assign in assignments {
            let mut workers: Vec<Merger> = (0..4).map(|_| Merger::new()).collect();
            for (i, p) in inputs.iter().enumerate() {
                let m = &mut workers[assign[i]];
                m.skip_to(i);
                m.add(p).unwrap();
            }
            // The order the parts are given in does not matter either.
            workers.reverse();
            let got = Merger::combine(workers).unwrap().unwrap();
            assert_eq!(got, want, "assignment {assign:?}");
        }
        assert!(Merger::combine(vec![Merger::new(), Merger::new()])
            .unwrap()
            .is_none());
    }

    #[test]
    fn parallel_merge_combine_names_the_first_input_of_another_type() {
        let a = folded(&[("main", 1)]);
        let mut b = folded(&[("main", 1)]);
        b.sample_types[0] = ValueType::new("cpu", "nanoseconds");
        let mut w0 = Merger::new();
        let mut w1 = Merger::new();
        w0.add(&a).unwrap();
        w1.skip_to(1);
        w1.add(&b).unwrap();
        w0.skip_to(2);
        w0.add(&a).unwrap();
        w1.skip_to(3);
        w1.add(&b).unwrap();
        let e = Merger::combine(vec![w0, w1]).unwrap_err();
        assert!(
            e.0.starts_with("profile 2 has sample types [cpu/nanoseconds]"),
            "{e}"
        );
    }

    #[test]
    fn merge_rejects_different_sample_types() {
        let a = folded(&[("main", 1)]);
        let mut b = folded(&[("main", 1)]);
        b.sample_types[0] = ValueType::new("cpu", "nanoseconds");
        assert!(merge(&[a, b]).is_err());
    }
}
