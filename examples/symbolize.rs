//! Drive profdiff's in-process symbolizer like binutils `addr2line -f -i -C -e BIN`: hex
//! virtual addresses on stdin (one per line), for each address its frames innermost first as
//! `function` and `file:line` lines. Used by `scripts/bench/symbolize.sh`.
//!
//! `cargo run --release --example symbolize -- BIN [-a] < addresses.txt` (`-a`: print each
//! address before its frames, like `addr2line -a`).

use profdiff::symbolize::{ModuleKey, Symbolizer, SymbolizerOptions};
use std::io::{BufRead, Write};

fn main() -> std::process::ExitCode {
    let Some(bin) = std::env::args().skip(1).find(|a| a != "-a") else {
        eprintln!("usage: symbolize BIN < addresses");
        return std::process::ExitCode::from(2);
    };
    let path = std::fs::canonicalize(&bin).unwrap_or_else(|_| bin.clone().into());
    let sym = Symbolizer::new(SymbolizerOptions::default());
    let module = match sym.module(&ModuleKey {
        path: path.to_string_lossy().into_owned(),
        build_id: None,
    }) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{bin}: cannot load: {e:?}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut addrs = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let t = line.trim().trim_start_matches("0x");
        if let Ok(a) = u64::from_str_radix(t, 16) {
            addrs.push(a);
        }
    }
    let frames = module.symbolize_vaddrs(&addrs);
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let with_addr = std::env::args().any(|a| a == "-a");
    for (a, fr) in addrs.iter().zip(frames) {
        if with_addr {
            let _ = writeln!(out, "{a:#018x}");
        }
        if fr.is_empty() {
            let _ = writeln!(out, "??\n??:?");
        }
        for f in fr {
            let file = f.file.as_deref().unwrap_or("??");
            if f.line == 0 {
                let _ = writeln!(out, "{}\n{}:?", f.function, file);
            } else {
                let _ = writeln!(out, "{}\n{}:{}", f.function, file, f.line);
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
