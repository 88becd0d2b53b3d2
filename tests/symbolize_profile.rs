//! `build_profile` on hand-built recordings against a binary compiled here: stacks come out
//! root-first with the right functions (return addresses looked up at addr - 1), inline
//! frames, mappings with build ids, sample types, kernel frames through a kallsyms file, and
//! missing binaries / build-id mismatches degrade to `[unknown]` frames with a note.

mod common;

use object::{Object, ObjectSegment, ObjectSymbol};
use profdiff::record::raw::{MappedRegion, RawRecording, StackKey};
use profdiff::symbolize::{build_profile, SymbolizerOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

const BASE: u64 = 0x5555_5555_0000;

struct Bin {
    _dir: tempfile::TempDir,
    path: PathBuf,
    build_id: Vec<u8>,
    /// function name → file offset of its first instruction
    funcs: Vec<(String, u64)>,
    len: u64,
}

fn compile_c() -> Option<Bin> {
    if !common::have("gcc") {
        assert!(
            std::env::var("PROFDIFF_REQUIRE_FIXTURES").as_deref() != Ok("1"),
            "gcc required"
        );
        common::skip_log::skipped("gcc not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("symtest_c");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/symtest.c");
    let st = Command::new("gcc")
        .args(["-O2", "-g", "-Wl,--build-id", "-o"])
        .arg(&path)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let bytes = std::fs::read(&path).unwrap();
    let obj = object::File::parse(&*bytes).unwrap();
    let build_id = obj.build_id().unwrap().unwrap().to_vec();
    let to_off = |vaddr: u64| {
        obj.segments()
            .find_map(|s| {
                let (off, size) = s.file_range();
                (vaddr >= s.address() && vaddr < s.address() + size)
                    .then(|| vaddr - s.address() + off)
            })
            .unwrap()
    };
    let funcs = obj
        .symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text && s.size() > 0)
        .map(|s| (s.name().unwrap().to_string(), to_off(s.address())))
        .collect();
    Some(Bin {
        path,
        build_id,
        funcs,
        len: bytes.len() as u64,
        _dir: dir,
    })
}

impl Bin {
    fn off(&self, name: &str) -> u64 {
        self.funcs.iter().find(|f| f.0 == name).unwrap().1
    }
    fn region(&self, build_id: Option<Vec<u8>>) -> MappedRegion {
        MappedRegion {
            start: BASE,
            end: BASE + self.len.next_multiple_of(4096),
            file_offset: 0,
            path: self.path.to_string_lossy().into_owned(),
            build_id,
        }
    }
}

fn recording(region: MappedRegion, user: Vec<u64>, kernel: Vec<u64>) -> RawRecording {
    let mut rec = RawRecording {
        event: "cpu-clock".into(),
        period_is_time: true,
        frequency: Some(1000),
        kernel_allowed: true,
        duration_nanos: 2_000_000_000,
        start_time_nanos: 1_700_000_000_000_000_000,
        metadata: vec![("command".into(), "symtest_c 100".into())],
        ..Default::default()
    };
    let p = rec.process(42);
    p.comm = "symtest_c".into();
    p.insert(region);
    rec.threads.insert(43, "worker".into());
    let key = StackKey {
        pid: 42,
        tid: 43,
        kernel,
        user,
        truncated: false,
    };
    for _ in 0..3 {
        rec.add(&key, 1_000_000);
    }
    rec
}

#[test]
fn builds_symbolized_profile_with_kernel_frames() {
    let Some(bin) = compile_c() else { return };
    // leaf inside hot_loop; return addresses just after the start of cold_path and main
    // (looked up at addr - 1, still inside those functions).
    let user = vec![
        BASE + bin.off("hot_loop") + 4,
        BASE + bin.off("cold_path") + 2,
        BASE + bin.off("main") + 2,
    ];
    let kdir = tempfile::tempdir().unwrap();
    let kallsyms = kdir.path().join("kallsyms");
    std::fs::write(
        &kallsyms,
        "ffffffff81000000 T _stext\nffffffff81001000 T asm_sysvec_apic_timer_interrupt\n\
         ffffffff81002000 t irq_exit_rcu\n",
    )
    .unwrap();
    let rec = recording(
        bin.region(Some(bin.build_id.clone())),
        user,
        vec![0xffffffff81001010, 0xffffffff81002008],
    );
    let opts = SymbolizerOptions {
        kallsyms: Some(kallsyms),
        ..Default::default()
    };
    let p = build_profile(&rec, &opts);
    p.validate().unwrap();
    assert_eq!(p.samples.len(), 1);
    let names = p.stack_names(&p.samples[0]);
    assert_eq!(
        names,
        vec![
            "worker",
            "main",
            "cold_path",
            "hot_loop",
            "irq_exit_rcu",
            "asm_sysvec_apic_timer_interrupt"
        ]
    );
    assert_eq!(p.samples[0].values, vec![3, 3_000_000]);
    assert_eq!(p.sample_types[0].kind, "samples");
    assert_eq!(p.sample_types[1].kind, "cpu");
    assert_eq!(p.sample_types[1].unit, "nanoseconds");
    assert_eq!(p.period, 1_000_000);
    assert_eq!(p.duration_nanos, 2_000_000_000);
    assert_eq!(p.metadata.get("command").unwrap(), "symtest_c 100");
    assert_eq!(p.metadata.get("event").unwrap(), "cpu-clock");
    // The user mapping carries the build id and says what it could resolve.
    let m = p
        .mappings
        .iter()
        .find(|m| m.file.ends_with("symtest_c"))
        .unwrap();
    let hex: String = bin.build_id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(m.build_id, hex);
    assert!(m.has_functions && m.has_line_numbers);
    // Locations keep the original (return) address, and carry file:line from DWARF.
    let leaf = &p.locations[p.samples[0].locations[2] as usize];
    assert_eq!(leaf.address, BASE + bin.off("hot_loop") + 4);
    let f = &p.functions[leaf.lines[0].function as usize];
    assert!(f.filename.ends_with("symtest.c"), "{f:?}");
    assert!(leaf.lines[0].line > 0);
    let caller = &p.locations[p.samples[0].locations[3] as usize];
    assert_eq!(caller.address, BASE + bin.off("cold_path") + 2);
    assert_eq!(p.quality.total_frames, 3 * 5);
    assert_eq!(p.quality.unknown_frames, 0);
    assert!(p.quality.notes.is_empty(), "{:?}", p.quality.notes);
}

#[test]
fn inline_frames_expand_in_stack() {
    let Some(bin) = compile_c() else { return };
    // Find an address in hot_loop where the inlined mixbits is executing.
    let sym = profdiff::symbolize::Symbolizer::new(SymbolizerOptions::default());
    let m = sym
        .module(&profdiff::symbolize::ModuleKey {
            path: bin.path.to_string_lossy().into_owned(),
            build_id: None,
        })
        .unwrap();
    let start = bin.off("hot_loop");
    let offs: Vec<u64> = (start..start + 64).collect();
    let frames = m.symbolize_offsets(&offs);
    let Some(i) = frames.iter().position(|f| f.len() == 2) else {
        panic!("no inlined frame in hot_loop: {frames:?}");
    };
    assert_eq!(frames[i][0].function, "mixbits");
    assert_eq!(frames[i][1].function, "hot_loop");
    let rec = recording(
        bin.region(None),
        vec![BASE + offs[i], BASE + bin.off("main") + 2],
        vec![],
    );
    let opts = SymbolizerOptions {
        thread_root_frames: false,
        ..Default::default()
    };
    let p = build_profile(&rec, &opts);
    assert_eq!(
        p.stack_names(&p.samples[0]),
        vec!["main", "hot_loop", "mixbits"]
    );
}

#[test]
fn missing_binary_gives_unknown_frames_and_a_note() {
    let Some(bin) = compile_c() else { return };
    let mut region = bin.region(None);
    region.path = "/nonexistent/dir/app".into();
    let rec = recording(region, vec![BASE + 0x1234, BASE + 0x2345], vec![]);
    let p = build_profile(&rec, &SymbolizerOptions::default());
    p.validate().unwrap();
    assert_eq!(
        p.stack_names(&p.samples[0]),
        vec!["worker", "[app+0x2345]", "[app+0x1234]"]
    );
    assert_eq!(p.quality.unknown_frames, 6);
    assert_eq!(p.quality.total_frames, 6);
    assert!(
        p.quality
            .notes
            .iter()
            .any(|n| n.contains("/nonexistent/dir/app")
                && n.contains("not found")
                && n.contains("6 frames")),
        "{:?}",
        p.quality.notes
    );
}

#[test]
fn build_id_mismatch_is_not_used() {
    let Some(bin) = compile_c() else { return };
    let user = vec![BASE + bin.off("hot_loop") + 4];
    let rec = recording(bin.region(Some(vec![0xab; 20])), user, vec![]);
    let p = build_profile(&rec, &SymbolizerOptions::default());
    let names = p.stack_names(&p.samples[0]);
    assert_eq!(names.len(), 2);
    assert!(names[1].starts_with("[symtest_c+0x"), "{names:?}");
    assert!(
        p.quality
            .notes
            .iter()
            .any(|n| n.contains("build id mismatch") && n.contains(&"ab".repeat(20))),
        "{:?}",
        p.quality.notes
    );
}

#[test]
fn search_path_finds_moved_binary() {
    let Some(bin) = compile_c() else { return };
    let mut region = bin.region(Some(bin.build_id.clone()));
    region.path = "/opt/elsewhere/symtest_c".into();
    let rec = recording(region, vec![BASE + bin.off("hot_loop") + 4], vec![]);
    let opts = SymbolizerOptions {
        search_paths: vec![bin.path.parent().unwrap().to_path_buf()],
        ..Default::default()
    };
    let p = build_profile(&rec, &opts);
    assert_eq!(p.stack_names(&p.samples[0]), vec!["worker", "hot_loop"]);
}

#[test]
fn own_vdso_symbolizes() {
    // Our own process's vdso: map it as a recording would see it.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let Some(line) = maps.lines().find(|l| l.ends_with("[vdso]")) else {
        common::skip_log::skipped("no [vdso] mapping");
        return;
    };
    let (s, e) = line
        .split_whitespace()
        .next()
        .unwrap()
        .split_once('-')
        .unwrap();
    let (s, e) = (
        u64::from_str_radix(s, 16).unwrap(),
        u64::from_str_radix(e, 16).unwrap(),
    );
    // The vdso exports clock_gettime; find its offset through the in-memory image.
    let bytes = unsafe { std::slice::from_raw_parts(s as *const u8, (e - s) as usize) };
    let obj = object::File::parse(bytes).unwrap();
    let sym = obj
        .dynamic_symbols()
        .find(|x| x.name().is_ok_and(|n| n.ends_with("clock_gettime")))
        .unwrap();
    let want = sym.name().unwrap().to_string();
    let mut rec = RawRecording::default();
    rec.process(7).insert(MappedRegion {
        start: s,
        end: e,
        file_offset: 0,
        path: "[vdso]".into(),
        build_id: None,
    });
    rec.add(
        &StackKey {
            pid: 7,
            tid: 7,
            kernel: vec![],
            user: vec![s + sym.address() + 1],
            truncated: false,
        },
        1,
    );
    let p = build_profile(&rec, &SymbolizerOptions::default());
    assert_eq!(
        p.stack_names(&p.samples[0]),
        vec!["pid 7".to_string(), want]
    );
}

