//! Freeing at exit, or not: a one-shot command that built a large recording, a symbolizer with
//! mapped binaries and DWARF indexes, or tens of MB of flamegraph text spends ~10–20 ms
//! freeing them object by object just before the process ends, when the kernel would take
//! the whole address space back at once. The binary calls [`keep_until_exit`]; library code
//! hands what it is done with to [`drop_later`], which frees it at once unless the binary
//! asked otherwise (so tests and library users never accumulate memory). At most
//! [`MAX_KEPT`] values are kept, so a command reading many inputs frees all but the first few
//! as it goes; `merge`, whose point is bounded memory over many inputs, keeps none.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Most values kept until exit; later ones are dropped at once.
pub const MAX_KEPT: usize = 8;

/// Values kept until exit, and whether to keep them.
struct Keeper {
    keep: AtomicBool,
    kept: Mutex<Vec<Box<dyn Any + Send>>>,
}

impl Keeper {
    const fn new() -> Self {
        Keeper {
            keep: AtomicBool::new(false),
            kept: Mutex::new(Vec::new()),
        }
    }

    fn drop_later<T: Send + 'static>(&self, value: T) {
        if self.keep.load(Ordering::Relaxed) {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            if kept.len() < MAX_KEPT {
                kept.push(Box::new(value));
                return;
            }
        }
        drop(value);
    }
}

static KEEPER: Keeper = Keeper::new();

/// From now on [`drop_later`] keeps values until the process exits (statics are never
/// dropped, so the memory goes back with the address space).
pub fn keep_until_exit() {
    KEEPER.keep.store(true, Ordering::Relaxed);
}

/// Drop `value` now, or keep it until exit after [`keep_until_exit`] (up to [`MAX_KEPT`]
/// values).
pub fn drop_later<T: Send + 'static>(value: T) {
    KEEPER.drop_later(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn drops_at_once_unless_asked_and_keeps_a_bounded_number() {
        let k = Keeper::new();
        let v = Arc::new(1);
        k.drop_later(v.clone());
        assert_eq!(Arc::strong_count(&v), 1, "dropped at once by default");
        k.keep.store(true, Ordering::Relaxed);
        for _ in 0..MAX_KEPT + 5 {
            k.drop_later(v.clone());
        }
        assert_eq!(
            Arc::strong_count(&v),
            1 + MAX_KEPT,
            "only the first few are kept"
        );
    }
}
