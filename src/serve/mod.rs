//! `famsim serve`: the family designer in the browser, on tokio + axum.
//!
//! A thin layer over the library: a design from the page becomes scenario
//! text ([`design`]), which goes through `scenario::parse_and_validate`, the
//! engine and the exports exactly as `famsim run` runs a file ([`jobs`]).
//! The server adds only what a web page needs around that:
//!
//! - [`session`]: a workspace per browser session under `--data`, named by
//!   a cookie that is checked before it becomes a folder name;
//! - [`jobs`]: renders on a bounded pool of blocking threads, progress
//!   ([`progress`]: people drawn, and a neural render's steps) and results
//!   as server-sent events, queued work cancelled when the page closes,
//!   caps with clear 4xx answers;
//! - [`routes`]: the HTTP API and the embedded page ([`assets`]).
//!
//! Nothing in the crate imports this module but `cli`.

pub mod assets;
pub mod design;
pub mod jobs;
pub mod progress;
pub mod routes;
pub mod session;

use crate::error::{Error, Result};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Semaphore};

/// How the server is started (`famsim serve`'s flags).
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// A scenario to open in every new session.
    pub scenario: Option<PathBuf>,
    pub bind: IpAddr,
    /// 0 picks a free port (printed at start).
    pub port: u16,
    /// Where session workspaces live.
    pub data: PathBuf,
    /// A weights folder for the neural model (and photo founders).
    pub weights: Option<PathBuf>,
    /// Required from every request when set (`?token=`, a cookie or a
    /// bearer header).
    pub token: Option<String>,
    pub limits: Limits,
}

/// The server's caps; each is answered with a clear 4xx.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Request body (scenario uploads, designs), bytes.
    pub max_body: usize,
    /// Photo uploads, bytes.
    pub max_photo: usize,
    /// Photo side, pixels.
    pub max_photo_side: u32,
    pub max_people: usize,
    pub max_image_size: u32,
    /// Renders waiting or running over all sessions.
    pub max_queued: usize,
    pub max_sessions: usize,
    /// Renders at once (blocking threads).
    pub workers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1 << 20,
            max_photo: 8 << 20,
            max_photo_side: 4096,
            max_people: 200,
            max_image_size: 512,
            max_queued: 256,
            max_sessions: 1000,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What every handler shares.
pub struct State {
    pub limits: Limits,
    pub weights: Option<PathBuf>,
    pub token: Option<String>,
    /// The design new sessions start from.
    pub start: design::Design,
    pub sessions: session::Sessions,
    pub permits: Arc<Semaphore>,
    pub queued: AtomicUsize,
    pub models: Arc<jobs::ModelCache>,
    /// The aligner and FairFace of `--weights`, for photo uploads: the
    /// same object `famsim check` and `run` ask about photo founders.
    pub photos: crate::engine::photo_founders::FairFacePhotos,
    /// The threads every render runs on.
    pub pool: Arc<rayon::ThreadPool>,
    shutting_down: AtomicBool,
    /// Flips to true at Ctrl-C: event streams end so the server can stop.
    pub shutdown: watch::Receiver<bool>,
}

impl State {
    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

pub type AppState = Arc<State>;

/// An error as the API answers it: a status and JSON
/// `{"error": message, "kind": kind}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "internal", message)
    }

    /// A library error: bad input (a scenario report, an impossible
    /// family) is the client's (422), anything else ours (500). Paths
    /// inside the workspace are shown relative to it.
    pub fn from_error(e: Error, workspace: &Path) -> ApiError {
        let kind = match &e {
            Error::Scenario(_) => "scenario",
            Error::Input(_) => "input",
            _ => "internal",
        };
        let status = if e.exit_code() == 2 { 422 } else { 500 };
        ApiError::new(status, kind, strip_dir(&e.to_string(), workspace))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            axum::Json(serde_json::json!({"error": self.message, "kind": self.kind})),
        )
            .into_response()
    }
}

