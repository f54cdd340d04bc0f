//! Renders: a design becomes a scenario text, the text goes through the
//! same validation and engine as `famsim run`, on a bounded pool of
//! blocking threads (a semaphore of `workers` permits around
//! `spawn_blocking`), never on the async runtime's own threads.
//!
//! Only the people a change affects are painted again: every person has a
//! fingerprint of everything their face depends on (the scenario's seed,
//! size, model and defaults, their own entry, their parents' fingerprints);
//! the portraits whose fingerprint changed are removed and the engine runs
//! with `resume`, which keeps the others, exactly as `famsim run --resume`.

use super::design::Design;
use super::progress::{Reporter, Stages};
use super::session::{Session, Work};
use super::{ApiError, AppState};
use crate::engine::{people_dir_images, simulate, Progress, ProgressReport, RunOptions};
use crate::error::Error;
use crate::exports::manifest::Manifest;
use crate::io::atomic::write_atomic;
use crate::model::FaceModel;
use crate::scenario;
use crate::scenario::format::ModelSpec;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Face models by (model, size): building the procedural painter's gene
/// pool or loading neural weights once, not per render.
#[derive(Default)]
pub struct ModelCache {
    models: Mutex<HashMap<String, Arc<dyn FaceModel>>>,
}

/// Models kept at once; more distinct (model, size) pairs start afresh.
const MAX_MODELS: usize = 8;

impl ModelCache {
    fn get(
        &self,
        spec: &ModelSpec,
        size: u32,
        scenario: &Path,
    ) -> crate::Result<Arc<dyn FaceModel>> {
        let key = format!("{spec:?}|{size}");
        let mut models = self
            .models
            .lock()
            .map_err(|_| Error::internal("model cache poisoned"))?;
        if let Some(m) = models.get(&key) {
            return Ok(Arc::clone(m));
        }
        if models.len() >= MAX_MODELS {
            models.clear();
        }
        let model: Arc<dyn FaceModel> = crate::model::build(spec, size, scenario)?.into();
        models.insert(key, Arc::clone(&model));
        Ok(model)
    }
}

/// Decrements a counter when dropped (a request that gave up or finished).
struct Count<'a>(&'a std::sync::atomic::AtomicUsize);
impl Drop for Count<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Render requests one session may have waiting or running.
pub const MAX_PENDING_PER_SESSION: usize = 4;

