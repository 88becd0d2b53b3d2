//! DWARF-mode samples: while the target runs, each sample's user registers and stack copy go
//! to an anonymous temp file (the spool: memory stays bounded however long the recording);
//! after the target ends they are unwound with [`crate::record::unwind`] (framehop over
//! `.eh_frame` / `.debug_frame`) against the process maps and aggregated into the
//! [`RawRecording`], spread over cores with rayon.

use super::raw::{RawRecording, StackKey};
pub use super::unwind::UserRegs;
use super::unwind::{ModuleCache, ProcessUnwinder, UnwindCache, UnwindOptions, Unwound};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

/// Spooled DWARF samples.
pub struct DwarfSpool {
    w: BufWriter<File>,
    pub count: u64,
    pub bytes: u64,
}

/// One spooled sample read back.
struct Spooled {
    pid: u32,
    tid: u32,
    period: u64,
    kernel: Vec<u64>,
    regs: UserRegs,
    stack: Vec<u8>,
}

fn rd_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}
fn rd_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

impl DwarfSpool {
    pub fn new() -> io::Result<Self> {
        Ok(DwarfSpool {
            w: BufWriter::with_capacity(1 << 20, tempfile::tempfile()?),
            count: 0,
            bytes: 0,
        })
    }

    pub fn push(
        &mut self,
        pid: u32,
        tid: u32,
        period: u64,
        kernel: &[u64],
        regs: UserRegs,
        stack: &[u8],
    ) -> io::Result<()> {
        let w = &mut self.w;
        w.write_all(&pid.to_le_bytes())?;
        w.write_all(&tid.to_le_bytes())?;
        w.write_all(&period.to_le_bytes())?;
        w.write_all(&(kernel.len() as u32).to_le_bytes())?;
        for k in kernel {
            w.write_all(&k.to_le_bytes())?;
        }
        for v in [regs.ip, regs.sp, regs.bp] {
            w.write_all(&v.to_le_bytes())?;
        }
        w.write_all(&(stack.len() as u32).to_le_bytes())?;
        w.write_all(stack)?;
        self.count += 1;
        self.bytes += stack.len() as u64;
        Ok(())
    }

    fn read_one(r: &mut impl Read) -> io::Result<Option<Spooled>> {
        let pid = match rd_u32(r) {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        };
        let tid = rd_u32(r)?;
        let period = rd_u64(r)?;
        let nk = rd_u32(r)? as usize;
        let kernel = (0..nk).map(|_| rd_u64(r)).collect::<io::Result<Vec<_>>>()?;
        let regs = UserRegs {
            ip: rd_u64(r)?,
            sp: rd_u64(r)?,
            bp: rd_u64(r)?,
        };
        let n = rd_u32(r)? as usize;
        let mut stack = vec![0; n];
        r.read_exact(&mut stack)?;
        Ok(Some(Spooled {
            pid,
            tid,
            period,
            kernel,
            regs,
            stack,
        }))
    }

    /// Unwind every spooled sample and add it to `rec`. Returns unwind problems as notes.
    pub fn unwind_into(
        self,
        rec: &mut RawRecording,
        search_paths: &[std::path::PathBuf],
    ) -> io::Result<()> {
        let mut file = self.w.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        let mut r = BufReader::with_capacity(1 << 20, file);
        let modules = ModuleCache::new(UnwindOptions {
            search_paths: search_paths.to_vec(),
            ..Default::default()
        });
        let mut unwinders: FxHashMap<u32, ProcessUnwinder> = FxHashMap::default();
        // Read in batches; unwind each batch in parallel.
        const BATCH: usize = 2048;
        loop {
            let mut batch = Vec::with_capacity(BATCH);
            while batch.len() < BATCH {
                match Self::read_one(&mut r)? {
                    Some(s) => batch.push(s),
                    None => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            for s in &batch {
                unwinders
                    .entry(s.pid)
                    .or_insert_with(|| match rec.processes.get(&s.pid) {
                        Some(m) => ProcessUnwinder::from_maps(m, &modules),
                        None => ProcessUnwinder::new(modules.options().max_frames),
                    });
            }
            let min_len = batch
                .len()
                .div_ceil(2 * rayon::current_num_threads())
                .max(1);
            let keys: Vec<(StackKey, u64)> = batch
                .into_par_iter()
                // A few pieces per thread: each piece builds an unwind cache (a large zeroed
                // table), so not one per rayon split.
                .with_min_len(min_len)
                .map_init(
                    || (UnwindCache::default(), Unwound::default()),
                    |(cache, out), s| {
                        unwinders[&s.pid].unwind(s.regs, &s.stack, cache, out);
                        let key = StackKey {
                            pid: s.pid,
                            tid: s.tid,
                            kernel: s.kernel,
                            user: out.frames.clone(),
                            truncated: out.truncated,
                        };
                        (key, s.period)
                    },
                )
                .collect();
            for (k, p) in keys {
                rec.add(&k, p);
            }
        }
        for (path, problem) in modules.problems() {
            // [vsyscall], [vdso], anonymous memory: nothing to load, nothing to report.
            if path.starts_with('[') || super::unwind::is_special_path(&path) {
                continue;
            }
            let note = format!("no unwind information for {path}: {problem:?}");
            if !rec.notes.contains(&note) {
                rec.notes.push(note);
            }
        }
        Ok(())
    }
}
