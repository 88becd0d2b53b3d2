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
    ///
    /// The merger holding the first input is the base: the others' entities are interned
    /// into it (as [`Merger::add`] would), then every table is put in the order of the input
    /// that first brought each entity, and the ids are renumbered.
    pub fn combine(parts: Vec<Merger>) -> Result<Option<Profile>, MergeError> {
        let mut parts: Vec<Merger> = parts.into_iter().filter(|m| m.builder.is_some()).collect();
        parts.sort_by_key(|m| m.first_input);
        if parts.len() <= 1 {
            return Ok(parts.pop().and_then(Merger::finish));
        }
        let rest = parts.split_off(1);
        let mut base = parts.pop().expect("two or more parts");
        let types = base
            .builder
            .as_ref()
            .expect("kept")
            .profile()
            .sample_types
            .clone();
        // Inputs of different types: the first input (by number) that disagrees is named.
        if let Some(m) = rest
            .iter()
            .find(|m| m.builder.as_ref().expect("kept").profile().sample_types != types)
        {
            return Err(MergeError(format!(
                "profile {} has sample types [{}] but the first has [{}]",
                m.first_input + 1,
                describe_types(&m.builder.as_ref().expect("kept").profile().sample_types),
                describe_types(&types)
            )));
        }

        // Where each entity of the base comes in input order: (input that first brought it,
        // part, id in that part); the smallest over the parts that have it wins.
        let mut extras = vec![Extras::of(
            base.builder.as_ref().expect("kept").profile(),
            &base,
        )];
        let b = base.builder.as_mut().expect("kept");
        let mut keys: [Vec<(usize, usize, usize)>; 4] = Default::default();
        let lens = table_lens(b.profile());
        for (t, k) in keys.iter_mut().enumerate() {
            *k = first_keys(&base.firsts, t, lens[t], 0);
        }
        let note = |k: &mut Vec<(usize, usize, usize)>, id: usize, key| {
            if id == k.len() {
                k.push(key);
            } else if key < k[id] {
                k[id] = key;
            }
        };
        let mut stack = Vec::new();
        let mut scratch = Location::default();
        for (w, mut part) in rest.into_iter().enumerate() {
            let w = w + 1;
            let p = part.builder.take().expect("kept").finish();
            extras.push(Extras::of(&p, &part));
            let lens = table_lens(&p);
            let pk: [Vec<(usize, usize, usize)>; 4] =
                [0, 1, 2, 3].map(|t| first_keys(&part.firsts, t, lens[t], w));
            let mut mapping_ids = Vec::with_capacity(p.mappings.len());
            for (id, m) in p.mappings.iter().enumerate() {
                let n = b.mapping_ref(m);
                note(&mut keys[MAPPINGS], n as usize, pk[MAPPINGS][id]);
                mapping_ids.push(n);
            }
            let mut function_ids = Vec::with_capacity(p.functions.len());
            for (id, f) in p.functions.iter().enumerate() {
                let n = b.function_ref(f);
                note(&mut keys[FUNCTIONS], n as usize, pk[FUNCTIONS][id]);
                function_ids.push(n);
            }
            let mut location_ids = Vec::with_capacity(p.locations.len());
            for (id, l) in p.locations.iter().enumerate() {
                remap_location(&mut scratch, l, &mapping_ids, &function_ids);
                let n = b.location_ref(&scratch);
                note(&mut keys[LOCATIONS], n as usize, pk[LOCATIONS][id]);
                location_ids.push(n);
            }
            for (id, s) in p.samples.iter().enumerate() {
                stack.clear();
                stack.extend(s.locations.iter().map(|&l| location_ids[l as usize]));
                let n = if s.labels.is_empty() {
                    b.add_sample_at(&stack, &s.values)
                } else {
                    let n = b.profile().samples.len();
                    b.add_labeled_sample(stack.clone(), s.values.clone(), s.labels.clone());
                    n
                };
                note(&mut keys[SAMPLES], n, pk[SAMPLES][id]);
            }
        }

        let mut out = base.builder.take().expect("kept").finish();
        let [mappings, functions, locations, samples] = keys.map(|k| Order::by(&k));
        out.mappings = mappings.apply(std::mem::take(&mut out.mappings));
        out.functions = functions.apply(std::mem::take(&mut out.functions));
        out.locations = locations.apply(std::mem::take(&mut out.locations));
        for l in &mut out.locations {
            l.mapping = l.mapping.map(|m| mappings.new_id[m as usize] as MappingId);
            for ln in &mut l.lines {
                ln.function = functions.new_id[ln.function as usize] as FunctionId;
            }
        }
        out.samples = samples.apply(std::mem::take(&mut out.samples));
        for s in &mut out.samples {
            for l in &mut s.locations {
                *l = locations.new_id[*l as usize] as LocationId;
            }
        }
        Extras::apply(extras, base.first_input, &mut out);
        Ok(Some(out))
    }
}