/// Checks a design against the server's caps and renders it. Returns the
/// reply for the page: every person's portrait URL and checksum, who was
/// painted again, the manifest and the scenario text.
pub async fn render(
    state: &AppState,
    session: &Arc<Session>,
    design: Design,
) -> Result<serde_json::Value, ApiError> {
    let limits = &state.limits;
    if state.shutting_down() {
        return Err(ApiError::new(
            503,
            "shutdown",
            "the server is shutting down",
        ));
    }
    if design.people.len() > limits.max_people {
        return Err(ApiError::new(
            413,
            "limit",
            format!(
                "the family has {} people; this server draws at most {} per family",
                design.people.len(),
                limits.max_people
            ),
        ));
    }
    if design.image_size > limits.max_image_size {
        return Err(ApiError::new(
            422,
            "limit",
            format!(
                "image_size {} is over this server's cap of {} px (`famsim run` takes up to 1024)",
                design.image_size, limits.max_image_size
            ),
        ));
    }
    let weights = state
        .weights
        .as_ref()
        .map(|w| w.to_string_lossy().into_owned());
    let ron = design
        .to_ron(weights.as_deref())
        .map_err(|e| ApiError::new(422, "design", e))?;

    let pending = session.pending.fetch_add(1, Ordering::SeqCst) + 1;
    let _pending = Count(&session.pending);
    if pending > MAX_PENDING_PER_SESSION {
        return Err(ApiError::new(
            429,
            "limit",
            format!(
                "this session already has {MAX_PENDING_PER_SESSION} renders waiting; wait for them"
            ),
        ));
    }
    let queued = state.queued.fetch_add(1, Ordering::SeqCst) + 1;
    let _queued = Count(&state.queued);
    if queued > limits.max_queued {
        return Err(ApiError::new(
            429,
            "limit",
            format!(
                "the server has {} renders queued, its maximum; try again shortly",
                limits.max_queued
            ),
        ));
    }
    let ticket = session.latest.fetch_add(1, Ordering::SeqCst) + 1;
    let epoch = session.cancel_epoch.load(Ordering::SeqCst);
    session.emit(json!({"type": "queued", "job": ticket}));

    let work = Arc::clone(&session.work).lock_owned().await;
    if session.latest.load(Ordering::SeqCst) != ticket {
        session.emit(json!({"type": "superseded", "job": ticket}));
        return Err(ApiError::new(
            409,
            "superseded",
            "a newer change of this family replaced this render",
        ));
    }
    // A locked face is kept: a change that would redraw it is refused
    // against the faces the page shows (design.rs, `check_locks`).
    if let Err(e) = design.check_locks(work.design.as_ref()) {
        session.emit(json!({"type": "failed", "job": ticket, "error": e}));
        return Err(ApiError::new(409, "locked", e));
    }
    let permit = Arc::clone(&state.permits)
        .acquire_owned()
        .await
        .map_err(|_| ApiError::new(503, "shutdown", "the server is shutting down"))?;
    if session.cancel_epoch.load(Ordering::SeqCst) != epoch {
        return Err(ApiError::new(
            409,
            "cancelled",
            "the page that asked for this render was closed",
        ));
    }
    if state.shutting_down() {
        return Err(ApiError::new(
            503,
            "shutdown",
            "the server is shutting down",
        ));
    }

    let total = design.people.len() as u64;
    let reporter = Arc::new(Reporter::new(
        Arc::clone(session),
        ticket,
        total,
        Progress::new(total, false),
        // Until the neural model's first step: validating, loading weights.
        if design.neural { "starting" } else { "faces" },
    ));
    session.emit(json!({"type": "started", "job": ticket, "total": total}));
    let watcher = {
        let reporter = Arc::clone(&reporter);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(150)).await;
                reporter.tick();
            }
        })
    };
    let (models, dir, sess) = (
        Arc::clone(&state.models),
        session.dir.clone(),
        Arc::clone(session),
    );
    let outcome = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut work = work;
        let reply = render_blocking(&sess, &dir, &mut work, &ron, &models, &reporter);
        if reply.is_ok() {
            work.design = Some(design);
        }
        reply
    })
    .await;
    watcher.abort();
    let reply = match outcome {
        Ok(reply) => reply,
        Err(e) => Err(ApiError::internal(format!("a render stopped: {e}"))),
    };
    match &reply {
        Ok(r) => session.emit(json!({"type": "done", "job": ticket, "changed": r["changed"]})),
        Err(e) => session.emit(json!({"type": "failed", "job": ticket, "error": e.message})),
    }
    reply.map(|mut r| {
        r["job"] = json!(ticket);
        r
    })
}

