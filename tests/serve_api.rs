//! `famsim serve`'s HTTP API through the real binary on an ephemeral port
//! (`--port 0`): every endpoint and every class of error, sessions kept
//! apart, renders that `famsim run` reproduces byte for byte, cancelled work
//! and a clean Ctrl-C.

mod common;
#[path = "common/http.rs"]
mod http;

use http::{Client, Server};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::thread;

fn famsim_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_famsim"))
}

fn server(dir: &Path, args: &[&str]) -> Server {
    Server::start(famsim_bin(), &dir.join("data"), args)
}

/// A shipped scenario as a design, from the server.
fn shipped(c: &Client, name: &str) -> Value {
    let r = c.get(&format!("/api/scenarios/{name}"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn render_ok(c: &Client, design: &Value) -> Value {
    let r = c.post_json("/api/render", design);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// id → SHA-256 of every portrait in a render reply.
fn shas(reply: &Value) -> BTreeMap<String, String> {
    reply["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `famsim run` on `scenario` into `out` paints every portrait the page
/// showed (`page`: id → SHA-256) with the same bytes.
fn famsim_run_paints_the_page(scenario: &Path, out: &Path, page: &BTreeMap<String, String>) {
    common::famsim_ok(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    for (id, sha) in page {
        let bytes = std::fs::read(out.join(format!("people/{id}.png"))).unwrap();
        assert_eq!(
            &sha256(&bytes),
            sha,
            "{id} differs between the page and famsim run"
        );
    }
}

fn changed(reply: &Value) -> Vec<String> {
    let mut v: Vec<String> = reply["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn person<'a>(design: &'a mut Value, id: &str) -> &'a mut Value {
    design["people"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["id"] == id)
        .unwrap()
}

fn assert_error(r: &http::Reply, status: u16, contains: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let body = r.json();
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains(contains),
        "{body}"
    );
}

#[test]
fn the_page_and_its_assets_are_served_from_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let c = s.client();
    let page = c.get("/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text().contains("/assets/app.js"));
    assert!(page
        .header("set-cookie")
        .unwrap()
        .starts_with("famsim_session="));
    for (asset, ty) in [("app.js", "text/javascript"), ("app.css", "text/css")] {
        let r = c.get(&format!("/assets/{asset}"));
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").unwrap().starts_with(ty));
        assert!(
            !r.text().contains("http://") && !r.text().contains("https://"),
            "{asset} loads something from outside"
        );
    }
    assert_error(&c.get("/assets/../Cargo.toml"), 404, "");
    assert_error(&c.get("/assets/nothing.js"), 404, "no asset");
    assert_error(&c.get("/nowhere"), 404, "no such page");
    let info = c.get("/api/info").json();
    assert_eq!(info["neural"], false);
    assert_eq!(info["scenarios"].as_array().unwrap().len(), 3);
    // Another address than loopback is allowed, with a warning.
    drop(s);
    let open = Server::start(
        famsim_bin(),
        &dir.path().join("open"),
        &["--bind", "0.0.0.0"],
    );
    assert!(
        open.stderr().contains("warning: listening on 0.0.0.0:"),
        "{}",
        open.stderr()
    );
}

/// The acceptance test of the API: a shipped family rendered by the server,
/// its scenario downloaded and run by `famsim run`, gives the same bytes.
#[test]
fn a_downloaded_scenario_reproduces_the_page_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let c = s.client();
    let mut design = shipped(&c, "three_gen");
    person(&mut design, "leo")["lean"] = json!(0.6);
    person(&mut design, "emma")["seed"] = json!(77);
    design["image_size"] = json!(128);
    let reply = render_ok(&c, &design);
    let page = shas(&reply);
    assert_eq!(page.len(), 9);
    // The portrait endpoint serves exactly those bytes.
    for (id, sha) in &page {
        let png = c.get(&format!("/api/people/{id}.png"));
        assert_eq!(png.status, 200);
        assert_eq!(png.header("content-type"), Some("image/png"));
        assert_eq!(&sha256(&png.body), sha, "{id}");
    }
    let ron = c.get("/api/download/scenario.ron");
    assert_eq!(ron.status, 200);
    assert!(ron
        .header("content-disposition")
        .unwrap()
        .contains("scenario.ron"));
    let file = dir.path().join("downloaded.ron");
    std::fs::write(&file, &ron.body).unwrap();
    let out = dir.path().join("run");
    famsim_run_paints_the_page(&file, &out, &page);
    // The other downloads.
    let zip = c.get("/api/download/run.zip");
    assert_eq!(zip.status, 200);
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.body.clone())).unwrap();
    let names: Vec<String> = archive.file_names().map(String::from).collect();
    for want in [
        "famsim-run/scenario.ron",
        "famsim-run/manifest.json",
        "famsim-run/index.html",
        "famsim-run/contact_sheet.png",
        "famsim-run/people/leo.png",
        "famsim-run/tree.ged",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    let mut leo = Vec::new();
    std::io::Read::read_to_end(
        &mut archive.by_name("famsim-run/people/leo.png").unwrap(),
        &mut leo,
    )
    .unwrap();
    assert_eq!(sha256(&leo), page["leo"]);
    let ged = c.get("/api/download/tree.ged");
    assert_eq!(ged.status, 200);
    assert!(ged.text().starts_with("0 HEAD"), "{}", ged.text());
    let dot = c.get("/api/download/tree.dot");
    assert!(dot.text().starts_with("digraph"), "{}", dot.text());
    assert_error(&c.get("/api/download/secrets.txt"), 404, "no download");
    assert_error(
        &c.get("/api/download/..%2F..%2Fscenario.ron"),
        404,
        "no download",
    );
}

#[test]
fn a_change_redraws_only_the_people_it_affects() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let c = s.client();
    let mut design = shipped(&c, "three_gen");
    design["image_size"] = json!(64);
    let first = render_ok(&c, &design);
    assert_eq!(changed(&first).len(), 9);
    // Nothing changed: nothing is drawn.
    assert!(changed(&render_ok(&c, &design)).is_empty());
    // One child's slider: that child alone.
    person(&mut design, "leo")["gamma"] = json!(0.35);
    let slider = render_ok(&c, &design);
    assert_eq!(changed(&slider), ["leo"]);
    // A re-roll of a parent: her and her children; the rest keep their faces.
    person(&mut design, "yuki")["seed"] = json!(12345);
    let reroll = render_ok(&c, &design);
    assert_eq!(changed(&reroll), ["emma", "hana", "leo", "yuki"]);
    let (before, after) = (shas(&slider), shas(&reroll));
    for id in ["arthur", "margaret", "kenji", "aiko", "david"] {
        assert_eq!(before[id], after[id], "{id}");
    }
    for id in ["yuki", "emma", "hana", "leo"] {
        assert_ne!(before[id], after[id], "{id}");
    }
    // A region pin: that child alone.
    person(&mut design, "emma")["regions"] = json!({"eyes": "Father"});
    assert_eq!(changed(&render_ok(&c, &design)), ["emma"]);
    // Removing a person removes their portrait.
    design["people"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p["id"] != "hana");
    render_ok(&c, &design);
    assert_error(&c.get("/api/people/hana.png"), 404, "no portrait");
    // The session's design comes back to a reloaded page.
    let back = c.get("/api/design").json();
    assert_eq!(back["people"].as_array().unwrap().len(), 8);
}

/// A locked face survives what would otherwise redraw it: the page pins
/// the seeds it is made from (its own and its ancestors'), so a re-roll of
/// the whole family keeps it byte for byte and `famsim run` on the download
/// draws it the same; a change to the locked person or an ancestor of
/// theirs is refused with 409 naming who is locked and what changed, and
/// the page keeps what it showed.
#[test]
fn a_locked_face_survives_rerolls_and_refuses_changes_that_would_redraw_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let c = s.client();
    let mut design = shipped(&c, "three_gen");
    design["image_size"] = json!(64);
    let first = shas(&render_ok(&c, &design));

    // Lock Emma as the page does: her seed and her ancestors' are written.
    let family_seed = design["seed"].clone();
    person(&mut design, "emma")["locked"] = json!(true);
    for id in [
        "emma", "david", "yuki", "arthur", "margaret", "kenji", "aiko",
    ] {
        let p = person(&mut design, id);
        let named_face = p["genes"].get("Seed").is_some();
        if !named_face && p.get("seed").is_none() {
            p["seed"] = family_seed.clone();
        }
    }
    let locked = shas(&render_ok(&c, &design));
    assert_eq!(
        locked, first,
        "pinning the seeds a face already used changed a face"
    );

    // Re-roll everyone unlocked: a new family seed.
    design["seed"] = json!(4242);
    let rolled = shas(&render_ok(&c, &design));
    for id in ["emma", "david", "yuki", "arthur", "margaret", "aiko"] {
        assert_eq!(
            rolled[id], first[id],
            "{id} changed with the family re-roll"
        );
    }
    for id in ["leo", "hana"] {
        assert_ne!(
            rolled[id], first[id],
            "{id} kept their face through a re-roll"
        );
    }
    // A new name is not a new face.
    person(&mut design, "emma")["name"] = json!("Emma Rose");
    assert_eq!(shas(&render_ok(&c, &design))["emma"], first["emma"]);

    // Editing an ancestor would re-derive her genes: refused, nothing redrawn.
    let mut edited = design.clone();
    person(&mut edited, "margaret")["ancestry"] = json!("Black");
    assert_error(
        &c.post_json("/api/render", &edited),
        409,
        "would redraw locked face \"emma\" (their ancestor \"margaret\" changed); unlock it first",
    );
    let emma = c.get("/api/people/emma.png");
    assert_eq!(sha256(&emma.body), first["emma"]);
    assert_eq!(
        c.get("/api/design").json()["people"][1]["ancestry"],
        json!("White")
    );
    // So is a re-roll of her, or a new image size.
    let mut edited = design.clone();
    person(&mut edited, "emma")["seed"] = json!(99);
    assert_error(
        &c.post_json("/api/render", &edited),
        409,
        "\"emma\" (their own entry changed)",
    );
    let mut edited = design.clone();
    edited["image_size"] = json!(128);
    assert_error(
        &c.post_json("/api/render", &edited),
        409,
        "the model or the image size changed",
    );

    // The downloaded scenario draws the locked face the same.
    let page = shas(&render_ok(&c, &design));
    let ron = c.get("/api/download/scenario.ron");
    let file = dir.path().join("locked.ron");
    std::fs::write(&file, &ron.body).unwrap();
    let out = dir.path().join("run");
    famsim_run_paints_the_page(&file, &out, &page);

    // Unlocked, she can be re-rolled again.
    person(&mut design, "emma")["locked"] = json!(false);
    person(&mut design, "emma")["seed"] = json!(99);
    assert_ne!(shas(&render_ok(&c, &design))["emma"], first["emma"]);
}

/// The weights tests/photo_cli.rs uses: the tiny generator, mappings, pool
/// and e4e, with the real 68-point landmark model, SeetaFace's detector and
/// FairFace's random-weight checkpoint. None (skip) outside CI when the
/// landmark model is not installed.
fn photo_weights(dir: &Path) -> Option<std::path::PathBuf> {
    let landmarks = common::landmarks_model()?;
    let out = dir.join("weights");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (e4e, seeta, fairface) = (
        common::fixture("e4e/e4e.pt"),
        common::seeta_model(),
        common::fixture("fairface/fairface_views.pt"),
    );
    common::import_tiny_weights(
        dir,
        &s(&out),
        &[
            "--e4e",
            &s(&e4e),
            "--landmarks",
            &s(&landmarks),
            "--detector",
            &s(&seeta),
            "--fairface",
            &s(&fairface),
        ],
    );
    Some(out)
}

/// A photo that ships inside scikit-image (asked of the installed package,
/// as tests/photo_pipeline.rs does); None (skip) outside CI without it.
fn skimage_photo(name: &str) -> Option<std::path::PathBuf> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import os, skimage; print(os.path.join(os.path.dirname(skimage.__file__), 'data'))",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            Some(Path::new(String::from_utf8(o.stdout).unwrap().trim()).join(name))
        }
        _ => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "python3 with scikit-image is missing; .ci/run installs it"
            );
            eprintln!("skipping: python3 with scikit-image is not installed");
            None
        }
    }
}

