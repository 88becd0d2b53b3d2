//! Recording: sampling a command or process with perf_event_open (see issue 4), and the DWARF
//! unwinder shared with perf.data ingest.

pub mod raw;
pub mod unwind;