/// `text` with the workspace folder left out of paths (`scenario.ron:4:5`,
/// as the page's user knows the file).
pub fn strip_dir(text: &str, dir: &Path) -> String {
    if dir.as_os_str().is_empty() {
        return text.to_string();
    }
    let prefix = format!("{}/", dir.display());
    text.replace(&prefix, "")
}

/// Whether serving on `ip` needs the warning that others can reach it.
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// Runs the server until Ctrl-C (or SIGTERM). Prints the address it
/// listens on (`--port 0` picks one) on stdout.
pub fn serve(opts: ServeOptions) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(opts.limits.workers.max(1) + 4)
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    let workspaces = runtime.block_on(serve_async(opts))?;
    // Dropping the runtime waits for renders already running on the
    // blocking pool: their portraits are written whole (atomic writes) or
    // not at all. Then any temporary a write left behind is swept.
    drop(runtime);
    for dir in workspaces {
        for dir in [
            dir.clone(),
            dir.join("run"),
            dir.join("run").join(crate::engine::PEOPLE_DIR),
        ] {
            if dir.is_dir() {
                crate::io::atomic::remove_stale_temporaries(&dir)?;
            }
        }
    }
    eprintln!("famsim serve: stopped");
    Ok(())
}

async fn serve_async(opts: ServeOptions) -> Result<Vec<PathBuf>> {
    let start = match &opts.scenario {
        Some(path) => {
            let loaded = crate::scenario::load(path)?;
            design::Design::from_file(&loaded.file)
                .map_err(|e| Error::input(format!("{}: {e}", path.display())))?
        }
        None => design::Design::blank_couple(),
    };
    if let Some(w) = &opts.weights {
        if !w.is_dir() {
            return Err(Error::input(format!(
                "--weights {}: not a folder (see weights/README.md)",
                w.display()
            )));
        }
    }
    std::fs::create_dir_all(&opts.data).map_err(|e| Error::io(&opts.data, e))?;
    let data = std::fs::canonicalize(&opts.data).map_err(|e| Error::io(&opts.data, e))?;
    let weights = match &opts.weights {
        Some(w) => Some(std::fs::canonicalize(w).map_err(|e| Error::io(w, e))?),
        None => None,
    };
    let (tell_shutdown, shutdown) = watch::channel(false);
    let state: AppState = Arc::new(State {
        limits: opts.limits.clone(),
        weights,
        token: opts.token.clone(),
        start,
        sessions: session::Sessions::new(&data, opts.limits.max_sessions),
        permits: Arc::new(Semaphore::new(opts.limits.workers.max(1))),
        queued: AtomicUsize::new(0),
        models: Arc::new(jobs::ModelCache::default()),
        photos: Default::default(),
        pool: jobs::render_pool(opts.limits.workers)?,
        shutting_down: AtomicBool::new(false),
        shutdown,
    });
    let addr = SocketAddr::new(opts.bind, opts.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::input(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("no local address: {e}")))?;
    if !is_loopback(opts.bind) {
        eprintln!(
            "warning: listening on {bound}, which other machines can reach; \
             famsim serve has no accounts — use --token, or --bind 127.0.0.1"
        );
    }
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "famsim serve: listening on http://{bound}/ (Ctrl-C stops)"
        );
        let _ = out.flush();
    }
    let app = routes::router(Arc::clone(&state));
    let stopping = Arc::clone(&state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            stopping.shutting_down.store(true, Ordering::SeqCst);
            let _ = tell_shutdown.send(true);
            // New renders are refused from here; queued ones give up at
            // their next check; running ones stop at their next person.
            stopping.permits.close();
        })
        .await
        .map_err(|e| Error::internal(format!("the server stopped: {e}")))?;
    let sessions = state.sessions.all();
    for session in &sessions {
        // Waits for a render still running in this session to stop.
        let mut work = session.work.lock().await;
        jobs::save_workspace(session, &mut work)?;
    }
    Ok(sessions.iter().map(|s| s.dir.clone()).collect())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
