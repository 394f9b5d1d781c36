//! The process's allocator: the system's, except for the buffers hyper gives each connection.
//!
//! hyper gives each HTTP/1 connection an 8 KiB read buffer and an 8 KiB write buffer for as long
//! as it is open, of which a request and a response head touch the first few hundred bytes. Taken
//! from the C library's heap, where freed memory is reused, those buffers end up resident in full:
//! at 5,000 keep-alive connections they were 80 of the 102 MiB the process held (heaptrack;
//! glibc serves them from its heap even with a lower `M_MMAP_THRESHOLD` whenever a free chunk
//! fits). [`ConnectionBuffers`] maps each one on fresh pages of its own instead: only the pages a
//! connection writes become resident (one of two), and they go back to the kernel when it ends.
//! The price is a map and an unmap per buffer, paid when a connection opens and closes (hyper
//! reuses the read buffer from request to request: see `half_close` in `lib.rs`).

use std::alloc::{GlobalAlloc, Layout, System};

/// The size of hyper's per-connection buffers (its `INIT_BUFFER_SIZE`): allocations of exactly
/// this size are mapped; any other size is the system allocator's.
const MAPPED_SIZE: usize = 8 * 1024;

/// The system allocator, with allocations of [`MAPPED_SIZE`] on pages of their own (Linux).
pub struct ConnectionBuffers;

impl ConnectionBuffers {
    fn mapped(layout: Layout) -> bool {
        cfg!(target_os = "linux") && layout.size() == MAPPED_SIZE && layout.align() <= 4096
    }
}

// SAFETY: every block comes from, and goes back to, the allocator chosen by its layout's size,
// which `dealloc` and `realloc` are given unchanged; mapped blocks are page-aligned (alignment up
// to a page) and `MAPPED_SIZE` long, zeroed by the kernel.
unsafe impl GlobalAlloc for ConnectionBuffers {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::mapped(layout) {
            map()
        } else {
            // SAFETY: as the caller promised.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::mapped(layout) {
            map()
        } else {
            // SAFETY: as the caller promised.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::mapped(layout) {
            // SAFETY: `ptr` was mapped by `map`, `MAPPED_SIZE` long.
            unsafe { unmap(ptr) }
        } else {
            // SAFETY: as the caller promised.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller promises a valid layout of `new_size` with the same alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !Self::mapped(layout) && !Self::mapped(new_layout) {
            // SAFETY: as the caller promised.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: `new_layout` is valid (above); the old block is `layout.size()` long.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(target_os = "linux")]
fn map() -> *mut u8 {
    use libc::{MAP_ANONYMOUS, MAP_FAILED, MAP_PRIVATE, PROT_READ, PROT_WRITE, mmap};
    // SAFETY: an anonymous private mapping, at an address the kernel picks.
    let ptr = unsafe {
        mmap(
            std::ptr::null_mut(),
            MAPPED_SIZE,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == MAP_FAILED {
        std::ptr::null_mut()
    } else {
        ptr.cast()
    }
}

#[cfg(target_os = "linux")]
unsafe fn unmap(ptr: *mut u8) {
    // SAFETY: the caller passes a block `map` returned. An unmap that fails leaves the pages
    // mapped, which only costs memory.
    unsafe { libc::munmap(ptr.cast(), MAPPED_SIZE) };
}

#[cfg(not(target_os = "linux"))]
fn map() -> *mut u8 {
    unreachable!("only Linux maps connection buffers")
}

#[cfg(not(target_os = "linux"))]
unsafe fn unmap(_: *mut u8) {
    unreachable!("only Linux maps connection buffers")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_buffer_is_page_aligned_zeroed_and_keeps_its_bytes_when_it_grows_or_shrinks() {
        let allocator = ConnectionBuffers;
        let buffer = Layout::from_size_align(MAPPED_SIZE, 1).unwrap();
        // SAFETY: layouts of non-zero size; each block is freed with the layout it has.
        unsafe {
            let block = allocator.alloc_zeroed(buffer);
            assert!(!block.is_null());
            assert_eq!(block as usize % 4096, 0, "a mapped block starts a page");
            assert!(
                std::slice::from_raw_parts(block, MAPPED_SIZE)
                    .iter()
                    .all(|b| *b == 0)
            );
            block.write_bytes(7, MAPPED_SIZE);
            let grown = allocator.realloc(block, buffer, 3 * MAPPED_SIZE);
            assert!(
                std::slice::from_raw_parts(grown, MAPPED_SIZE)
                    .iter()
                    .all(|b| *b == 7)
            );
            let grown_layout = Layout::from_size_align(3 * MAPPED_SIZE, 1).unwrap();
            let back = allocator.realloc(grown, grown_layout, MAPPED_SIZE);
            assert!(
                std::slice::from_raw_parts(back, MAPPED_SIZE)
                    .iter()
                    .all(|b| *b == 7)
            );
            allocator.dealloc(back, buffer);
        }
    }
}
