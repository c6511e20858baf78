//! The `genhook` binary: parses the command line and hands over to [`genhook::cli::run`].
//!
//! Its global allocator is chosen at build time (cargo features, BENCHMARKS.md "Idle connections
//! and the allocator"): mimalloc by default, jemalloc with `--features jemalloc`, the system
//! allocator with `--no-default-features`.

use std::process::ExitCode;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    genhook::cli::main()
}