/// An ordinary photo uploaded on the page becomes a `Photo(…)` founder:
/// aligned (EXIF orientation honoured) and classified by FairFace on the
/// server, through the code `famsim check` and `run` use, with the
/// prediction in the reply; a photo without a face is refused naming the
/// upload, in `famsim run`'s words. The neural render streams its progress
/// (people done, and each step as it starts) before `done`, and the run
/// folder's zip, photos included, is what `famsim run` reproduces.
#[test]
fn a_photo_founder_is_aligned_classified_and_drawn_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let Some(weights) = photo_weights(dir.path()) else {
        return;
    };
    let Some(astronaut) = skimage_photo("astronaut.png") else {
        return;
    };
    let s = server(dir.path(), &["--weights", weights.to_str().unwrap()]);
    let c = s.client();

    let png = std::fs::read(&astronaut).unwrap();
    let up = c.request(
        "POST",
        "/api/photo?name=astronaut.png",
        Some("image/png"),
        &png,
    );
    assert_eq!(up.status, 200, "{}", up.text());
    let up = up.json();
    let name = up["photo"].as_str().unwrap().to_string();
    assert!(name.ends_with(".png"), "{up}");
    assert_eq!(up["genes"], json!({ "Photo": name }));
    assert_eq!(
        (up["width"].as_u64(), up["height"].as_u64()),
        (Some(512), Some(512))
    );
    assert_eq!(up["upload"], "astronaut.png");
    let guess = up["prediction"].clone();
    for head in ["sex", "age", "ancestry"] {
        let total: f64 = guess["probabilities"][head]
            .as_object()
            .unwrap_or_else(|| panic!("no {head} probabilities in {up}"))
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-4, "{head}: {total} in {up}");
    }

    // A sideways JPEG is read upright (EXIF orientation 6: stored 260×220).
    let jpg = std::fs::read(common::fixture("photo/astronaut_crop_exif6.jpg")).unwrap();
    let side = c.request(
        "POST",
        "/api/photo?name=sideways.jpg",
        Some("image/jpeg"),
        &jpg,
    );
    assert_eq!(side.status, 200, "{}", side.text());
    let side = side.json();
    assert_eq!(
        (side["width"].as_u64(), side["height"].as_u64()),
        (Some(220), Some(260))
    );
    assert!(side["photo"].as_str().unwrap().ends_with(".jpg"), "{side}");

    // No face: refused, naming the upload, in the words `famsim run` uses.
    let wall = famsim::exports::png::encode_png(&famsim::model::Image {
        width: 300,
        height: 200,
        rgb: vec![128; 300 * 200 * 3],
    })
    .unwrap();
    let refused = c.request("POST", "/api/photo?name=wall.png", Some("image/png"), &wall);
    assert_error(
        &refused,
        422,
        "wall.png: no face found; use a frontal photo",
    );
    std::fs::write(dir.path().join("wall.png"), &wall).unwrap();
    std::fs::write(
        dir.path().join("wall.ron"),
        format!(
            "(name: \"wall\", model: StyleGene(weights: {:?}), image_size: 64, people: [\n\
             (id: \"dad\", sex: Male, age: \"30-39\", ancestry: White, genes: Photo(\"wall.png\")),\n])",
            weights.to_str().unwrap()
        ),
    )
    .unwrap();
    let run = common::famsim(&["run", "wall.ron", "--out", "wall", "--quiet"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let words = |text: &str| {
        let from = text
            .find("no face found")
            .unwrap_or_else(|| panic!("{text}"));
        text[from..].lines().next().unwrap().to_string()
    };
    assert_eq!(
        words(refused.json()["error"].as_str().unwrap()),
        words(&String::from_utf8_lossy(&run.stderr)),
    );

    // A family with both photos as founders, neural.
    let design = json!({
        "name": "Photo family", "seed": 3, "image_size": 64, "neural": true,
        "people": [
            {"id": "dad", "sex": "Male", "age": "30-39", "ancestry": "White", "genes": side["genes"]},
            {"id": "mum", "sex": "Female", "age": guess["age"], "ancestry": guess["ancestry"], "genes": up["genes"]},
            {"id": "kid", "sex": "Female", "age": "20-29", "father": "dad", "mother": "mum"},
            {"id": "kid2", "sex": "Male", "age": "20-29", "father": "dad", "mother": "mum"},
            {"id": "grandkid", "sex": "Male", "age": "0-2", "father": "kid2", "mother": "kid"},
        ],
    });
    let mut events = c.events();
    events.wait_for(10, |e| e["type"] == "hello");
    let reply = render_ok(&c, &design);
    let job = reply["job"].clone();
    assert_eq!(reply["photos"]["mum"]["prediction"], guess);
    assert_eq!(reply["photos"]["dad"]["upload"], "sideways.jpg");
    assert!(reply["scenario"]
        .as_str()
        .unwrap()
        .contains(&format!("genes: Photo(\"photos/{name}\")")));
    let mut progress = Vec::new();
    loop {
        let e = events.wait_for(60, |e| e["job"] == job);
        match e["type"].as_str().unwrap() {
            "progress" => progress.push(e),
            "done" => break,
            "failed" => panic!("{e}"),
            _ => {}
        }
    }
    let done: Vec<u64> = progress
        .iter()
        .map(|e| e["done"].as_u64().unwrap())
        .collect();
    let stages: Vec<&str> = progress
        .iter()
        .map(|e| e["stage"].as_str().unwrap())
        .collect();
    assert!(
        done.windows(2).all(|w| w[0] <= w[1]),
        "progress went back: {progress:?}"
    );
    assert_eq!(
        (done.first(), done.last()),
        (Some(&0), Some(&5)),
        "{progress:?}"
    );
    for want in ["photos", "genes", "genomes", "faces"] {
        assert!(stages.contains(&want), "no {want} step in {progress:?}");
    }
    assert!(progress.iter().all(|e| e["total"] == 5), "{progress:?}");

    // The run folder's zip runs as it is: its scenario names the photos
    // beside it, and `famsim run` paints the page's bytes.
    let zip = c.get("/api/download/run.zip");
    assert_eq!(zip.status, 200);
    let unzipped = dir.path().join("unzipped");
    zip::ZipArchive::new(std::io::Cursor::new(zip.body))
        .unwrap()
        .extract(&unzipped)
        .unwrap();
    let folder = unzipped.join("famsim-run");
    assert!(folder.join("photos").join(&name).is_file());
    let out = dir.path().join("again");
    famsim_run_paints_the_page(&folder.join("scenario.ron"), &out, &shas(&reply));
}

/// The engine takes unchanged people's genes from the session's previous
/// render: after re-rolls, a slider, a new partner and child for someone
/// who had no children (her genome is read from her face for the first
/// time) and a rename, the page still shows exactly what `famsim run` on the
/// downloaded scenario paints, portraits and manifest alike.
#[test]
fn a_family_edited_many_times_renders_what_famsim_run_renders() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let c = s.client();
    let mut design = shipped(&c, "three_gen");
    design["image_size"] = json!(64);
    render_ok(&c, &design);
    person(&mut design, "yuki")["seed"] = json!(999);
    assert_eq!(
        changed(&render_ok(&c, &design)),
        ["emma", "hana", "leo", "yuki"]
    );
    person(&mut design, "leo")["gamma"] = json!(0.2);
    assert_eq!(changed(&render_ok(&c, &design)), ["leo"]);
    let people = design["people"].as_array_mut().unwrap();
    people.push(json!({"id": "tom", "sex": "Male", "age": "20-29", "ancestry": "Black"}));
    people.push(
        json!({"id": "zoe", "sex": "Female", "age": "0-2", "father": "tom", "mother": "emma"}),
    );
    assert_eq!(changed(&render_ok(&c, &design)), ["tom", "zoe"]);
    // A name is not read by any draw: nobody is painted again.
    person(&mut design, "hana")["name"] = json!("Hana Q. Hale");
    let reply = render_ok(&c, &design);
    assert!(changed(&reply).is_empty(), "{:?}", changed(&reply));
    let page = shas(&reply);
    assert_eq!(page.len(), 11);

    let ron = c.get("/api/download/scenario.ron");
    assert_eq!(ron.status, 200);
    let file = dir.path().join("edited.ron");
    std::fs::write(&file, &ron.body).unwrap();
    let out = dir.path().join("run");
    famsim_run_paints_the_page(&file, &out, &page);
    let run: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    // The reply's numbers are the manifest's f32s widened to f64 by
    // serde_json; the file writes them short. Compared as the f32s they are.
    assert_eq!(as_f32(&reply["manifest"]["people"]), as_f32(&run["people"]));
    // Warnings alike, but for the scenario file's name.
    let located = |w: &Value| -> Vec<String> {
        w.as_array()
            .unwrap()
            .iter()
            .map(|w| {
                let w = w.as_str().unwrap();
                w.split_once(".ron:").map_or(w, |(_, at)| at).to_string()
            })
            .collect()
    };
    assert_eq!(
        located(&reply["manifest"]["warnings"]),
        located(&run["warnings"])
    );
}

