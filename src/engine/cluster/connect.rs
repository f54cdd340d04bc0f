//! Connects the processes of a cluster before timely takes the sockets over.
//!
//! timely can connect processes itself, but it retries once a second (a
//! second lost at every start of a cluster session), waits forever for a
//! process that never comes, and leaves TCP keep-alive off, so a machine that
//! vanishes without closing its connections goes unnoticed for a long time.
//! Here every process listens on its own host-file address, connects to each
//! lower-numbered process (retrying every 50 ms) and accepts each
//! higher-numbered one, all within a deadline; a failure names the process
//! that is missing. The handshake is timely's: the connecting process sends
//! its index as a big-endian u64.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Pause between attempts to reach a process that is not listening yet.
const RETRY: Duration = Duration::from_millis(50);

/// One socket per other process, in process order (`None` at `me`).
pub fn connect_processes(
    hosts: &[String],
    me: usize,
    timeout: Duration,
) -> Result<Vec<Option<TcpStream>>> {
    let deadline = Instant::now() + timeout;
    let listener = TcpListener::bind(hosts[me].as_str()).map_err(|e| {
        Error::input(format!(
            "process {me}: cannot listen on {} (its line in the host file): {e}",
            hosts[me]
        ))
    })?;
    let mut sockets: Vec<Option<TcpStream>> = (0..hosts.len()).map(|_| None).collect();

    for (peer, address) in hosts.iter().enumerate().take(me) {
        let mut stream = loop {
            match TcpStream::connect(address.as_str()) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() >= deadline => {
                    return Err(missing(me, peer, address, timeout, &e.to_string()))
                }
                Err(_) => std::thread::sleep(RETRY),
            }
        };
        stream
            .write_all(&(me as u64).to_be_bytes())
            .map_err(|e| Error::internal(format!("process {me}: handshake with {address}: {e}")))?;
        sockets[peer] = Some(stream);
    }

    listener
        .set_nonblocking(true)
        .map_err(|e| Error::internal(format!("listener on {}: {e}", hosts[me])))?;
    while let Some(peer) = (me + 1..hosts.len()).find(|&p| sockets[p].is_none()) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                stream
                    .set_nonblocking(false)
                    .and_then(|_| stream.set_read_timeout(Some(Duration::from_secs(10))))
                    .map_err(|e| Error::internal(format!("accepted socket: {e}")))?;
                let mut index = [0u8; 8];
                // Something that is not a famsim process may knock; ignore it.
                if stream.read_exact(&mut index).is_err() {
                    continue;
                }
                let index = u64::from_be_bytes(index) as usize;
                if index <= me || index >= hosts.len() || sockets[index].is_some() {
                    continue;
                }
                stream
                    .set_read_timeout(None)
                    .map_err(|e| Error::internal(format!("accepted socket: {e}")))?;
                sockets[index] = Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(missing(
                        me,
                        peer,
                        &hosts[peer],
                        timeout,
                        "it never connected",
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => {
                return Err(Error::internal(format!(
                    "process {me}: accepting on {}: {e}",
                    hosts[me]
                )))
            }
        }
    }
    for stream in sockets.iter().flatten() {
        stream
            .set_nodelay(true)
            .map_err(|e| Error::internal(format!("socket option: {e}")))?;
        keep_alive(stream);
    }
    Ok(sockets)
}

fn missing(me: usize, peer: usize, address: &str, timeout: Duration, why: &str) -> Error {
    Error::input(format!(
        "process {me}: process {peer} ({address}) did not join within {}s ({why}); \
         start every process with the same host file, or raise --connect-timeout",
        timeout.as_secs()
    ))
}

/// Probes an idle connection after 10 s, then every 5 s, and drops it after
/// 3 unanswered probes: a peer machine that vanished silently is noticed in
/// about 25 s instead of hours. Best effort: where the options are not
/// available the connection simply keeps the system's defaults.
fn keep_alive(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = stream.as_raw_fd();
        let set = |level: libc::c_int, name: libc::c_int, value: libc::c_int| {
            // SAFETY: `fd` is an open socket owned by `stream` for this call;
            // the option value is a live c_int of the size passed.
            unsafe {
                libc::setsockopt(
                    fd,
                    level,
                    name,
                    (&value as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        };
        set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 10);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 5);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}
