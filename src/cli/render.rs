//! `genhook render`: offline, one payload through the source's own stack up to `template` (the
//! stages `serve` runs, a consumer's registered stages included, see [`crate::render`]), and
//! print the SL1 message (one line per event of a batch); exit 1 with the reason when it does
//! not render. `--verify` also runs the source's `verify` stage, which is otherwise left out.
//! With `--output json`: `{"source", "messages": [{"event", "message"}]}`.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};

use super::output::{OutputArg, Report};
use super::print_problems;
use crate::app::Validation;
use crate::render::{render_blocking, RenderProblem, Rendered, Verify, VERIFY};

/// Arguments of `genhook render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The source (mapping section) to render with.
    #[arg(long)]
    pub source: String,
    /// The event type (default: found from the headers and payload as the server does).
    #[arg(long)]
    pub event: Option<String>,
    /// A request header, `Name: value` (repeatable), e.g. `X-GitHub-Event: push`.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The configuration file (for mappings_dir).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also check the signature with the source's verify settings.
    #[arg(long)]
    pub verify: bool,
    /// The payload file, or `-` (the default) for standard input.
    #[arg(value_name = "PAYLOAD|-")]
    pub payload: Option<PathBuf>,
    /// `--output text|json`.
    #[command(flatten)]
    pub output: OutputArg,
}

pub(super) fn run(args: &RenderArgs) -> ExitCode {
    let headers = match parse_headers(&args.headers) {
        Ok(headers) => headers,
        Err(reason) => return fail(&reason),
    };
    let body = match read_payload(args.payload.as_deref()) {
        Ok(body) => body,
        Err(reason) => return fail(&reason),
    };
    let loader = match Validation::loader(args.config.as_deref()) {
        Ok(loader) => loader,
        Err(problems) => {
            print_problems(&problems);
            return ExitCode::FAILURE;
        }
    };
    let loaded = match loader.load() {
        Ok(loaded) => loaded,
        Err(problems) => {
            print_problems(&problems);
            return ExitCode::FAILURE;
        }
    };
    let Some(route) = loaded.stacks.route(&args.source) else {
        return fail(&format!("unknown source `{}`", args.source));
    };
    let verify = if args.verify {
        Verify::Check
    } else {
        Verify::Skip
    };
    match render_blocking(route, verify, headers, body, args.event.as_deref()) {
        Ok(Ok(rendered)) => {
            args.output.print(&Messages {
                source: &args.source,
                rendered: &rendered,
            });
            ExitCode::SUCCESS
        }
        Ok(Err(RenderProblem::Rejected {
            stage: VERIFY,
            reason,
        })) => fail(&format!("signature check failed: {reason}")),
        Ok(Err(problem)) => fail(&problem.to_string()),
        Err(reason) => fail(&reason),
    }
}

/// The messages of one payload (one per event of a batch).
struct Messages<'a> {
    source: &'a str,
    rendered: &'a [Rendered],
}

impl Report for Messages<'_> {
    fn json(&self) -> Value {
        json!({
            "source": self.source,
            "messages": self.rendered.iter()
                .map(|r| json!({"event": r.event, "message": r.message}))
                .collect::<Vec<_>>(),
        })
    }

    fn text(&self) -> String {
        self.rendered
            .iter()
            .map(|r| format!("{}\n", r.message))
            .collect()
    }
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("genhook render: {reason}");
    ExitCode::FAILURE
}

fn parse_headers(raw: &[String]) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for line in raw {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("--header `{line}` is not `Name: value`"))?;
        let name = HeaderName::try_from(name.trim())
            .map_err(|_| format!("--header `{line}`: bad header name"))?;
        let value = HeaderValue::try_from(value.trim())
            .map_err(|_| format!("--header `{line}`: bad header value"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

fn read_payload(path: Option<&std::path::Path>) -> Result<Vec<u8>, String> {
    match path {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        _ => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(body)
        }
    }
}
