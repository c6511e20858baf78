//! The environment configuration: GenHook's own INI file (`genhook.ini`), its `GENHOOK_*`
//! environment overrides, and the typed [`Config`] the rest of the program reads.
//!
//! - **Where from:** [`Config::load`] reads `--config FILE`, else `./genhook.ini` if present,
//!   else uses [`Config::defaults`] (all defaults in [`defaults`]); then every key can be
//!   overridden by `GENHOOK_<KEY>` (e.g. `GENHOOK_SL1_PASSWORD`). [`env`](mod@env) is the only module
//!   that reads the process environment; the loader takes it as a function.
//! - **Syntax:** the shared span-keeping INI lexer ([`genhook_core::ini`]): `key = value`
//!   (or `key: value`), `;`/`#` comment lines and trailing ` ; comments`, keys
//!   case-insensitive; a `"quoted value"` is taken verbatim (for a password holding ` ;`).
//!   `[section]` headers are allowed and ignored (key names are unique), so
//!   a configparser-style file with `[server]` and `[sl1]` loads. Relative paths are relative
//!   to the working directory.
//! - **Values:** durations `500ms`, `30s`, `5m`, `1h` (bare number: seconds); sizes `512KB`,
//!   `5MB`, `1GB` (binary: 1KB = 1024 bytes; bare number: bytes); booleans
//!   `true/false/yes/no/on/off/1/0`; an empty value unsets an optional key.
//! - **Aliases:** `max_threads` = `max_worker_threads`, `queue_size` = `queue_max_size`,
//!   `thread_timeout` = `processing_timeout`, and `retry_max_attempts` = `sl1_retry_attempts`
//!   (the project notes' name for the same retry count). Both names of a pair with the same
//!   value (`30` and `30s` included) are accepted with a warning naming both places; different
//!   values are an error naming both, in the file and in the environment.
//! - **Errors:** unknown keys (with a "did you mean" hint), bad values, keys set twice, and problems between keys (TLS
//!   enabled without existing certificate and key files, a missing CA file, half of the SL1
//!   credentials) are all reported at once, as `FILE:LINE: key: message`; a bad environment
//!   variable is `environment:0: GENHOOK_KEY: message`.
//! - **Environment:** `GENHOOK_<KEY>` wins over the file, for every key and alias. The
//!   environment cannot be listed through a lookup function, so `GENHOOK_<SOURCE>_MAX_CONCURRENT`
//!   overrides a `<source>_max_concurrent` the file sets, but cannot add a new source.
//!   [`unknown_variables`] turns the `GENHOOK_*` variables nothing reads (listed by
//!   [`env::genhook_names`]) into warnings, each with the closest known name
//!   ([`genhook_core::hint`]); `check` prints them and `serve` logs them.
//! - **The predecessor's `app-config.ini`:** its keys are renamed to GenHook's where they are
//!   read (`predecessor`), each with a notice; what has no equivalent is one notice, never an
//!   error. Its mappings are found beside it (its directory is `mappings_dir` unless set); with
//!   no `--config` and no `./genhook.ini`, one in the mappings directory is read.
//! - **Warnings:** [`Config::warnings`] lists valid but risky settings (a secret in the file,
//!   the memory queue, credentials over plain http, a log that never rotates) and what loading
//!   noticed (an alias pair naming one value) for `genhook check` to print and `serve` to log;
//!   they never refuse a file.
//! - **Secrets:** `sl1_password` and `admin_token` are [`genhook_core::Secret`]s; `Config`'s
//!   `Debug` never shows them, nor a password inside a URL.
//!
//! ```
//! use std::path::Path;
//! use genhook::config::{env, Config, QueueBackend};
//!
//! let text = "server_port = 9000\nqueue_backend = memory\nmax_threads = 4\n";
//! let env = env::from_pairs([("GENHOOK_SL1_TIMEOUT", "5s")]);
//! let config = Config::parse_str(Path::new("genhook.ini"), text, &env).unwrap();
//! assert_eq!(config.listen_addr(), "127.0.0.1:9000");
//! assert_eq!(config.queue_backend, QueueBackend::Memory);
//! assert_eq!(config.max_worker_threads, 4);
//! assert_eq!(config.sl1_timeout, std::time::Duration::from_secs(5));
//!
//! let errors = Config::parse_str(Path::new("genhook.ini"), "server_port = abc\n", &env::empty)
//!     .unwrap_err();
//! assert_eq!(errors[0].to_string(), r#"genhook.ini:1: server_port: not a port number: "abc""#);
//! ```

mod checks;
mod choices;
pub mod defaults;
pub mod env;
mod keys;
mod load;
mod model;
mod origin;
mod predecessor;
mod unknown;
mod value;

pub use choices::{LogFormat, LogLevel, LogRotation, QueueBackend, ThreadingModel};
pub use env::Env;
pub use keys::key_names;
pub use model::Config;
pub use origin::ENVIRONMENT;
pub use predecessor::{migrate, Migrated};
pub use unknown::unknown_variables;
