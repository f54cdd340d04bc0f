//! Browser sessions: each has an id (a cookie), its own workspace folder
//! under `--data`, the newest render's state and a channel of events for
//! its page. An id from a cookie is used as a folder name only after it
//! proved to be exactly what the server hands out (32 lowercase hex digits).

use super::ApiError;
use crate::exports::manifest::Manifest;
use rand::Rng;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// The cookie that carries the session id.
pub const COOKIE: &str = "famsim_session";

/// Whether `id` is an id this server could have made.
pub fn valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What the newest successful render left, guarded by the session's lock
/// (one render or download at a time touches the workspace).
#[derive(Default)]
pub struct Work {
    /// Person id → fingerprint of everything their face depends on.
    pub fingerprints: HashMap<String, String>,
    /// The scenario text the faces in `run/` were made from.
    pub ron: Option<String>,
    pub manifest: Option<Manifest>,
    /// The design those faces were made from (what a reloaded page shows).
    pub design: Option<super::design::Design>,
    /// Steps 1–3 of everyone in the newest render, for the next one.
    pub genes: crate::engine::GeneCache,
    /// Person id → (key, SHA-256 of their portrait) in the newest render.
    pub shas: HashMap<String, (String, String)>,
    /// `scenario.ron` and `run/manifest.json` on disk are behind the newest
    /// render (see `jobs::save_workspace`).
    pub unsaved: bool,
}

pub struct Session {
    pub id: String,
    /// The workspace: `scenario.ron`, `run/`, `photos/`.
    pub dir: PathBuf,
    pub work: Arc<tokio::sync::Mutex<Work>>,
    /// Number of the newest render request; an older one still waiting is
    /// superseded (a slider drag sends many, the last one counts).
    pub latest: AtomicU64,
    /// Render requests waiting or running.
    pub pending: AtomicUsize,
    /// Pages listening to the event stream.
    pub watchers: AtomicUsize,
    /// Bumped when the last page stops listening: requests queued before
    /// it are abandoned.
    pub cancel_epoch: AtomicU64,
    pub events: broadcast::Sender<String>,
}

impl Session {
    pub fn scenario_path(&self) -> PathBuf {
        self.dir.join("scenario.ron")
    }
    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }
    pub fn photos_dir(&self) -> PathBuf {
        self.dir.join(super::design::PHOTOS_DIR)
    }

    /// Sends an event to the session's pages (nobody listening is fine).
    pub fn emit(&self, event: serde_json::Value) {
        let _ = self.events.send(event.to_string());
    }
}

/// Every live session.
pub struct Sessions {
    root: PathBuf,
    max: usize,
    map: Mutex<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    pub fn new(data: &Path, max: usize) -> Sessions {
        Sessions {
            root: data.join("sessions"),
            max,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Every session's workspace (for the clean-up at shutdown).
    pub fn all(&self) -> Vec<Arc<Session>> {
        self.map
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The session a cookie names, or a new one (the bool says "new": the
    /// response must set the cookie). A cookie naming no live session opens
    /// its workspace again if the id is well formed.
    pub fn get_or_create(&self, cookie: Option<&str>) -> Result<(Arc<Session>, bool), ApiError> {
        let mut map = self
            .map
            .lock()
            .map_err(|_| ApiError::internal("session table poisoned"))?;
        if let Some(id) = cookie.filter(|id| valid_id(id)) {
            if let Some(s) = map.get(id) {
                return Ok((Arc::clone(s), false));
            }
        }
        if map.len() >= self.max {
            // Forget idle sessions first (no request holds them, no page
            // listens, nothing queued); their folders stay, and their
            // cookies reopen them.
            map.retain(|_, s| {
                Arc::strong_count(s) > 1
                    || s.watchers.load(Ordering::SeqCst) > 0
                    || s.pending.load(Ordering::SeqCst) > 0
            });
        }
        if map.len() >= self.max {
            return Err(ApiError::new(
                503,
                "limit",
                format!("the server holds its maximum of {} sessions", self.max),
            ));
        }
        let reopened = cookie.filter(|id| valid_id(id)).map(str::to_string);
        let id = reopened.clone().unwrap_or_else(|| {
            let bytes: [u8; 16] = rand::rng().random();
            hex::encode(bytes)
        });
        let dir = self.root.join(&id);
        std::fs::create_dir_all(&dir)
            .map_err(|e| ApiError::internal(format!("cannot create a workspace: {e}")))?;
        let (events, _) = broadcast::channel(256);
        let session = Arc::new(Session {
            id: id.clone(),
            dir,
            work: Arc::new(tokio::sync::Mutex::new(Work::default())),
            latest: AtomicU64::new(0),
            pending: AtomicUsize::new(0),
            watchers: AtomicUsize::new(0),
            cancel_epoch: AtomicU64::new(0),
            events,
        });
        map.insert(id, Arc::clone(&session));
        Ok((session, reopened.is_none()))
    }
}

/// Counts a page listening to a session's events; when the last one goes
/// (the tab closed), the session's queued work is cancelled.
pub struct Watch(pub Arc<Session>);

impl Watch {
    pub fn start(session: Arc<Session>) -> Watch {
        session.watchers.fetch_add(1, Ordering::SeqCst);
        Watch(session)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if self.0.watchers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.cancel_epoch.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_the_server_makes_are_valid() {
        assert!(valid_id("0123456789abcdef0123456789abcdef"));
        for bad in [
            "",
            "../../../../etc",
            "0123456789abcdef0123456789abcde",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcde/",
            "0123456789abcdef0123456789abcdef0",
        ] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
