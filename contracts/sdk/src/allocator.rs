//! A bump allocator: every call runs in a fresh instance that is dropped afterwards, so memory
//! is never freed and allocation is a pointer increment. It hands out memory from the linker's
//! heap base, first the rest of the module's initial memory, then growing it a page at a time.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::Cell;

const PAGE_BYTES: usize = 64 * 1024;

unsafe extern "C" {
    /// The first address after the stack and static data, defined by the wasm linker.
    static __heap_base: u8;
}

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
            // The stack comes first, then static data; the heap starts after them and uses the
            // rest of the initial memory before growing it. Contracts are linked with room for
            // a call's usual allocations there (`--initial-memory` in
            // contracts/build-system-contracts.sh): a
            // call that grows memory costs the host two `mprotect`s, one to grow and one to
            // reset the slot for the next call.
            let heap_base = core::ptr::addr_of!(__heap_base) as usize;
            self.next.set(heap_base);
            self.end.set(wasm32::memory_size(0) * PAGE_BYTES);
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
