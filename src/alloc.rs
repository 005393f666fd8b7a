//! The global allocator: mimalloc, asked for an alignment only when its plain blocks
//! would not already have it.
//!
//! The `mimalloc` crate passes every Rust allocation to `mi_malloc_aligned`. mimalloc v3
//! takes its fast path there only for blocks up to 1 KiB that happen to be aligned, and
//! otherwise over-allocates (a generic path, and a larger block) unless the block size is
//! a power of two: a request's boxed futures and buffers paid for it on every request
//! (docs/performance.md). mimalloc's plain blocks are aligned to 16 bytes whenever the
//! size is at least that, as C's `malloc` must be, so those take `mi_malloc` (the rule of
//! the standard library's own `System` allocator).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment of every plain mimalloc block of at least this size (`MI_MAX_ALIGN_SIZE`).
const PLAIN_ALIGN: usize = 16;

pub struct Mimalloc;

/// Whether a plain block of `size` bytes is aligned enough for `align`.
#[inline]
fn plain(size: usize, align: usize) -> bool {
    align <= PLAIN_ALIGN && align <= size
}

// SAFETY: every block comes from mimalloc and goes back to it; an aligned one is freed by
// `mi_free` too, which finds its page from any pointer into the block.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions accept any size and power-of-two alignment.
        unsafe {
            if plain(layout.size(), layout.align()) {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe {
            if plain(layout.size(), layout.align()) {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (GlobalAlloc's contract).
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout` (GlobalAlloc's contract).
        unsafe {
            if plain(new_size, layout.align()) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size and alignment, a type's (a multiple of its alignment) or a raw layout's
    /// (smaller than its alignment too, which takes the aligned calls), through every entry
    /// point, comes back aligned, zeroed where asked, and keeps its bytes through a
    /// reallocation (which may cross from the aligned calls to the plain ones).
    #[test]
    fn every_block_is_aligned_as_its_layout_asks() {
        let alloc = Mimalloc;
        let mut sizes: Vec<usize> = (1..=300).collect();
        sizes.extend([1000, 1024, 1030, 1500, 2048, 4000, 4096, 5000, 70_000, 300_000]);
        let layouts = [1, 2, 4, 8, 16, 32, 64, 128, 4096].into_iter().flat_map(|align| {
            sizes.iter().flat_map(move |&size| [size, size.next_multiple_of(align)]).map(move |size| (size, align))
        });
        for (size, align) in layouts {
            let Ok(layout) = Layout::from_size_align(size, align) else { continue };
            // Many of each, so blocks come from every position of a page.
            let blocks: Vec<*mut u8> = (0..8)
                .map(|i| unsafe { if i % 2 == 0 { alloc.alloc(layout) } else { alloc.alloc_zeroed(layout) } })
                .collect();
            for (i, &p) in blocks.iter().enumerate() {
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0, "size {} align {align}", layout.size());
                if i % 2 == 1 {
                    let bytes = unsafe { std::slice::from_raw_parts(p, layout.size()) };
                    assert!(bytes.iter().all(|&b| b == 0), "zeroed, size {}", layout.size());
                }
                unsafe { p.write_bytes(0xA5, layout.size()) };
            }
            for p in blocks {
                let grown = unsafe { alloc.realloc(p, layout, layout.size() * 3) };
                assert!(!grown.is_null());
                assert_eq!(grown as usize % align, 0, "grown, size {} align {align}", layout.size());
                let kept = unsafe { std::slice::from_raw_parts(grown, layout.size()) };
                assert!(kept.iter().all(|&b| b == 0xA5), "kept, size {}", layout.size());
                let grown_layout = Layout::from_size_align(layout.size() * 3, align).unwrap();
                unsafe { alloc.dealloc(grown, grown_layout) };
            }
        }
    }
}