/// `v` with every number read as the f32 it was made from.
fn as_f32(v: &Value) -> Value {
    match v {
        Value::Number(n) if !(n.is_u64() || n.is_i64()) => {
            json!(n.as_f64().unwrap() as f32)
        }
        Value::Array(a) => Value::Array(a.iter().map(as_f32).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), as_f32(v))).collect()),
        other => other.clone(),
    }
}

#[test]
fn scenario_errors_come_back_as_famsim_check_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let c = s.client();
    let bad =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_scenarios/21_gamma_out_of_range.ron");
    let text = std::fs::read_to_string(&bad).unwrap();
    let r = c.request("POST", "/api/import", Some("text/plain"), text.as_bytes());
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["kind"], "scenario");
    let check = common::famsim(&["check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let expected =
        String::from_utf8_lossy(&check.stderr).replace(bad.to_str().unwrap(), "upload.ron");
    assert_eq!(
        r.json()["error"].as_str().unwrap().trim_end(),
        expected.trim_end()
    );
    assert!(expected.contains("upload.ron:8:81"), "{expected}");
    // A good upload comes back as a design.
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/four_gen_cousins.ron"),
    )
    .unwrap();
    let r = c.request(
        "POST",
        "/api/import",
        Some("application/x-ron; charset=utf-8"),
        good.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["design"]["people"].as_array().unwrap().len() > 10);
    // A design the scenario rules reject: located in the scenario text.
    let mut design = shipped(&c, "two_parents_one_child");
    person(&mut design, "daughter")["lean"] = json!(3.0);
    let r = c.post_json("/api/render", &design);
    assert_error(&r, 422, "scenario.ron:");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("`lean` is 3, but it must be between -1 and 1"),
        "{}",
        r.text()
    );
    person(&mut design, "daughter")["lean"] = json!(0.0);
    person(&mut design, "daughter")["father"] = json!("mother");
    assert_error(
        &c.post_json("/api/render", &design),
        422,
        "a father must be male",
    );
    assert_error(&c.get("/api/scenarios/nope"), 404, "no shipped scenario");
}

