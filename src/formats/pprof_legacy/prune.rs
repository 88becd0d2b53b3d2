//! pprof's treatment of legacy profiles after symbolization (`addLegacyFrameInfo`, then
//! `RemoveUninteresting`): frames of the allocator (heap profiles), of lock internals
//! (contention) or of the CPU profiler's signal handler (the rest) are cut from the stacks,
//! together with everything they called, so a heap profile's leaf is the code that allocated.

use crate::model::{Profile, UNKNOWN};
use regex::Regex;

const ALLOC: &str = concat!(
    r"calloc|cfree|malloc|free|memalign|do_memalign|(__)?posix_memalign|pvalloc|valloc|realloc|",
    r"tcmalloc::.*|tc_calloc|tc_cfree|tc_malloc|tc_free|tc_memalign|tc_posix_memalign|",
    r"tc_pvalloc|tc_valloc|tc_realloc|tc_new|tc_delete|tc_newarray|tc_deletearray|",
    r"tc_new_nothrow|tc_newarray_nothrow|malloc_zone_malloc|malloc_zone_calloc|",
    r"malloc_zone_valloc|malloc_zone_realloc|malloc_zone_memalign|malloc_zone_free|",
    r"runtime\..*|BaseArena::.*|(::)?do_malloc_no_errno|(::)?do_malloc_pages|(::)?do_malloc|",
    r"DoSampledAllocation|MallocedMemBlock::MallocedMemBlock|_M_allocate|",
    r"__builtin_(vec_)?delete|__builtin_(vec_)?new|__gnu_cxx::new_allocator::allocate|",
    r"__libc_malloc|__malloc_alloc_template::allocate|allocate|cpp_alloc|operator new(\[\])?|",
    r"simple_alloc::allocate"
);
const ALLOC_KEEP: &str = r"runtime\.panic|runtime\.reflectcall|runtime\.call[0-9]*";
const CPU: &str = concat!(
    r"ProfileData::Add|ProfileData::prof_handler|CpuProfiler::prof_handler|",
    r"__pthread_sighandler|__restore"
);
const LOCK: &str = concat!(
    r"RecordLockProfileData|(base::)?RecordLockProfileData.*|(base::)?SubmitMutexProfileData.*|",
    r"(base::)?SubmitSpinLockProfileData.*|(base::Mutex::)?AwaitCommon.*|",
    r"(base::Mutex::)?Unlock.*|(base::Mutex::)?UnlockSlow.*|(base::Mutex::)?ReaderUnlock.*|",
    r"(base::MutexLock::)?~MutexLock.*|(Mutex::)?AwaitCommon.*|(Mutex::)?Unlock.*|",
    r"(Mutex::)?UnlockSlow.*|(Mutex::)?ReaderUnlock.*|(MutexLock::)?~MutexLock.*|",
    r"(SpinLock::)?Unlock.*|(SpinLock::)?SlowUnlock.*|(SpinLockHolder::)?~SpinLockHolder.*"
);

/// The sample-type lists pprof takes for heap profiles.
const HEAP_TYPES: &[&[&str]] = &[
    &["allocations", "size"],
    &["objects", "space"],
    &["inuse_objects", "inuse_space"],
    &["alloc_objects", "alloc_space"],
    &[
        "alloc_objects",
        "alloc_space",
        "inuse_objects",
        "inuse_space",
    ],
];

/// Set the profile's drop / keep frames as pprof does for legacy profiles, and prune.
pub fn remove_uninteresting(p: &mut Profile) {
    let kinds: Vec<&str> = p.sample_types.iter().map(|t| t.kind.as_str()).collect();
    let (drop, keep) = if HEAP_TYPES.contains(&kinds.as_slice()) {
        (ALLOC, ALLOC_KEEP)
    } else if kinds == ["contentions", "delay"] {
        (LOCK, "")
    } else {
        (CPU, "")
    };
    p.drop_frames = drop.to_string();
    p.keep_frames = keep.to_string();
    let anchored = |s: &str| Regex::new(&format!("^({s})$")).expect("valid regex");
    let drop = anchored(drop);
    let keep = (!keep.is_empty()).then(|| anchored(keep));
    prune(p, &drop, keep.as_ref());
}

/// `f(int)` → `f`, keeping `(anonymous namespace)` and `operator()` (pprof's `simplifyFunc`).
fn simplify(name: &str) -> &str {
    let name = name.strip_prefix('.').unwrap_or(name);
    let mut from = 0;
    while let Some(i) = name[from..].find('(').map(|i| i + from) {
        let rest = &name[i..];
        if rest.starts_with("(anonymous namespace)") {
            from = i + "(anonymous namespace)".len();
            continue;
        }
        if name[..i].ends_with("operator") && rest.starts_with("()") {
            from = i + 2;
            continue;
        }
        return &name[..i];
    }
    name
}

/// pprof's `Prune`: a location whose frame matches `drop` (and not `keep`) loses that frame and
/// the frames inlined into it; stacks are cut just above the first such location seen from the
/// root after a frame of the program itself.
fn prune(p: &mut Profile, drop: &Regex, keep: Option<&Regex>) {
    let n = p.locations.len();
    let (mut whole, mut beneath) = (vec![false; n], vec![false; n]);
    for (id, loc) in p.locations.iter_mut().enumerate() {
        let names: Vec<&str> = loc
            .lines
            .iter()
            .map(|l| {
                p.functions
                    .get(l.function as usize)
                    .map_or("", |f| f.name.as_str())
            })
            .collect();
        let hit = (0..names.len()).rev().find(|&i| {
            let name = names[i];
            if name.is_empty() || name == UNKNOWN {
                return false;
            }
            let s = simplify(name);
            drop.is_match(s) && !keep.is_some_and(|k| k.is_match(s))
        });
        if let Some(i) = hit {
            beneath[id] = true;
            if i == loc.lines.len() - 1 {
                whole[id] = true;
            } else {
                loc.lines.drain(..=i);
            }
        }
    }
    for s in &mut p.samples {
        let mut found_user = false;
        for i in (0..s.locations.len()).rev() {
            let id = s.locations[i] as usize;
            if !whole[id] && !beneath[id] {
                found_user = true;
                continue;
            }
            if !found_user {
                continue;
            }
            if whole[id] {
                s.locations.drain(..=i);
            } else {
                s.locations.drain(..i);
            }
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplify_names() {
        assert_eq!(simplify("f(int)"), "f");
        assert_eq!(
            simplify("(anonymous namespace)::g(x)"),
            "(anonymous namespace)::g"
        );
        assert_eq!(simplify("S::operator()(int)"), "S::operator()");
        assert_eq!(simplify(".main"), "main");
    }
}