/// (input that first brought it, `part`, id) for every id of table `table` (`len` entries)
/// of a merger whose inputs are recorded in `firsts`.
fn first_keys(
    firsts: &[FirstIds],
    table: usize,
    len: usize,
    part: usize,
) -> Vec<(usize, usize, usize)> {
    let mut v = Vec::with_capacity(len);
    for (k, f) in firsts.iter().enumerate() {
        let end = firsts.get(k + 1).map_or(len, |n| n.ids[table]);
        v.extend((f.ids[table]..end).map(|id| (f.input, part, id)));
    }
    debug_assert_eq!(v.len(), len);
    v
}

/// A renumbering of one table: entities sorted by their keys.
struct Order {
    /// Old id of each new position.
    old_of: Vec<usize>,
    /// New id of each old id.
    new_id: Vec<usize>,
}

impl Order {
    fn by(keys: &[(usize, usize, usize)]) -> Order {
        let mut old_of: Vec<usize> = (0..keys.len()).collect();
        old_of.sort_unstable_by_key(|&i| keys[i]);
        let mut new_id = vec![0; keys.len()];
        for (n, &o) in old_of.iter().enumerate() {
            new_id[o] = n;
        }
        Order { old_of, new_id }
    }

    fn apply<T>(&self, v: Vec<T>) -> Vec<T> {
        let mut slots: Vec<Option<T>> = v.into_iter().map(Some).collect();
        self.old_of
            .iter()
            .map(|&o| slots[o].take().expect("a permutation"))
            .collect()
    }
}

/// What one part of a parallel merge knows besides its tables, with the input that brought
/// each piece, so [`Merger::combine`] can redo [`Merger::add`]'s rules in input order.
struct Extras {
    time_nanos: i64,
    duration_nanos: i64,
    metadata: Vec<(usize, String, String)>,
    comments: Vec<(usize, usize, String)>,
    notes: Vec<(usize, usize, String)>,
    counters: DataQuality,
}

impl Extras {
    fn of(p: &Profile, m: &Merger) -> Extras {
        Extras {
            time_nanos: p.time_nanos,
            duration_nanos: p.duration_nanos,
            metadata: p
                .metadata
                .iter()
                .map(|(k, v)| {
                    let input = m.metadata_input.get(k).copied().unwrap_or(m.first_input);
                    (input, k.clone(), v.clone())
                })
                .collect(),
            comments: (p.comments.iter().enumerate())
                .map(|(i, c)| (m.comment_input[i], i, c.clone()))
                .collect(),
            notes: (p.quality.notes.iter().enumerate())
                .map(|(i, n)| (m.note_input[i], i, n.clone()))
                .collect(),
            counters: DataQuality {
                notes: Vec::new(),
                ..p.quality.clone()
            },
        }
    }

    /// Times, metadata, comments and data quality of all parts, as adding their inputs in
    /// order would have left them; `first` is the number of the first input.
    fn apply(all: Vec<Extras>, first: usize, out: &mut Profile) {
        out.time_nanos = 0;
        out.duration_nanos = 0;
        out.quality = DataQuality::default();
        let mut metadata: BTreeMap<String, (usize, String)> = BTreeMap::new();
        let mut comments = Vec::new();
        let mut notes = Vec::new();
        for e in all {
            if e.time_nanos > 0 && (out.time_nanos == 0 || e.time_nanos < out.time_nanos) {
                out.time_nanos = e.time_nanos;
            }
            out.duration_nanos = out.duration_nanos.saturating_add(e.duration_nanos);
            for (input, k, v) in e.metadata {
                match metadata.get(&k) {
                    Some((i, _)) if *i <= input => {}
                    _ => {
                        metadata.insert(k, (input, v));
                    }
                }
            }
            comments.extend(e.comments);
            notes.extend(e.notes);
            out.quality.add(&e.counters);
        }
        out.metadata = metadata.into_iter().map(|(k, (_, v))| (k, v)).collect();
        comments.sort_unstable();
        out.comments.clear();
        for (input, _, c) in comments {
            // The first input's comments are kept as they are, later ones only when new.
            if input == first || !out.comments.contains(&c) {
                out.comments.push(c);
            }
        }
        notes.sort_unstable();
        for (_, _, n) in notes {
            if !out.quality.notes.contains(&n) {
                out.quality.notes.push(n);
            }
        }
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
        let loc = Location::named(name, |f| self.b.function(f));
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