#[test]
fn bad_requests_get_4xx_never_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let c = s.client();
    let design = shipped(&c, "two_parents_one_child");
    // Malformed JSON, JSON of the wrong shape, an unknown field.
    assert_error(
        &c.request(
            "POST",
            "/api/render",
            Some("application/json"),
            b"{\"name\": ",
        ),
        400,
        "",
    );
    assert_error(
        &c.request("POST", "/api/render", Some("application/json"), b"[1, 2]"),
        422,
        "",
    );
    let mut extra = design.clone();
    extra["hack"] = json!(1);
    assert_error(&c.post_json("/api/render", &extra), 422, "unknown field");
    // Wrong content types.
    assert_error(
        &c.request(
            "POST",
            "/api/render",
            Some("text/plain"),
            design.to_string().as_bytes(),
        ),
        415,
        "",
    );
    assert_error(
        &c.request("POST", "/api/render", None, design.to_string().as_bytes()),
        415,
        "",
    );
    assert_error(
        &c.request("POST", "/api/import", Some("application/json"), b"()"),
        415,
        "text/plain",
    );
    assert_error(
        &c.request(
            "POST",
            "/api/import",
            Some("text/plain"),
            &[0xff, 0xfe, 0x00],
        ),
        400,
        "UTF-8",
    );
    assert_error(
        &c.request("POST", "/api/import", Some("text/plain"), b"((((("),
        422,
        "upload.ron:",
    );
    // Oversized bodies.
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 << 20));
    let r = c.request(
        "POST",
        "/api/render",
        Some("application/json"),
        huge.as_bytes(),
    );
    assert_eq!(r.status, 413, "{}", r.text());
    let r = c.request("POST", "/api/import", Some("text/plain"), huge.as_bytes());
    assert_eq!(r.status, 413, "{}", r.text());
    // Caps: people, image size.
    let mut many = design.clone();
    let people = many["people"].as_array_mut().unwrap();
    for i in 0..200 {
        people.push(
            json!({"id": format!("p{i}"), "sex": "Male", "age": "30-39", "ancestry": "White"}),
        );
    }
    assert_error(
        &c.post_json("/api/render", &many),
        413,
        "at most 200 per family",
    );
    let mut big = design.clone();
    big["image_size"] = json!(1024);
    assert_error(&c.post_json("/api/render", &big), 422, "cap of 512 px");
    // The neural model and photos need weights this server does not have.
    let mut neural = design.clone();
    neural["neural"] = json!(true);
    assert_error(&c.post_json("/api/render", &neural), 422, "--weights");
    let png =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images/tree_page.png"))
            .unwrap();
    assert_error(
        &c.request("POST", "/api/photo", Some("image/png"), &png),
        409,
        "--weights",
    );
    // A photo name the server did not hand out never becomes a path.
    let mut sneaky = design.clone();
    person(&mut sneaky, "father")["genes"] = json!({"Photo": "../../../../etc/passwd"});
    assert_error(
        &c.post_json("/api/render", &sneaky),
        422,
        "not one this server stored",
    );
    // Downloads before anything was drawn.
    assert_error(
        &c.get("/api/download/scenario.ron"),
        404,
        "nothing is drawn",
    );
    // Person ids that are not ids.
    for bad in [
        "..%2F..%2Fetc%2Fpasswd.png",
        ".hidden.png",
        "father.jpg",
        "%2Fetc%2Fpasswd",
    ] {
        let r = c.get(&format!("/api/people/{bad}"));
        assert_eq!(r.status, 404, "{bad}: {}", r.text());
    }
    // Wrong methods.
    assert_eq!(c.get("/api/render").status, 405);
    assert!(!s.stderr().contains("panicked"), "{}", s.stderr());
}

