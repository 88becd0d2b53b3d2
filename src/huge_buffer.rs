//! [`HugeBuffer`]: a large buffer that is written through once, on transparent huge pages.
//!
//! Every 4 KiB page of fresh memory costs a page fault on first write (about 4 µs each in a
//! VM, most of it entering and leaving the kernel): the 14 MB of lines a flamegraph of deep
//! Rust stacks hands its renderer were ~3,400 faults, a fifth of the process's. A buffer that
//! is filled front to back wastes nothing on 2 MiB pages, so it is mapped on its own, in whole
//! 2 MiB pages (the kernel aligns such mappings to them), and advised `MADV_HUGEPAGE`: seven
//! faults. Where huge pages are unavailable or disabled the advice is ignored and the buffer
//! works the same on small pages.

/// Zeroed, writable memory of at least the requested length, huge pages where possible.
pub struct HugeBuffer {
    map: memmap2::MmapMut,
}

/// The huge page size on x86-64 and arm64 (4 KiB base pages).
const HUGE_PAGE: usize = 2 << 20;

impl HugeBuffer {
    /// A buffer of `len` bytes (at least one byte is mapped).
    pub fn new(len: usize) -> std::io::Result<HugeBuffer> {
        let mapped = len.max(1).div_ceil(HUGE_PAGE) * HUGE_PAGE;
        let map = memmap2::MmapMut::map_anon(mapped)?;
        #[cfg(target_os = "linux")]
        if len >= HUGE_PAGE {
            // Only advice: without transparent huge pages the buffer still works.
            let _ = map.advise(memmap2::Advice::HugePage);
        }
        Ok(HugeBuffer { map })
    }

    /// The start of the buffer, for writers that hand out disjoint parts of it themselves.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    /// The usable length (the requested one rounded up to whole huge pages).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Never true: at least one byte is mapped.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_huge_pages_zeroed_and_writable() {
        for len in [0, 1, HUGE_PAGE, HUGE_PAGE + 1, 5 * HUGE_PAGE - 7] {
            let mut b = HugeBuffer::new(len).unwrap();
            assert!(b.len() >= len.max(1) && b.len() % HUGE_PAGE == 0, "{len}");
            let s = b.as_mut_slice();
            assert!(s.iter().all(|&x| x == 0));
            let n = s.len();
            s[0] = 1;
            s[n - 1] = 2;
            assert_eq!((s[0], s[n - 1]), (1, 2));
        }
    }
}
