//! What an input looks like when no reader claims it, so the error names the kind of file
//! instead of blaming a reader that was only a guess ("invalid perf script" for a heap
//! profile). These are hints from a glance at the content, never a reason to read the file.

/// A short description of `data` (decompressed): "Chrome trace events JSON", "a legacy pprof
/// heap profile (text)", "text starting with \"...\"", ...
pub fn describe(data: &[u8]) -> String {
    let head = &data[..data.len().min(64 * 1024)];
    if head.starts_with(b"MOJ") && head.len() > 3 && head[3] < b' ' {
        return "Austin 4's binary MOJO samples (`mojo2austin` from pip austin-python \
                turns them into Austin text samples, which profdiff reads)"
            .to_string();
    }
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let bad = text.chars().filter(|&c| c == '\u{fffd}').count();
    if head.contains(&0) || bad * 20 > text.len().max(1) {
        return describe_binary(data);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return describe_json(trimmed);
    }
    if trimmed.starts_with('<') {
        let svg = text.contains("<svg");
        return match (
            svg,
            text.contains("flamegraph") || text.contains("Flame Graph"),
        ) {
            (true, true) => "an SVG flame graph (a drawing of a profile; profdiff reads the \
                             profile or folded stacks it was drawn from)"
                .to_string(),
            _ if text.contains("<html") || text.contains("<!DOCTYPE html") => "HTML".to_string(),
            _ => "XML".to_string(),
        };
    }
    describe_text(trimmed)
}

fn describe_binary(data: &[u8]) -> String {
    // The legacy CPU profile header (gperftools' CPUPROFILE, old Go and Java): words 0, 3
    // (header size), 0 or 1 (version), then the period.
    let words = |size: usize| -> Vec<u64> {
        data.chunks_exact(size)
            .take(3)
            .map(|c| match size {
                8 => u64::from_le_bytes(c.try_into().unwrap()),
                _ => u32::from_le_bytes(c.try_into().unwrap()) as u64,
            })
            .collect()
    };
    let header = |w: Vec<u64>| w.len() == 3 && w[0] == 0 && w[1] == 3 && w[2] <= 1;
    if header(words(8)) || header(words(4)) {
        return "a legacy binary CPU profile (gperftools CPUPROFILE)".to_string();
    }
    if data.starts_with(b"go 1.")
        && data
            .get(5..16)
            .is_some_and(|w| w.windows(5).any(|x| x == b"trace"))
    {
        return "a Go execution trace (runtime/trace; `go tool trace -pprof=TYPE` turns it \
                into a pprof profile, which profdiff reads)"
            .to_string();
    }
    if data.starts_with(b"gmon") && data.get(4..8) == Some(&1u32.to_le_bytes()[..]) {
        return "gprof's gmon.out (a histogram of addresses and call counts that only its \
                executable can name: give profdiff its report, `gprof PROGRAM gmon.out > \
                report.txt`)"
            .to_string();
    }
    if data.starts_with(b"FLR\0") {
        return "a JDK Flight Recorder recording (.jfr; async-profiler's converter or \
                `jfr print` turn it into collapsed stacks, which profdiff reads)"
            .to_string();
    }
    // Python's marshal: a dict (0x7b with the ref flag) keyed by small tuples (0x29). Keys of
    // three items are pstats data, read by `pstats`; other keys are not.
    if data.starts_with(&[0xfb, 0x29]) {
        return "Python marshal data keyed by tuples, but not of cProfile / pstats' \
                (file, line, function) keys"
            .to_string();
    }
    let shown: Vec<String> = data.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("binary data (first bytes {})", shown.join(" "))
}

fn describe_json(text: &str) -> String {
    let has = |k: &str| text.contains(&format!("\"{k}\""));
    if has("linux-perf-json-version") {
        "perf data convert --to-json output, whose samples say neither their event nor their \
         period (profdiff reads the perf.data itself, or its perf script output)"
            .to_string()
    } else if has("traceEvents") || (has("ph") && has("ts")) {
        "Chrome trace events JSON".to_string()
    } else if has("snapshot") && has("node_fields") {
        "a V8 heap snapshot (.heapsnapshot), a dump of the heap's objects rather than a profile \
         (node --heap-prof records a sampling heap profile, which profdiff reads)"
            .to_string()
    } else if has("code") && (has("ticks") || text.contains("\"SHARED_LIB\"")) {
        "a V8 tick log preprocessed by node --prof-process --preprocess (profdiff reads \
         .cpuprofile files: node --cpu-prof)"
            .to_string()
    } else if has("dhatFileVersion") {
        "valgrind DHAT output (dhat.out JSON, heap blocks rather than samples)".to_string()
    } else if has("root_frame") && has("sample_count") {
        "a pyinstrument session (-r json; profdiff reads pyinstrument -r speedscope)".to_string()
    } else if has("meta") && has("threads") {
        "Firefox Profiler (Gecko or processed) JSON".to_string()
    } else {
        "JSON that is neither speedscope nor a V8 .cpuprofile".to_string()
    }
}

