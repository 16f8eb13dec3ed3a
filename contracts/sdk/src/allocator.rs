//! A bump allocator: every call runs in a fresh instance that is dropped afterwards, so memory
//! is never freed and allocation is a pointer increment. It hands out memory above the module's
//! initial memory, growing it a page at a time as needed.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;

const PAGE_BYTES: usize = 64 * 1024;

struct BumpAllocator {
    /// Next free address; 0 until the first allocation.
    next: Cell<usize>,
    /// End of the memory grown so far.
    end: Cell<usize>,
}

// SAFETY: a contract instance runs on one thread (wasm32-unknown-unknown has no threads).
unsafe impl Sync for BumpAllocator {}

#[global_allocator]
static ALLOCATOR: BumpAllocator = BumpAllocator {
    next: Cell::new(0),
    end: Cell::new(0),
};

impl BumpAllocator {
    /// Makes `[start, start + size)` available and returns `start`, or null when memory is
    /// exhausted (the host's memory limit refuses to grow it).
    fn claim(&self, start: usize, size: usize) -> *mut u8 {
        let Some(new_next) = start.checked_add(size) else {
            return core::ptr::null_mut();
        };
        if new_next > self.end.get() {
            let pages = (new_next - self.end.get()).div_ceil(PAGE_BYTES);
            if wasm32::memory_grow(0, pages) == usize::MAX {
                return core::ptr::null_mut();
            }
            self.end.set(self.end.get() + pages * PAGE_BYTES);
        }
        self.next.set(new_next);
        start as *mut u8
    }
}

unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.next.get() == 0 {
            // Everything below the initial memory's end belongs to the stack and static data.
            let initial_end = wasm32::memory_size(0) * PAGE_BYTES;
            self.next.set(initial_end);
            self.end.set(initial_end);
        }
        let start = self.next.get().next_multiple_of(layout.align());
        self.claim(start, layout.size())
    }

    unsafe fn dealloc(&self, _pointer: *mut u8, _layout: Layout) {}

    /// Grows the most recent allocation in place, which is what a growing `Vec` (e.g. a borsh
    /// encoder's buffer) needs, instead of copying it each time.
    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = pointer as usize;
        if start + layout.size() == self.next.get() {
            return self.claim(start, new_size);
        }
        // SAFETY: the caller upholds `realloc`'s contract, which the default implementation
        // (allocate, copy, free) needs.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new_pointer = self.alloc(new_layout);
            if !new_pointer.is_null() {
                core::ptr::copy_nonoverlapping(pointer, new_pointer, layout.size().min(new_size));
            }
            new_pointer
        }
    }
}