#[test]
fn sessions_are_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let (a, b) = (s.client(), s.client());
    let mut da = shipped(&a, "two_parents_one_child");
    da["image_size"] = json!(64);
    let mut db = shipped(&b, "three_gen");
    db["image_size"] = json!(64);
    let ra = render_ok(&a, &da);
    render_ok(&b, &db);
    assert_ne!(a.cookie_header(), b.cookie_header());
    // b's family has no "daughter"; a's has no "leo".
    assert_error(&b.get("/api/people/daughter.png"), 404, "no portrait");
    assert_error(&a.get("/api/people/leo.png"), 404, "no portrait");
    assert_eq!(
        sha256(&a.get("/api/people/daughter.png").body),
        shas(&ra)["daughter"]
    );
    assert!(a
        .get("/api/download/scenario.ron")
        .text()
        .contains("Two parents"));
    assert!(b
        .get("/api/download/scenario.ron")
        .text()
        .contains("Three generations"));
    // A forged or malformed session cookie gets a new session of its own,
    // and no folder outside --data.
    let forged = s.client();
    forged
        .cookies
        .lock()
        .unwrap()
        .push(("famsim_session".into(), "../../../../tmp/evil".into()));
    let r = forged.get("/api/download/scenario.ron");
    assert_eq!(r.status, 404);
    assert!(r
        .header("set-cookie")
        .unwrap()
        .starts_with("famsim_session="));
    let sessions: Vec<_> = std::fs::read_dir(s.data.join("sessions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(sessions.iter().all(|n| n.len() == 32), "{sessions:?}");
    assert!(!dir.path().join("evil").exists() && !Path::new("/tmp/evil").exists());
}

#[test]
fn a_token_guards_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &["--token", "s3cret"]);
    let c = s.client();
    assert_error(&c.get("/api/info"), 401, "token");
    assert_error(&c.get("/"), 401, "token");
    let mut bearer = s.client();
    bearer.extra.push("Authorization: Bearer s3cret".into());
    assert_eq!(bearer.get("/api/info").status, 200);
    let mut wrong = s.client();
    wrong.extra.push("Authorization: Bearer s3cre".into());
    assert_eq!(wrong.get("/api/info").status, 401);
    // Given once in the URL, the token is remembered in a cookie.
    assert_eq!(c.get("/?token=s3cret").status, 200);
    assert_eq!(c.get("/api/info").status, 200);
}