/// A row of `perf report --stdio -q` (no header): `  46.61%  bench  libc.so.6  [.] qsort`.
fn perf_report_row(line: &str) -> bool {
    let Some((first, _)) = line.trim_start().split_once(char::is_whitespace) else {
        return false;
    };
    let percent = first
        .strip_suffix('%')
        .is_some_and(|n| n.parse::<f64>().is_ok());
    percent && (line.contains(" [.] ") || line.contains(" [k] "))
}

/// What another tool's text report (a summary of a profile, not its samples) is, so it is never
/// read as folded stacks or perf script: `perf report --stdio` and `go tool pprof
/// -top`, `-traces`, `-raw`, `-text` output.
pub fn report_text(text: &str) -> Option<&'static str> {
    let head: Vec<&str> = text.lines().take(40).collect();
    let any = |f: &dyn Fn(&str) -> bool| head.iter().any(|l| f(l));
    if any(&|l| l.starts_with("# Samples: ") && l.contains(" of event '"))
        || any(&|l| l.starts_with("# To display the perf.data header info"))
        || any(&|l| l.starts_with("# Overhead ") || l.starts_with("# Children "))
        || head.first().is_some_and(|l| perf_report_row(l))
    {
        return Some(
            "a perf report text summary (perf report --stdio output: give profdiff the \
             perf.data or its `perf script` output)",
        );
    }
    let pprof_header = any(&|l| l.starts_with("Type: ") || l.starts_with("PeriodType: "));
    let pprof_body = any(&|l| {
        l.starts_with("Showing nodes accounting for ")
            || l.starts_with("-----------+---")
            || l.trim_end() == "Samples:"
    });
    (pprof_header && pprof_body).then_some(
        "a go tool pprof text report (-top, -traces, -raw or -text output: give profdiff \
         the profile file itself)",
    )
}