#[test]
fn real_kallsyms_lookups() {
    let Ok(text) = std::fs::read_to_string("/proc/kallsyms") else {
        common::skip_log::skipped("/proc/kallsyms unreadable");
        return;
    };
    let k = match profdiff::symbolize::Kallsyms::parse(&text) {
        Ok(k) => k,
        Err(e) => {
            common::skip_log::skipped(&e.to_string());
            return;
        }
    };
    // Every `T` symbol of the core kernel resolves to itself (or an alias at the same
    // address) one byte in.
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| l.contains(" T ") && !l.contains('['))
        .take(2000)
    {
        let mut it = line.split_whitespace();
        let a = u64::from_str_radix(it.next().unwrap(), 16).unwrap();
        let (_, start) = k.lookup(a + 1).unwrap();
        assert_eq!(start, a, "{line}");
        checked += 1;
    }
    assert!(checked > 100);
}

#[test]
fn separate_debug_file_via_debuglink_and_build_id() {
    let Some(bin) = compile_c() else { return };
    if !common::have("objcopy") || !common::have("strip") {
        common::skip_log::skipped("binutils objcopy/strip not installed");
        return;
    }
    let dir = bin.path.parent().unwrap().to_path_buf();
    let debug = dir.join("symtest_c.debug");
    let sh = |args: &[&str]| {
        let st = Command::new(args[0]).args(&args[1..]).status().unwrap();
        assert!(st.success(), "{args:?}");
    };
    let b = bin.path.to_str().unwrap();
    sh(&["objcopy", "--only-keep-debug", b, debug.to_str().unwrap()]);
    sh(&["strip", "--strip-all", b]);
    sh(&[
        "objcopy",
        &format!("--add-gnu-debuglink={}", debug.display()),
        b,
    ]);
    let user = vec![BASE + bin.off("hot_loop") + 4, BASE + bin.off("main") + 2];

    // 1. .gnu_debuglink next to the binary.
    let rec = recording(bin.region(Some(bin.build_id.clone())), user.clone(), vec![]);
    let p = build_profile(&rec, &SymbolizerOptions::default());
    assert_eq!(
        p.stack_names(&p.samples[0]),
        vec!["worker", "main", "hot_loop"]
    );
    let leaf = &p.locations[p.samples[0].locations[0] as usize];
    assert!(
        leaf.lines[0].line > 0,
        "line numbers come from the debug file"
    );

    // 2. By build id under a search path (DIR/.build-id/xx/rest.debug), debuglink gone.
    let hex: String = bin.build_id.iter().map(|b| format!("{b:02x}")).collect();
    let store = tempfile::tempdir().unwrap();
    let bid_dir = store.path().join(".build-id").join(&hex[..2]);
    std::fs::create_dir_all(&bid_dir).unwrap();
    std::fs::rename(&debug, bid_dir.join(format!("{}.debug", &hex[2..]))).unwrap();
    let p = build_profile(&rec, &SymbolizerOptions::default());
    let names = p.stack_names(&p.samples[0]);
    assert!(
        names[1].starts_with("[symtest_c+0x"),
        "stripped, no debug file: {names:?}"
    );
    let opts = SymbolizerOptions {
        search_paths: vec![store.path().to_path_buf()],
        ..Default::default()
    };
    let p = build_profile(&rec, &opts);
    assert_eq!(
        p.stack_names(&p.samples[0]),
        vec!["worker", "main", "hot_loop"]
    );
}

