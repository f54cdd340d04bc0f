//! Renders: a design becomes a scenario text, the text goes through the
//! same validation and engine as `famsim run`, on one long-lived rayon pool
//! of `workers` threads (entered from `spawn_blocking`, behind a semaphore
//! of `workers` permits), never on the async runtime's own threads.
//!
//! Only the people a change affects are painted again: every person has a
//! key of everything their genes and face depend on
//! ([`crate::engine::person_keys`]: the run's seed, the model and size,
//! their own fields, their parents' keys); the portraits whose key changed
//! are removed and the engine runs with `resume`, which keeps the others,
//! exactly as `famsim run --resume`. The engine also takes the unchanged
//! people's genes, latents and genomes from the session's previous render
//! ([`crate::engine::GeneCache`]) instead of drawing them again, so a
//! re-roll of one child costs one child's genes and one portrait.
//!
//! A render stops at the next person boundary when its page closes (or the
//! server shuts down): portraits already written are whole and are kept
//! for the next render.

use super::design::Design;
use super::progress::{Reporter, Stages};
use super::session::{Session, Work};
use super::{ApiError, AppState};
use crate::engine::{
    people_dir_images, person_keys, simulate_incremental, Incremental, Progress, ProgressReport,
    RunOptions,
};
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
        // The same string as `model_key`, which also keys the gene cache.
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

/// The render pool: `workers` threads for all sessions, started once (a
/// pool per render would start and stop threads on every slider step).
pub fn render_pool(workers: usize) -> crate::Result<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers.max(1))
        .thread_name(|i| format!("famsim-render-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::internal(format!("cannot start {workers} render threads: {e}")))
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
    let (state2, dir, sess) = (Arc::clone(state), session.dir.clone(), Arc::clone(session));
    let outcome = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut work = work;
        // The page that asked closed (its last event stream dropped), or
        // the server is stopping: the engine ends at the next person.
        let stop = || sess.cancel_epoch.load(Ordering::SeqCst) != epoch || state2.shutting_down();
        let reply = state2.pool.install(|| {
            render_blocking(
                &sess,
                &dir,
                &mut work,
                &ron,
                &state2.models,
                &reporter,
                &stop,
            )
        });
        if reply.is_ok() {
            work.design = Some(design);
        }
        reply
    })
    .await;
    watcher.abort();
    let reply = match outcome {
        Ok(Err(e)) if e.kind == "cancelled" && state.shutting_down() => Err(ApiError::new(
            503,
            "shutdown",
            "the server is shutting down",
        )),
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

/// The blocking half (on the render pool): validate, simulate the changed
/// people, record.
fn render_blocking(
    session: &Session,
    dir: &Path,
    work: &mut Work,
    ron: &str,
    models: &ModelCache,
    reporter: &Arc<Reporter>,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<serde_json::Value, ApiError> {
    let scenario_path = session.scenario_path();
    let loaded = scenario::parse_and_validate(&scenario_path, ron)
        .map_err(|e| ApiError::from_error(e, dir))?;
    let file = &loaded.file;
    // Everyone's key (see the module doc); the model cache's own key names
    // the model, so one model is one set of keys.
    let keys = person_keys(&loaded.pedigree, file.seed, &model_key(file));
    let fingerprints: HashMap<String, String> = keys
        .iter()
        .map(|(&node, key)| (loaded.pedigree.person(node).id.clone(), hex::encode(key)))
        .collect();
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
        // The render pool's threads (simulate_incremental runs on it).
        threads: None,
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
    let outcome = simulate_incremental(&loaded.pedigree, model, keys, &opts, &mut work.genes, stop)
        .map_err(|e| ApiError::from_error(e, dir))?;
    let mut report = match outcome {
        Incremental::Finished(report) => {
            reporter.tick();
            report
        }
        Incremental::Stopped => {
            // The portraits written so far are whole and made from these
            // keys: the next render keeps them.
            work.fingerprints = fingerprints
                .into_iter()
                .filter(|(id, _)| people_dir.join(format!("{id}.png")).is_file())
                .collect();
            // The folder is now between two renders: nothing is offered
            // for download until the next one finishes.
            work.ron = None;
            work.manifest = None;
            // (`render` answers 503 instead when the server is stopping.)
            return Err(ApiError::new(
                409,
                "cancelled",
                "the page that asked for this render was closed",
            ));
        }
    };
    report
        .manifest
        .warnings
        .splice(0..0, loaded.warnings.iter().cloned());
    // scenario.ron and manifest.json are written when something reads the
    // workspace (a run.zip download, shutdown: [`save_workspace`]), not on
    // every slider step.
    work.unsaved = true;
    let people = portraits(
        &report.manifest,
        &run_dir,
        &fingerprints,
        &changed,
        &mut work.shas,
    )?;
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
/// a stale one) and SHA-256. Only the portraits painted again are read and
/// hashed; the others' checksums are the previous render's (`shas`: id →
/// key, checksum; an entry counts only under the same key).
fn portraits(
    manifest: &Manifest,
    run_dir: &Path,
    fingerprints: &HashMap<String, String>,
    changed: &[String],
    shas: &mut HashMap<String, (String, String)>,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let changed: HashSet<&str> = changed.iter().map(String::as_str).collect();
    let mut next = HashMap::with_capacity(manifest.people.len());
    let people = manifest
        .people
        .iter()
        .map(|p| {
            let key = fingerprints.get(&p.id).cloned().unwrap_or_default();
            let known = shas
                .get(&p.id)
                .filter(|(k, _)| !changed.contains(p.id.as_str()) && *k == key)
                .map(|(_, sha)| sha.clone());
            let sha = match known {
                Some(sha) => sha,
                None => {
                    let bytes = std::fs::read(run_dir.join(&p.image))
                        .map_err(|e| ApiError::internal(format!("portrait of {}: {e}", p.id)))?;
                    hex::encode(Sha256::digest(&bytes))
                }
            };
            next.insert(p.id.clone(), (key, sha.clone()));
            Ok(json!({
                "id": p.id,
                "image": format!("/api/people/{}.png?v={}", p.id, &sha[..16]),
                "sha256": sha,
            }))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    *shas = next;
    Ok(people)
}

/// The cache key of a scenario's model: its spec and image size (what
/// [`ModelCache`] builds a model from).
fn model_key(file: &crate::scenario::format::ScenarioFile) -> String {
    format!("{:?}|{}", file.model, file.image_size)
}

/// Writes the workspace's `scenario.ron` and `run/manifest.json` for the
/// newest render, if they are behind it: before a download reads the
/// workspace, and at shutdown.
pub fn save_workspace(session: &Session, work: &mut Work) -> crate::Result<()> {
    if !work.unsaved {
        return Ok(());
    }
    if let (Some(ron), Some(manifest)) = (&work.ron, &work.manifest) {
        write_atomic(&session.scenario_path(), ron.as_bytes())?;
        write_atomic(
            &session.run_dir().join("manifest.json"),
            &manifest.to_json()?,
        )?;
    }
    work.unsaved = false;
    Ok(())
}