fn describe_text(text: &str) -> String {
    if let Some(report) = report_text(text) {
        return report.to_string();
    }
    let first = text.lines().next().unwrap_or("").trim();
    let legacy_pprof = [
        ("heap profile:", "heap"),
        ("--- heapz", "heap"),
        ("--- contention", "contention"),
        ("--- growthz", "growth"),
        ("threadcreate profile:", "thread"),
        ("goroutine profile:", "goroutine"),
        ("--- threadz", "thread"),
    ];
    if let Some((_, kind)) = legacy_pprof.iter().find(|(p, _)| first.starts_with(p)) {
        return format!("a legacy pprof {kind} profile (text)");
    }
    if first.starts_with("desc: ") && text.contains("\nsnapshot=") {
        return "valgrind massif output (heap snapshots over time rather than samples)".to_string();
    }
    if first.starts_with("v8-version,") {
        return "a V8 tick log (node --prof; profdiff reads .cpuprofile files: node --cpu-prof)"
            .to_string();
    }
    if first.starts_with("Statistical profiling result from ") {
        return "a node --prof-process text report (profdiff reads .cpuprofile files: node \
                --cpu-prof)"
            .to_string();
    }
    if first.starts_with("Process ")
        && (text.contains("(active)") || text.contains("(idle)"))
        && text.contains("\nThread ")
    {
        return "a py-spy dump (one snapshot of each thread's stack; py-spy record writes \
                profiles)"
            .to_string();
    }
    if first.starts_with("goroutine ") && first.ends_with("]:") {
        return "a Go goroutine stack dump (debug=2; profdiff reads the goroutine profile \
                itself, /debug/pprof/goroutine without debug=2)"
            .to_string();
    }
    if text.contains("\nevents:") && (text.contains("\nfn=") || text.contains("\nfl=")) {
        return "valgrind callgrind/cachegrind output".to_string();
    }
    let mut shown: String = first.chars().take(60).collect();
    if shown.len() < first.len() {
        shown.push('…');
    }
    format!("text that is neither folded stacks nor perf script (first line {shown:?})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_the_file_looks_like() {
        assert_eq!(
            describe(b"heap profile:  1: 2 [ 1: 2] @ heapz_v2/524288\n"),
            "a legacy pprof heap profile (text)"
        );
        assert_eq!(
            describe(b"--- contentionz 1 ---\ncycles/second = 3\n"),
            "a legacy pprof contention profile (text)"
        );
        assert_eq!(
            describe(br#"{"traceEvents":[{"ph":"B","ts":1}]}"#),
            "Chrome trace events JSON"
        );
        assert!(describe(b"hello world\n").contains("\"hello world\""));
        let perf_report = "# To display the perf.data header info, please use --header/--header-only options.\n#\n# Samples: 2K of event 'cpu-clock'\n# Event count (approx.): 610000000\n#\n# Overhead  Symbol\n    59.18%  [.] spin_a\n";
        assert!(describe(perf_report.as_bytes()).starts_with("a perf report text summary"));
        let quiet = "    49.58%    46.61%  bench    libc.so.6             [.] msort_with_tmp.part.0\n46.61% msort_with_tmp.part.0\n";
        assert!(describe(quiet.as_bytes()).starts_with("a perf report text summary"));
        let pprof_top = "File: prog\nType: inuse_space\nShowing nodes accounting for 8MB, 100% of 8MB total\n      flat  flat%   sum%        cum   cum%\n    4MB 50% 50% 4MB 50%  main.f\n";
        assert!(describe(pprof_top.as_bytes()).starts_with("a go tool pprof text report"));
        let pprof_traces = "File: prog\nType: inuse_space\n-----------+-------------------------------------------------------\n     bytes:  64B\n   4.03MB   main.allocSmall\n";
        assert!(describe(pprof_traces.as_bytes()).starts_with("a go tool pprof text report"));
        let pprof_raw = "PeriodType: space bytes\nPeriod: 524288\nSamples:\nalloc_objects/count alloc_space/bytes\n";
        assert!(describe(pprof_raw.as_bytes()).starts_with("a go tool pprof text report"));
        assert!(
            describe(br#"{"snapshot":{"meta":{"node_fields":["type","name"]}},"nodes":[]}"#)
                .starts_with("a V8 heap snapshot")
        );
        assert!(describe(b"MOJ\x04\x01mode\x00").starts_with("Austin 4's binary MOJO"));
        assert!(
            describe(b"v8-version,11,3,244,8,-node.38,0\nv8-platform,linux,linux\n")
                .starts_with("a V8 tick log")
        );
        assert!(
            describe(b"Statistical profiling result from isolate-0x1-v8.log, (409 ticks).\n")
                .starts_with("a node --prof-process text report")
        );
        assert!(
            describe(br#"{"code":[{"name":"/usr/bin/node","type":"SHARED_LIB"}],"ticks":[]}"#)
                .starts_with("a V8 tick log preprocessed")
        );
        assert!(
            describe(b"goroutine 1 [running]:\nmain.main()\n\t/a/main.go:3 +0x1d\n")
                .starts_with("a Go goroutine stack dump")
        );
        // pstats' 3-tuple keys are read (`pstats::sniff`); other tuple-keyed marshal is named.
        assert!(describe(b"\xfb\x29\x02\xfa\x06app.py").starts_with("Python marshal data"));
        assert!(crate::formats::pstats::sniff(b"\xfb\x29\x03\xfa\x06app.py"));
        assert!(describe(
            br#"{"start_time": 1.5,"duration": 1.0,"sample_count": 10,"root_frame": {}}"#
        )
        .starts_with("a pyinstrument session"));
        assert!(describe(
            b"desc: --massif-out-file=m\ncmd: ./vg\ntime_unit: i\n#---\nsnapshot=0\n"
        )
        .starts_with("valgrind massif"));
        assert!(describe(br#"{"dhatFileVersion":2,"mode":"heap"}"#).starts_with("valgrind DHAT"));
        assert!(
            describe(br#"{"linux-perf-json-version": 1, "headers": {}, "samples": []}"#)
                .starts_with("perf data convert --to-json output")
        );
        assert!(describe(b"go 1.19 trace\0\0\0\x01").starts_with("a Go execution trace"));
        assert!(describe(b"FLR\0\0\x02\0\x01").starts_with("a JDK Flight Recorder"));
        assert!(describe(b"gmon\x01\0\0\0\0\0\0\0").starts_with("gprof's gmon.out"));
        let svg = br#"<?xml version="1.0" standalone="no"?><svg version="1.1"><title>Flame Graph</title></svg>"#;
        assert!(describe(svg).starts_with("an SVG flame graph"));
        let dump = "Process 22743: python3 app.py\nPython v3.11.7 (/usr/bin/python3.11)\n\nThread 22743 (active): \"MainThread\"\n    spin (app.py:4)\n";
        assert!(describe(dump.as_bytes()).starts_with("a py-spy dump"));
        let mut cpu = vec![0u8; 64];
        cpu[8] = 3;
        assert!(describe(&cpu).contains("gperftools"));
    }
}
