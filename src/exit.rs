//! Freeing at exit, or not: a one-shot command that built a large recording, a symbolizer with
//! mapped binaries and DWARF indexes, or tens of MB of flamegraph text spends ~10–20 ms
//! freeing them object by object just before the process ends, when the kernel would take
//! the whole address space back at once. The binary calls [`keep_until_exit`]; library code
//! hands what it is done with to [`drop_later`], which frees it at once unless the binary
//! asked otherwise (so tests and library users never accumulate memory).

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static KEEP: AtomicBool = AtomicBool::new(false);
static KEPT: Mutex<Vec<Box<dyn Any + Send>>> = Mutex::new(Vec::new());

/// From now on [`drop_later`] keeps values until the process exits (statics are never
/// dropped, so the memory goes back with the address space).
pub fn keep_until_exit() {
    KEEP.store(true, Ordering::Relaxed);
}

/// Drop `value` now, or keep it until exit after [`keep_until_exit`].
pub fn drop_later<T: Send + 'static>(value: T) {
    if KEEP.load(Ordering::Relaxed) {
        KEPT.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(value));
    } else {
        drop(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn drops_at_once_unless_asked() {
        let v = Arc::new(1);
        drop_later(v.clone());
        assert_eq!(Arc::strong_count(&v), 1, "dropped at once by default");
    }
}
