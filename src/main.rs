//! The `genhook` binary: parses the command line and hands over to [`genhook::cli::run`].
//!
//! Its global allocator is chosen at build time: the system allocator by default, mimalloc with
//! `--features mimalloc`. The system allocator (glibc) measured less memory per idle keep-alive
//! connection than mimalloc, the reason it stays the default (BENCHMARKS.md, "Idle connections
//! and the allocator").

use std::process::ExitCode;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    genhook::cli::main()
}
