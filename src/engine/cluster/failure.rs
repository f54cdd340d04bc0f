//! Noticing a lost process, and saying so once, in words.
//!
//! timely's TCP layer panics in its send or receive thread (named
//! `timely:send-P` / `timely:recv-P`) when the connection to process P
//! drops. A panic hook notes which process that thread served and keeps the
//! cascade of communication panics that follows off stderr; the supervisor
//! polls [`lost_peer`] and turns it into [`lost_peer_error`].

use super::ClusterConfig;
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The process whose connection timely lost, if any.
fn lost_peer_slot() -> &'static Mutex<Option<usize>> {
    static LOST: Mutex<Option<usize>> = Mutex::new(None);
    &LOST
}

/// The process whose connection timely lost since [`watch_peers`].
pub(super) fn lost_peer() -> Option<usize> {
    *lost_peer_slot().lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the panic hook (once per process) and forgets a peer lost by
/// an earlier cluster session of this process.
pub(super) fn watch_peers() {
    install_panic_hook();
    lost_peer_slot()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
}

/// Notes which peer a timely network thread lost, and keeps the cascade of
/// communication panics that follows off stderr: famsim reports the lost
/// process once, in words.
fn install_panic_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            let peer = name
                .strip_prefix("timely:recv-")
                .or_else(|| name.strip_prefix("timely:send-"))
                .and_then(|p| p.parse::<usize>().ok());
            if let Some(peer) = peer {
                lost_peer_slot()
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(peer);
                return;
            }
            if name.starts_with("timely:work-") && lost_peer().is_some() {
                return;
            }
            previous(info);
        }));
    });
}

/// The error every surviving process reports when process `lost` is gone.
pub(super) fn lost_peer_error(cluster: &ClusterConfig, lost: usize) -> Error {
    let host = cluster
        .hosts
        .get(lost)
        .map(String::as_str)
        .unwrap_or("unknown address");
    Error::internal(format!(
        "process {lost} ({host}) stopped or became unreachable; process {} stops too. \
         Images written so far are complete: rerun the whole job with --resume to finish it",
        cluster.process
    ))
}

/// Prefixes a worker's error with where it happened (on a cluster).
pub(super) fn annotate(e: Error, cluster: &ClusterConfig, worker: usize) -> Error {
    if cluster.processes == 1 {
        return e;
    }
    let whence = format!("process {} (worker {worker})", cluster.process);
    match e {
        Error::Input(m) => Error::Input(format!("{whence}: {m}")),
        Error::Internal(m) => Error::Internal(format!("{whence}: {m}")),
        other => other,
    }
}

/// A worker's panic as an error message.
pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("a worker panicked: {text}")
}

/// Stops a worker at its next check once any local worker failed or a peer
/// process was lost.
pub(super) fn check_abort(abort: &AtomicBool) -> Result<()> {
    if abort.load(Ordering::SeqCst) {
        Err(Error::internal("stopped because another worker failed"))
    } else {
        Ok(())
    }
}