#[test]
fn jit_frames_from_perf_map() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("perf-77.map"),
        "7f0000001000 100 LazyCompile:*hot /app/x.js:3\n7f0000002000 80 Builtin:Call\n",
    )
    .unwrap();
    let mut rec = RawRecording::default();
    rec.process(77).insert(MappedRegion {
        start: 0x7f00_0000_0000,
        end: 0x7f00_0001_0000,
        file_offset: 0,
        path: "//anon".into(),
        build_id: None,
    });
    rec.add(
        &StackKey {
            pid: 77,
            tid: 77,
            kernel: vec![],
            // leaf in `hot`, return address just past the end of Builtin:Call's first byte,
            // and an address no map knows.
            user: vec![0x7f00_0000_1010, 0x7f00_0000_2001, 0x7f00_0000_9000],
            truncated: false,
        },
        5,
    );
    let opts = SymbolizerOptions {
        perf_map_dir: Some(dir.path().to_path_buf()),
        thread_root_frames: false,
        ..Default::default()
    };
    let p = build_profile(&rec, &opts);
    p.validate().unwrap();
    assert_eq!(
        p.stack_names(&p.samples[0]),
        vec![
            "[anon+0x9000]",
            "Builtin:Call",
            "LazyCompile:*hot /app/x.js:3"
        ]
    );
    assert_eq!(p.quality.unknown_frames, 1);
    assert_eq!(p.quality.total_frames, 3);
}

