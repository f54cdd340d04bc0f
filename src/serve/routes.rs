//! The HTTP API and the page. Every route answers errors as JSON
//! `{"error", "kind"}` with a 4xx for the client's mistakes (a 5xx only for
//! the server's own failures). No request names a path: session ids, person
//! ids, photo and download names are checked against what the server itself
//! made before they touch the workspace.
//!
//! | route | what |
//! |---|---|
//! | `GET /`, `GET /assets/{file}` | the designer page (embedded) |
//! | `GET /api/info` | limits, whether neural weights are loaded, shipped scenarios |
//! | `GET /api/design` | the session's newest design (or the start design) |
//! | `GET /api/scenarios/{name}` | a shipped scenario (or `blank`) as a design |
//! | `POST /api/import` | a `.ron` file (text/plain) → a design, or `famsim check`'s report |
//! | `POST /api/render` | a design (JSON) → portraits, who changed, manifest, scenario text, photo founders' predictions; 409 `locked` when it would redraw a locked face |
//! | `GET /api/events` | server-sent events: queued, started, progress (people done, a neural render's step), done, failed |
//! | `POST /api/photo?name=FILE` | a founder photo (image/png or image/jpeg; neural weights only), aligned and classified (FairFace) as a `Photo(…)` founder |
//! | `GET /api/people/{id}.png` | a portrait of the newest render |
//! | `GET /api/download/{file}` | `scenario.ron`, `run.zip`, or an export (`tree.ged`, `tree.dot`, `index.html`) |

use super::assets;
use super::design::{is_photo_name, Design, DesignGenes, PHOTOS_DIR};
use super::jobs;
use super::session::{Session, Watch, COOKIE};
use super::{ApiError, AppState};
use crate::exports::EXPORTS;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures_util::stream::Stream;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// The cookie that remembers a `--token` given once in the page's URL.
const TOKEN_COOKIE: &str = "famsim_token";

pub fn router(state: AppState) -> Router {
    let limits = state.limits.clone();
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
        .route("/api/info", get(info))
        .route("/api/design", get(current_design))
        .route("/api/scenarios/{name}", get(shipped))
        .route("/api/import", post(import))
        .route("/api/render", post(render))
        .route("/api/events", get(events))
        .route(
            "/api/photo",
            post(photo).layer(DefaultBodyLimit::max(limits.max_photo)),
        )
        .route("/api/people/{file}", get(portrait))
        .route("/api/download/{file}", get(download))
        .fallback(|| async { ApiError::new(404, "not_found", "no such page or API route") })
        .layer(DefaultBodyLimit::max(limits.max_body))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            session_layer,
        ))
        .with_state(state)
}

/// A cookie's value from the request headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Constant-time comparison, so a token cannot be guessed byte by byte.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Checks `--token`, then finds (or opens) the request's session.
async fn session_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let mut token_from_query = false;
    if let Some(token) = &state.token {
        let headers = req.headers();
        let bearer = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let query = req.uri().query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "token")
                .map(|(_, v)| v.to_string())
        });
        token_from_query = query.as_deref().is_some_and(|q| same_secret(q, token));
        let ok = token_from_query
            || bearer.as_deref().is_some_and(|b| same_secret(b, token))
            || cookie(headers, TOKEN_COOKIE).is_some_and(|c| same_secret(&c, token));
        if !ok {
            return ApiError::new(
                401,
                "token",
                "this server needs its token: open the address famsim serve printed, with ?token=…",
            )
            .into_response();
        }
    }
    let asked = cookie(req.headers(), COOKIE);
    let (session, new) = match state.sessions.get_or_create(asked.as_deref()) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    req.extensions_mut().insert(Arc::clone(&session));
    let mut response = next.run(req).await;
    if new {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
            session.id
        )) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    if token_from_query {
        if let Some(Ok(v)) = state.token.as_ref().map(|t| {
            HeaderValue::from_str(&format!(
                "{TOKEN_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict"
            ))
        }) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    response
}

async fn index() -> Html<&'static str> {
    Html(assets::INDEX_HTML)
}

async fn asset(Path(file): Path<String>) -> Response {
    match assets::asset(&file) {
        Some((ty, body)) => ([(CONTENT_TYPE, ty)], body).into_response(),
        None => ApiError::new(404, "not_found", format!("no asset {file:?}")).into_response(),
    }
}

