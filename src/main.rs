//! The `genhook` binary: parses the command line and hands over to [`genhook::cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    genhook::cli::main()
}