/// Events stream to the page; closing the page cancels its queued renders
/// and stops the running one; a session has at most four renders waiting.
#[test]
fn events_stream_and_a_closed_page_cancels_its_queued_work() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let c = std::sync::Arc::new(s.client());
    c.get("/api/info");
    // A family big enough to keep a render busy for a few seconds.
    let mut slow = shipped(&c, "two_parents_one_child");
    slow["image_size"] = json!(512);
    let people = slow["people"].as_array_mut().unwrap();
    for i in 0..150 {
        people.push(json!({"id": format!("kid{i}"), "sex": "Male", "age": "3-9", "father": "father", "mother": "mother"}));
    }
    let mut events = c.events();
    events.wait_for(10, |e| e["type"] == "hello");
    let first = {
        let (c, slow) = (c.clone(), slow.clone());
        thread::spawn(move || c.post_json("/api/render", &slow))
    };
    events.wait_for(30, |e| e["type"] == "started");
    let mut waiting = Vec::new();
    for gamma in [0.1, 0.2, 0.3] {
        let (c, mut d) = (c.clone(), slow.clone());
        d["gamma"] = json!(gamma);
        waiting.push(thread::spawn(move || c.post_json("/api/render", &d)));
        let job = events.wait_for(30, |e| e["type"] == "queued")["job"].clone();
        assert!(job.as_u64().unwrap() >= 2);
    }
    // Four pending in this session: a fifth is refused at once.
    assert_error(&c.post_json("/api/render", &slow), 429, "renders waiting");
    // Progress arrives while the first one draws.
    events.wait_for(60, |e| {
        e["type"] == "progress" && e["done"].as_u64() > Some(0)
    });
    drop(events);
    // The running render stops at its next person (the next test says how).
    let first = first.join().unwrap();
    assert_error(&first, 409, "was closed");
    let mut kinds: Vec<String> = waiting
        .into_iter()
        .map(|h| h.join().unwrap())
        .map(|r| {
            assert_eq!(r.status, 409, "{}", r.text());
            r.json()["kind"].as_str().unwrap().to_string()
        })
        .collect();
    kinds.sort();
    // The two older ones were superseded by the newest, which the closed
    // page's cancellation stopped.
    assert_eq!(kinds, ["cancelled", "superseded", "superseded"]);
}