#[test]
fn corrupt_binary_is_a_note_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("text", b"#!/bin/sh\necho hi\n".to_vec()),
        ("elfhead", {
            let mut v = b"\x7fELF\x02\x01\x01".to_vec();
            v.resize(64, 0xff);
            v
        }),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut rec = RawRecording::default();
        rec.process(5).insert(MappedRegion {
            start: 0x1000,
            end: 0x9000,
            file_offset: 0,
            path: path.to_string_lossy().into_owned(),
            build_id: None,
        });
        rec.add(
            &StackKey {
                pid: 5,
                tid: 5,
                kernel: vec![],
                user: vec![0x1100],
                truncated: true,
            },
            1,
        );
        let p = build_profile(&rec, &SymbolizerOptions::default());
        p.validate().unwrap();
        assert_eq!(p.stack_names(&p.samples[0])[1], format!("[{name}+0x100]"));
        assert_eq!(p.quality.truncated_stacks, 1);
        assert!(
            p.quality
                .notes
                .iter()
                .any(|n| n.contains(name) && n.contains("unreadable")),
            "{name}: {:?}",
            p.quality.notes
        );
    }
}

/// The prefetch path: a module loaded and warmed on other threads (as `record` does while the
/// command runs) is the one later lookups use, and gives the same frames; `--no-inline`
/// (`debug_info: false`) gives the symbol-table names without inline frames.
#[test]
fn warmed_module_is_shared_and_no_inline_uses_symbols_only() {
    use profdiff::symbolize::{ModuleKey, Prefetcher, Symbolizer};
    use std::sync::Arc;
    let Some(bin) = compile_c() else { return };
    let key = ModuleKey {
        path: bin.path.to_string_lossy().into_owned(),
        build_id: Some(bin.build_id.clone()),
    };
    let start = bin.off("hot_loop");
    let offs: Vec<u64> = (start..start + 64).collect();
    let cold = Symbolizer::new(SymbolizerOptions::default())
        .module(&key)
        .unwrap()
        .symbolize_offsets(&offs);

    let sym = Arc::new(Symbolizer::new(SymbolizerOptions::default()));
    // Several threads asking at once get one load.
    let loaded: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let m = sym.module(&key).unwrap();
                    m.warm();
                    m
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(loaded.iter().all(|m| Arc::ptr_eq(m, &loaded[0])));
    assert_eq!(loaded[0].symbolize_offsets(&offs), cold);

    // Through the Prefetcher (paths it cannot use are ignored; finish does not block).
    let sym2 = Arc::new(Symbolizer::new(SymbolizerOptions::default()));
    let pf = Prefetcher::start(sym2.clone(), false);
    pf.want("//anon", None);
    pf.want(&key.path, key.build_id.as_deref());
    pf.want(&key.path, key.build_id.as_deref());
    pf.finish();
    assert_eq!(sym2.module(&key).unwrap().symbolize_offsets(&offs), cold);

    let plain = Symbolizer::new(SymbolizerOptions {
        debug_info: false,
        ..Default::default()
    });
    let m = plain.module(&key).unwrap();
    assert!(m.has_functions() && !m.has_lines());
    let frames = m.symbolize_offsets(&offs);
    assert!(frames.iter().all(|f| f.len() == 1 && f[0].line == 0));
    assert!(frames.iter().any(|f| f[0].function == "hot_loop"));
    assert!(
        cold.iter().any(|f| f.len() == 2),
        "DWARF has the inlined frame"
    );
}
