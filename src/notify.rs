//! The systemd notification protocol (`sd_notify`), for `Type=notify` units: `genhook serve`
//! sends `READY=1` once it listens, its stacks are built and its workers run, and `STOPPING=1`
//! when a shutdown begins.
//!
//! The service manager passes a datagram socket's path in `NOTIFY_SOCKET` (a leading `@` names
//! a Linux abstract socket); without it (not under systemd) nothing is sent. No crate is needed:
//! one datagram per state, written with the standard library.

use std::io;

/// The variable the service manager sets.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends `state` (e.g. `READY=1`) to the socket `env` names in `NOTIFY_SOCKET`. `Ok(false)` when
/// the variable is unset or empty (not run by a service manager).
///
/// # Errors
/// The socket cannot be reached (a path that is neither absolute nor abstract is refused).
pub fn notify(state: &str, env: &dyn Fn(&str) -> Option<String>) -> io::Result<bool> {
    let Some(path) = env(NOTIFY_SOCKET).filter(|path| !path.is_empty()) else {
        return Ok(false);
    };
    send(&path, state)?;
    Ok(true)
}

/// Sends `READY=1` with the process environment's socket, logging a failure (a service that
/// cannot say it is ready is killed by systemd at `TimeoutStartSec`, so the log says why).
pub fn ready() {
    log_failure("READY=1", notify("READY=1", &crate::config::env::lookup));
}

/// Sends `STOPPING=1` with the process environment's socket (best effort).
pub fn stopping() {
    log_failure(
        "STOPPING=1",
        notify("STOPPING=1", &crate::config::env::lookup),
    );
}

fn log_failure(state: &str, result: io::Result<bool>) {
    if let Err(error) = result {
        tracing::warn!(%error, state, "Cannot notify the service manager (NOTIFY_SOCKET).");
    }
}

#[cfg(unix)]
fn send(path: &str, state: &str) -> io::Result<()> {
    use std::os::unix::net::UnixDatagram;
    let socket = UnixDatagram::unbound()?;
    if let Some(name) = path.strip_prefix('@') {
        send_abstract(&socket, name, state)
    } else if path.starts_with('/') {
        socket.send_to(state.as_bytes(), path).map(drop)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{NOTIFY_SOCKET} is neither an absolute path nor an abstract socket"),
        ))
    }
}

#[cfg(target_os = "linux")]
fn send_abstract(
    socket: &std::os::unix::net::UnixDatagram,
    name: &str,
    state: &str,
) -> io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    socket.send_to_addr(state.as_bytes(), &addr).map(drop)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn send_abstract(
    _socket: &std::os::unix::net::UnixDatagram,
    _name: &str,
    _state: &str,
) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets are Linux-only",
    ))
}

#[cfg(not(unix))]
fn send(_path: &str, _state: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no unix sockets on this platform",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    fn env_with(path: String) -> impl Fn(&str) -> Option<String> {
        move |name| (name == NOTIFY_SOCKET).then(|| path.clone())
    }

    #[test]
    fn the_state_reaches_a_real_datagram_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        let sent = notify("READY=1", &env_with(path.display().to_string())).unwrap();
        assert!(sent);
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_abstract_socket_is_reached_too() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("genhook-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&addr).unwrap();
        assert!(notify("STOPPING=1", &env_with(format!("@{name}"))).unwrap());
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[test]
    fn nothing_is_sent_without_the_variable_and_a_relative_path_is_refused() {
        assert!(!notify("READY=1", &|_| None).unwrap());
        assert!(notify("READY=1", &env_with("relative.sock".into())).is_err());
    }
}