/// The portraits in a session's workspace: (file name, bytes).
fn portraits_on_disk(data: &Path) -> Vec<(String, Vec<u8>)> {
    common::tree(data)
        .into_iter()
        .filter(|(path, _)| path.components().any(|c| c.as_os_str() == "people"))
        .map(|(path, bytes)| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect()
}

/// Closing the page stops its running render at the next person: the reply
/// is a 409, nothing more is written after it, what was written is whole
/// PNGs (no temporaries), and the next render keeps those portraits and
/// paints only the rest, the same bytes `famsim run` paints.
#[test]
fn a_closed_page_stops_its_running_render_between_people() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let c = std::sync::Arc::new(s.client());
    c.get("/api/info");
    let mut big = shipped(&c, "two_parents_one_child");
    big["image_size"] = json!(512);
    let people = big["people"].as_array_mut().unwrap();
    for i in 0..190 {
        people.push(json!({"id": format!("kid{i}"), "sex": "Female", "age": "10-19", "father": "father", "mother": "mother"}));
    }
    let total = big["people"].as_array().unwrap().len();
    let mut events = c.events();
    events.wait_for(10, |e| e["type"] == "hello");
    let running = {
        let (c, big) = (c.clone(), big.clone());
        thread::spawn(move || c.post_json("/api/render", &big))
    };
    events.wait_for(60, |e| {
        e["type"] == "progress" && e["done"].as_u64() > Some(2)
    });
    drop(events);
    let reply = running.join().unwrap();
    assert_error(&reply, 409, "was closed");
    let written = portraits_on_disk(&s.data);
    assert!(
        written.len() < total,
        "all {total} portraits were painted: the render did not stop"
    );
    thread::sleep(std::time::Duration::from_millis(1500));
    let later = portraits_on_disk(&s.data);
    assert_eq!(
        later.len(),
        written.len(),
        "portraits were still written after the reply"
    );
    for (name, bytes) in &later {
        assert!(!name.ends_with(".tmp"), "left behind: {name}");
        famsim::exports::png::decode_png(bytes)
            .unwrap_or_else(|e| panic!("{name} is not a whole PNG: {e}"));
    }
    // A page open again: the kept portraits are not painted again.
    let _events = c.events();
    let done = render_ok(&c, &big);
    assert_eq!(changed(&done).len(), total - later.len());
    let ron = c.get("/api/download/scenario.ron");
    let file = dir.path().join("big.ron");
    std::fs::write(&file, &ron.body).unwrap();
    let out = dir.path().join("run");
    famsim_run_paints_the_page(&file, &out, &shas(&done));
}