async fn info(State(state): State<AppState>) -> Json<serde_json::Value> {
    let l = &state.limits;
    Json(json!({
        "neural": state.weights.is_some(),
        "scenarios": assets::SCENARIOS.iter().map(|s| s.0).collect::<Vec<_>>(),
        "limits": {
            "max_body": l.max_body,
            "max_photo": l.max_photo,
            "max_photo_side": l.max_photo_side,
            "max_people": l.max_people,
            "max_image_size": l.max_image_size,
            "max_queued": l.max_queued,
            "workers": l.workers,
        },
        "regions": crate::genetics::Region::ALL.iter().map(|r| r.name()).collect::<Vec<_>>(),
        "region_groups": crate::genetics::RegionGroup::ALL.iter().map(|g| json!({
            "name": g.name(),
            "regions": g.regions().iter().map(|r| r.name()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "ages": crate::attributes::AgeGroup::ALL.iter().map(|a| a.label()).collect::<Vec<_>>(),
        "ancestries": crate::attributes::Ancestry::ALL.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>(),
    }))
}

async fn current_design(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
) -> Json<Design> {
    let work = session.work.lock().await;
    Json(work.design.clone().unwrap_or_else(|| state.start.clone()))
}

async fn shipped(Path(name): Path<String>) -> Result<Json<Design>, ApiError> {
    if name == "blank" {
        return Ok(Json(Design::blank_couple()));
    }
    let (_, text) = assets::SCENARIOS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| ApiError::new(404, "not_found", format!("no shipped scenario {name:?}")))?;
    let path = std::path::Path::new("scenarios").join(format!("{name}.ron"));
    let loaded = crate::scenario::parse_and_validate(&path, text)
        .map_err(|e| ApiError::from_error(e, std::path::Path::new("")))?;
    Design::from_file(&loaded.file)
        .map(Json)
        .map_err(|e| ApiError::new(422, "design", e))
}

/// The request's content type without parameters, lower case.
fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

async fn import(
    Extension(session): Extension<Arc<Session>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ty = content_type(&headers);
    if !matches!(
        ty.as_str(),
        "text/plain" | "application/x-ron" | "application/ron"
    ) {
        return Err(ApiError::new(
            415,
            "content_type",
            format!("send the scenario as text/plain (got {:?})", ty),
        ));
    }
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::new(400, "request", "the scenario is not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let path = session.dir.join("upload.ron");
    let loaded = crate::scenario::parse_and_validate(&path, text)
        .map_err(|e| ApiError::from_error(e, &session.dir))?;
    let design = Design::from_file(&loaded.file).map_err(|e| ApiError::new(422, "design", e))?;
    let warnings: Vec<String> = loaded
        .warnings
        .iter()
        .map(|w| super::strip_dir(w, &session.dir))
        .collect();
    Ok(Json(json!({"design": design, "warnings": warnings})))
}

async fn render(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    design: Result<Json<Design>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(design) = design.map_err(|r| {
        let status = r.status().as_u16();
        // Oversized bodies, wrong content types and bad JSON are all the
        // client's; axum's own status says which.
        ApiError::new(
            if status >= 500 { 400 } else { status },
            "request",
            r.body_text(),
        )
    })?;
    let notes = photo_notes(&session, &design);
    let mut reply = jobs::render(&state, &session, design).await?;
    reply["photos"] = serde_json::Value::Object(notes);
    Ok(Json(reply))
}

async fn events(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = session.events.subscribe();
    let watch = Watch::start(Arc::clone(&session));
    let shutdown = state.shutdown.clone();
    let hello = Event::default().data(json!({"type": "hello"}).to_string());
    let first = futures_util::stream::once(async move { Ok(hello) });
    let rest = futures_util::stream::unfold(
        (rx, watch, shutdown),
        |(mut rx, watch, mut shutdown)| async move {
            loop {
                if *shutdown.borrow() {
                    return None;
                }
                tokio::select! {
                    msg = rx.recv() => match msg {
                        Ok(msg) => return Some((Ok(Event::default().data(msg)), (rx, watch, shutdown))),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return None,
                    },
                    _ = shutdown.changed() => return None,
                }
            }
        },
    );
    use futures_util::StreamExt;
    // A short keep-alive, so a closed tab is noticed (and its queued work
    // cancelled) within a second or two.
    Sse::new(first.chain(rest)).keep_alive(KeepAlive::new().interval(Duration::from_secs(1)))
}

/// The name an upload is shown by in messages: the file name the page sent
/// (`?name=`), never used as a path.
fn upload_name(query: Option<&HashMap<String, String>>) -> String {
    let name = query
        .and_then(|q| q.get("name"))
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or("").to_string())
        .unwrap_or_default();
    let name: String = name.chars().filter(|c| !c.is_control()).take(80).collect();
    if name.trim().is_empty() {
        "the uploaded photo".to_string()
    } else {
        name
    }
}

/// A photo founder's upload: stored by its checksum, then aligned and
/// classified by the same code a `Photo(…)` founder goes through in
/// `famsim check` and `run` (`engine::photo_founders`). The reply (and a
/// copy beside the photo, for later renders) carries FairFace's prediction.
async fn photo(
    State(state): State<AppState>,
    Extension(session): Extension<Arc<Session>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(weights) = state.weights.clone() else {
        return Err(ApiError::new(
            409,
            "needs_weights",
            "photo founders need the neural model: start famsim serve with --weights DIR \
             (see weights/README.md); the procedural painter draws founders from the pool or a seed",
        ));
    };
    let ext = match content_type(&headers).as_str() {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        other => {
            return Err(ApiError::new(
                415,
                "content_type",
                format!("send the photo as image/png or image/jpeg (got {other:?})"),
            ))
        }
    };
    let upload = upload_name(query.as_ref().ok().map(|q| &q.0));
    let sha = hex::encode(Sha256::digest(&body));
    let name = format!("{}.{ext}", &sha[..16]);
    debug_assert!(is_photo_name(&name));
    let dir = session.photos_dir();
    let path = dir.join(&name);
    let side = state.limits.max_photo_side;
    let state = Arc::clone(&state);
    let reply = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, ApiError> {
        std::fs::create_dir_all(&dir).map_err(|e| ApiError::internal(e.to_string()))?;
        crate::io::atomic::write_atomic(&path, &body)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        // Messages name the upload as the user knows it.
        let stored = path.display().to_string();
        let named = |text: &str| text.replace(&stored, &upload).replace(&name, &upload);
        let fail = |e: crate::Error| {
            let _ = std::fs::remove_file(&path);
            let mut e = ApiError::from_error(e, &dir);
            e.message = named(&e.message);
            e.kind = "photo";
            e
        };
        let (width, height) = crate::io::photo::photo_size(&path, &body).map_err(fail)?;
        if width > side || height > side {
            return Err(fail(crate::Error::input(format!(
                "{upload}: the photo is {width}×{height} px; this server takes at most {side} px a side"
            ))));
        }
        // Weights without an aligner take aligned crops only, as
        // `AlignedPhoto(…)` founders.
        let can_align = crate::model::stylegene::weights::ModelInfo::read(&weights)
            .is_ok_and(|i| i.landmarks.is_some() && i.detector.is_some());
        if !can_align && width != height {
            return Err(fail(crate::Error::input(format!(
                "{upload}: the photo is {width}×{height} px; this server's weights have no \
                 aligner (`famsim weights import --landmarks FILE --detector FILE`), so founders \
                 need a square, aligned face crop (famsim align makes one)"
            ))));
        }
        let found = state
            .photos
            .examine(&weights, &path, !can_align)
            .map_err(fail)?;
        let genes = if can_align {
            json!({ "Photo": name })
        } else {
            json!({ "AlignedPhoto": name })
        };
        let reply = json!({
            "photo": name,
            "upload": upload,
            "genes": genes,
            "width": found.width,
            "height": found.height,
            "warnings": found.warnings.iter().map(|w| named(w)).collect::<Vec<_>>(),
            "prediction": found.scores.map(|s| s.report()),
        });
        crate::io::atomic::write_atomic(
            &dir.join(format!("{name}.json")),
            reply.to_string().as_bytes(),
        )
        .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(reply)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(reply))
}

/// What the uploads of a design's photo founders said (prediction,
/// warnings), by person id, for the page to show beside them.
fn photo_notes(session: &Session, design: &Design) -> serde_json::Map<String, serde_json::Value> {
    design
        .people
        .iter()
        .filter_map(|p| match &p.genes {
            Some(DesignGenes::Photo(n) | DesignGenes::AlignedPhoto(n)) if is_photo_name(n) => {
                let text = std::fs::read(session.photos_dir().join(format!("{n}.json"))).ok()?;
                Some((p.id.clone(), serde_json::from_slice(&text).ok()?))
            }
            _ => None,
        })
        .collect()
}

/// Whether `id` could be a person's id (the scenario's own rule: letters,
/// digits, `_`, `-`, `.`, not starting with `.`).
fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

async fn portrait(
    Extension(session): Extension<Arc<Session>>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let missing = || {
        ApiError::new(
            404,
            "not_found",
            format!("no portrait {file:?} in this session"),
        )
    };
    let id = file
        .strip_suffix(".png")
        .filter(|id| safe_id(id))
        .ok_or_else(missing)?;
    let work = session.work.lock().await;
    let record = work
        .manifest
        .as_ref()
        .and_then(|m| m.person(id))
        .ok_or_else(missing)?;
    let bytes = std::fs::read(session.run_dir().join(&record.image)).map_err(|_| missing())?;
    Ok(([(CONTENT_TYPE, "image/png")], bytes).into_response())
}

fn attachment(ty: &'static str, name: &str, body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static(ty)),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

async fn download(
    Extension(session): Extension<Arc<Session>>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let export = EXPORTS.iter().find(|e| e.file == file);
    if file != "scenario.ron" && file != "run.zip" && export.is_none() {
        let names: Vec<&str> = ["scenario.ron", "run.zip"]
            .into_iter()
            .chain(EXPORTS.iter().map(|e| e.file))
            .collect();
        return Err(ApiError::new(
            404,
            "not_found",
            format!("no download {file:?}; there are {}", names.join(", ")),
        ));
    }
    let mut work = Arc::clone(&session.work).lock_owned().await;
    let (Some(ron), Some(_)) = (work.ron.clone(), work.manifest.as_ref()) else {
        return Err(ApiError::new(
            404,
            "not_rendered",
            "nothing is drawn in this session yet: render the family first",
        ));
    };
    if file == "scenario.ron" {
        return Ok(attachment(
            "application/x-ron",
            "scenario.ron",
            ron.into_bytes(),
        ));
    }
    let session = Arc::clone(&session);
    let file2 = file.clone();
    let body = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let manifest = work.manifest.as_ref().expect("checked above");
        let run_dir = session.run_dir();
        let fail = |e: crate::Error| ApiError::from_error(e, &session.dir);
        if let Some(export) = EXPORTS.iter().find(|e| e.file == file2) {
            return export
                .render(manifest, &run_dir)
                .map(String::into_bytes)
                .map_err(fail);
        }
        super::jobs::save_workspace(&session, &mut work).map_err(fail)?;
        let manifest = work.manifest.as_ref().expect("checked above");
        crate::exports::write_run_outputs(manifest, &run_dir).map_err(fail)?;
        crate::exports::write_exports(manifest, &run_dir, EXPORTS.iter()).map_err(fail)?;
        zip_run(&run_dir, &session.photos_dir(), &ron).map_err(ApiError::internal)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(match file.as_str() {
        "run.zip" => attachment("application/zip", "famsim-run.zip", body),
        _ => attachment("application/octet-stream", &file, body),
    })
}

/// The run folder and its scenario as one zip (`famsim-run/…`), with the
/// photos the scenario names beside it, so the unpacked folder runs.
fn zip_run(
    run_dir: &std::path::Path,
    photos_dir: &std::path::Path,
    ron: &str,
) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let mut files = Vec::new();
    let mut stack = vec![run_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .map_err(|e| e.to_string())?
            .flatten()
        {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".famsim-") && name.ends_with(".tmp") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("famsim-run/scenario.ron", options)
        .map_err(|e| e.to_string())?;
    zip.write_all(ron.as_bytes()).map_err(|e| e.to_string())?;
    if let Ok(entries) = std::fs::read_dir(photos_dir) {
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| is_photo_name(n) && ron.contains(&format!("\"{PHOTOS_DIR}/{n}\"")))
            .collect();
        names.sort();
        for name in names {
            zip.start_file(format!("famsim-run/{PHOTOS_DIR}/{name}"), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(&std::fs::read(photos_dir.join(&name)).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        }
    }
    for path in files {
        let rel = path
            .strip_prefix(run_dir)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .replace('\\', "/");
        zip.start_file(format!("famsim-run/{rel}"), options)
            .map_err(|e| e.to_string())?;
        zip.write_all(&std::fs::read(&path).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}
