//! Plain functions over [`Profile`]: merge, scale, compaction. Like pprof's `profile` package,
//! they never parse and never print.

use super::*;
use rustc_hash::FxHashMap;

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
/// with the number of inputs. Two mergers of consecutive inputs combine with [`Merger::absorb`]
/// (the left one's metadata wins), which makes a parallel tree reduction possible; the result
/// is the same as adding every input to one merger in order.
#[derive(Default)]
pub struct Merger {
    builder: Option<ProfileBuilder>,
    /// Profiles added so far (for error messages).
    count: usize,
    /// Name-only frames added through [`Merger::add_stacks`]: name → location, so a name seen
    /// before costs one lookup and no allocation.
    names: FxHashMap<Box<str>, LocationId>,
}

impl Merger {
    pub fn new() -> Self {
        Merger::default()
    }

    /// Number of profiles merged so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Add one profile.
    pub fn add(&mut self, p: &Profile) -> Result<(), MergeError> {
        let first = self.start(p)?;
        let b = self.builder.as_mut().expect("started");
        merge_into(b, p);
        self.end(p, first, 1);
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
        self.end(header, first, 1);
        let out = self.builder.as_mut().expect("started").profile_mut();
        out.quality.add(&quality);
        Ok(Ok(()))
    }

    /// Check `p` can join the merge and set up the merged profile from it when it is the
    /// first. Returns whether it is the first.
    fn start(&mut self, p: &Profile) -> Result<bool, MergeError> {
        match &self.builder {
            None => {
                let mut b = ProfileBuilder::new(p.sample_types.clone());
                let out = b.profile_mut();
                out.default_sample_type = p.default_sample_type;
                out.period_type = p.period_type.clone();
                out.period = p.period;
                out.drop_frames = p.drop_frames.clone();
                out.keep_frames = p.keep_frames.clone();
                self.builder = Some(b);
                Ok(true)
            }
            Some(b) => {
                if p.sample_types != b.profile().sample_types {
                    return Err(MergeError(format!(
                        "profile {} has sample types [{}] but the first has [{}]",
                        self.count + 1,
                        describe_types(&p.sample_types),
                        describe_types(&b.profile().sample_types)
                    )));
                }
                Ok(false)
            }
        }
    }

    /// Everything but the samples: times, metadata, comments (the first profile's win).
    fn end(&mut self, p: &Profile, first: bool, n: usize) {
        let out = self.builder.as_mut().expect("started").profile_mut();
        if first {
            out.time_nanos = p.time_nanos.max(0);
            out.duration_nanos = p.duration_nanos.max(0);
            out.metadata = p.metadata.clone();
            out.comments = p.comments.clone();
        } else {
            if p.time_nanos > 0 && (out.time_nanos == 0 || p.time_nanos < out.time_nanos) {
                out.time_nanos = p.time_nanos;
            }
            out.duration_nanos = out.duration_nanos.saturating_add(p.duration_nanos.max(0));
            for (k, v) in &p.metadata {
                if !out.metadata.contains_key(k) {
                    out.metadata.insert(k.clone(), v.clone());
                }
            }
            for c in &p.comments {
                if !out.comments.contains(c) {
                    out.comments.push(c.clone());
                }
            }
        }
        self.count += n;
    }

    /// Add everything another merger collected (inputs that come after this merger's).
    pub fn absorb(&mut self, other: Merger) -> Result<(), MergeError> {
        if self.builder.is_none() {
            // Nothing here yet: the other result is the merge so far, as it is.
            *self = other;
            return Ok(());
        }
        let n = other.count;
        let Some(p) = other.finish() else {
            return Ok(());
        };
        let first = self.start(&p)?;
        merge_into(self.builder.as_mut().expect("started"), &p);
        self.end(&p, first, n);
        Ok(())
    }

    /// The merged profile (`None` when nothing was added).
    pub fn finish(self) -> Option<Profile> {
        self.builder.map(|b| b.finish())
    }
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
            scratch.mapping = l.mapping.map(|m| mapping_ids[m as usize]);
            scratch.address = l.address;
            scratch.is_folded = l.is_folded;
            scratch.lines.clear();
            scratch.lines.extend(l.lines.iter().map(|ln| Line {
                function: function_ids[ln.function as usize],
                ..*ln
            }));
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

    #[test]
    fn merge_rejects_different_sample_types() {
        let a = folded(&[("main", 1)]);
        let mut b = folded(&[("main", 1)]);
        b.sample_types[0] = ValueType::new("cpu", "nanoseconds");
        assert!(merge(&[a, b]).is_err());
    }
}