#[test]
fn ctrl_c_stops_cleanly_and_leaves_no_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = server(dir.path(), &[]);
    let c = std::sync::Arc::new(s.client());
    let mut slow = shipped(&c, "two_parents_one_child");
    slow["image_size"] = json!(512);
    let people = slow["people"].as_array_mut().unwrap();
    for i in 0..120 {
        people.push(json!({"id": format!("kid{i}"), "sex": "Female", "age": "10-19", "father": "father", "mother": "mother"}));
    }
    let mut events = c.events();
    let busy = {
        let c = c.clone();
        thread::spawn(move || c.post_json("/api/render", &slow))
    };
    events.wait_for(60, |e| {
        e["type"] == "progress" && e["done"].as_u64() > Some(2)
    });
    let status = s.interrupt();
    assert!(status.success(), "{status:?}: {}", s.stderr());
    assert!(
        s.stderr().contains("famsim serve: stopped"),
        "{}",
        s.stderr()
    );
    // The event stream ended with the server.
    while events.next_event().is_some() {}
    // The render running at Ctrl-C finished (or the connection closed);
    // either way no temporary or half-written portrait is left.
    let _ = busy.join();
    let mut pngs = 0;
    for (path, bytes) in common::tree(&s.data) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "left behind: {}", path.display());
        if name.ends_with(".png") {
            pngs += 1;
            let file = s.data.join(&path);
            famsim::io::photo::read_photo(&file)
                .unwrap_or_else(|e| panic!("{} is not a whole PNG: {e}", path.display()));
            assert!(bytes.len() > 100);
        }
    }
    assert!(pngs > 2, "no portrait was written before Ctrl-C");
}