/// The blocking half: validate, simulate the changed people, record.
fn render_blocking(
    session: &Session,
    dir: &Path,
    work: &mut Work,
    ron: &str,
    models: &ModelCache,
    reporter: &Arc<Reporter>,
) -> Result<serde_json::Value, ApiError> {
    let scenario_path = session.scenario_path();
    let loaded = scenario::parse_and_validate(&scenario_path, ron)
        .map_err(|e| ApiError::from_error(e, dir))?;
    let file = &loaded.file;
    let header = format!(
        "{}|{}|{:?}|{}|{}",
        file.seed, file.image_size, file.model, file.defaults.gamma, file.defaults.eta
    );
    // Everyone's fingerprint, parents before children.
    let mut fingerprints: HashMap<String, String> = HashMap::new();
    let specs: HashMap<&str, String> = ron_entries(ron);
    for generation in loaded.pedigree.generations() {
        for &node in generation {
            let p = loaded.pedigree.person(node);
            let mut h = Sha256::new();
            h.update(header.as_bytes());
            h.update(
                specs
                    .get(p.id.as_str())
                    .map_or("", |s| s.as_str())
                    .as_bytes(),
            );
            for parent in [&p.father, &p.mother].into_iter().flatten() {
                h.update(
                    fingerprints
                        .get(parent)
                        .map_or("", |s| s.as_str())
                        .as_bytes(),
                );
            }
            fingerprints.insert(p.id.clone(), hex::encode(h.finalize()));
        }
    }
    let run_dir = session.run_dir();
    let people_dir = run_dir.join(crate::engine::PEOPLE_DIR);
    std::fs::create_dir_all(&people_dir).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut changed = Vec::new();
    for (_, p) in loaded.pedigree.people() {
        let png = people_dir.join(format!("{}.png", p.id));
        if work.fingerprints.get(&p.id) != fingerprints.get(&p.id) || !png.is_file() {
            remove_if_there(&png)?;
            changed.push(p.id.clone());
        }
    }
    // Portraits of people no longer in the family.
    let ids: HashSet<String> = fingerprints.keys().map(|id| format!("{id}.png")).collect();
    if let Ok(entries) = std::fs::read_dir(&people_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".png") && !ids.contains(&name) {
                remove_if_there(&entry.path())?;
            }
        }
    }
    // Until this render succeeds nothing on disk is vouched for.
    work.fingerprints.clear();
    let model = models
        .get(&file.model, file.image_size, &scenario_path)
        .map_err(|e| ApiError::from_error(e, dir))?;
    let opts = RunOptions {
        out_dir: run_dir.clone(),
        seed: file.seed,
        scenario_name: file.name.clone(),
        threads: Some(1),
        resume: true,
        progress: ProgressReport::Shared(reporter.progress.clone()),
        image_name: people_dir_images(),
        cluster: None,
    };
    // A neural render tells the page each step as it starts.
    let stages;
    let model: &dyn FaceModel = match file.model {
        ModelSpec::StyleGene(_) => {
            stages = Stages {
                inner: model,
                reporter: Arc::clone(reporter),
            };
            &stages
        }
        _ => model.as_ref(),
    };
    let mut report =
        simulate(&loaded.pedigree, model, &opts).map_err(|e| ApiError::from_error(e, dir))?;
    reporter.tick();
    report
        .manifest
        .warnings
        .splice(0..0, loaded.warnings.iter().cloned());
    write_atomic(&scenario_path, ron.as_bytes()).map_err(|e| ApiError::from_error(e, dir))?;
    write_atomic(
        &run_dir.join("manifest.json"),
        &report
            .manifest
            .to_json()
            .map_err(|e| ApiError::from_error(e, dir))?,
    )
    .map_err(|e| ApiError::from_error(e, dir))?;
    let people = portraits(&report.manifest, &run_dir)?;
    let warnings: Vec<String> = report
        .manifest
        .warnings
        .iter()
        .map(|w| super::strip_dir(w, dir))
        .collect();
    let reply = json!({
        "people": people,
        "changed": changed,
        "warnings": warnings,
        "manifest": serde_json::to_value(&report.manifest).map_err(|e| ApiError::internal(e.to_string()))?,
        "scenario": ron,
    });
    work.fingerprints = fingerprints;
    work.ron = Some(ron.to_string());
    work.manifest = Some(report.manifest);
    Ok(reply)
}

fn remove_if_there(path: &Path) -> Result<(), ApiError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ApiError::internal(format!(
            "cannot remove an old portrait: {e}"
        ))),
        _ => Ok(()),
    }
}

/// Every person's portrait: URL (with its checksum, so browsers never show
/// a stale one) and SHA-256.
fn portraits(manifest: &Manifest, run_dir: &Path) -> Result<Vec<serde_json::Value>, ApiError> {
    manifest
        .people
        .iter()
        .map(|p| {
            let bytes = std::fs::read(run_dir.join(&p.image))
                .map_err(|e| ApiError::internal(format!("portrait of {}: {e}", p.id)))?;
            let sha = hex::encode(Sha256::digest(&bytes));
            Ok(json!({
                "id": p.id,
                "image": format!("/api/people/{}.png?v={}", p.id, &sha[..16]),
                "sha256": sha,
            }))
        })
        .collect()
}

/// Each person's line of a scenario the designer wrote (one person a line,
/// see `Design::to_ron`), by id: what their fingerprint reads.
fn ron_entries(ron: &str) -> HashMap<&str, String> {
    let mut out = HashMap::new();
    for line in ron.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("(id: \"") else {
            continue;
        };
        if let Some(end) = rest.find('"') {
            out.insert(&rest[..end], line.to_string());
        }
    }
    out
}
