//! Recording: sampling a command or process with perf_event_open (see issue 4).

pub mod raw;
