//! A forked child never hands out its parent's random bytes: the per-thread pool behind
//! `Key::random` and the confounders is refilled in a child (the fork counter that a
//! `pthread_atfork` handler bumps). Alone in its own test binary: a child of a process whose other
//! threads might hold locks may deadlock, so no other test runs beside it.

#![cfg(unix)]

use ktix::{Enctype, Key};

#[test]
fn a_forked_child_draws_its_own_random_bytes() {
    let e = Enctype::Aes256CtsHmacSha196;
    // Fills this thread's pool, so that parent and child would hand out the same next bytes if
    // the child kept it.
    Key::random(e).unwrap();
    let mut fds = [0; 2];
    // SAFETY: a two-element array for pipe(2) to fill.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only draws a key, writes it to the pipe and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let k = Key::random(e).map(|k| k.bytes().to_vec()).unwrap_or_default();
        // SAFETY: writes k's bytes; _exit ends the child without running the parent's handlers.
        unsafe {
            libc::write(fds[1], k.as_ptr().cast(), k.len());
            libc::_exit(0);
        }
    }
    let parent = Key::random(e).unwrap().bytes().to_vec();
    let mut child = [0u8; 32];
    // SAFETY: reads into a 32-byte buffer; waits for the child started above.
    let n = unsafe { libc::read(fds[0], child.as_mut_ptr().cast(), child.len()) };
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(n, 32, "the child's key");
    assert_ne!(parent, child, "the child repeated the parent's random bytes");
    // A second draw in the parent continues its own pool.
    assert_ne!(Key::random(e).unwrap().bytes(), &parent[..]);
}
