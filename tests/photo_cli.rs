//! Ordinary photos through the neural commands, end to end through the real
//! binary (issue 11, item 5): `famsim invert` and `famsim child
//! --father-photo/--mother-photo` align first, predict race, sex and age with
//! FairFace, and the child's gene pool is searched under the parents'
//! predicted races. The weights are the tiny official-layout fixtures plus
//! FairFace's random-weight checkpoint of the real layout
//! (tests/fixtures/fairface, see tests/fairface_parity.rs) and the real dlib
//! landmark model with SeetaFace's detector; the photos are real
//! (scikit-image's astronaut, cropped, and its sideways EXIF JPEG).

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::fixture;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn famsim_in(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_famsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("famsim starts")
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    let out = famsim_in(dir, args);
    assert!(
        out.status.success(),
        "famsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn input_error(dir: &Path, args: &[&str]) -> String {
    let out = famsim_in(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "famsim {args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// The tiny weights with e4e, and `extra` import flags, in `dir/weights`.
fn weights(dir: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join("weights");
    let e4e = fixture("e4e/e4e.pt");
    common::import_tiny_weights(dir, s(&out), &[&["--e4e", s(&e4e)], extra].concat());
    out
}

/// Every photo model: landmarks, detector and FairFace. None when the
/// landmark model is not installed (outside CI only).
fn full_weights(dir: &Path) -> Option<PathBuf> {
    let landmarks = common::landmarks_model()?;
    let (seeta, fairface) = (common::seeta_model(), fixture("fairface/fairface_views.pt"));
    Some(weights(
        dir,
        &[
            "--landmarks",
            s(&landmarks),
            "--detector",
            s(&seeta),
            "--fairface",
            s(&fairface),
        ],
    ))
}

fn photo(name: &str) -> PathBuf {
    fixture("photo").join(name)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// torchvision's logits for a fixture crop (tests/fixtures/fairface/expected.json).
fn torchvision_logits(photo: &str) -> Vec<f64> {
    let expected = json(&fixture("fairface/expected.json"));
    let case = expected["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["photo"] == photo)
        .unwrap()
        .clone();
    case["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn softmax(x: &[f64]) -> Vec<f64> {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - max).exp()).collect();
    let total: f64 = e.iter().sum();
    e.iter().map(|v| v / total).collect()
}

/// `weights import --fairface` lists it in `weights info`; `invert
/// --no-align` on an aligned crop reports, through the imported native
/// copy, the probabilities torchvision's logits give.
#[test]
fn imported_fairface_predicts_what_torchvision_does() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let fairface = fixture("fairface/fairface_views.pt");
    let weights = weights(dir, &["--fairface", s(&fairface)]);
    let info = String::from_utf8(ok(dir, &["weights", "info", s(&weights)]).stdout).unwrap();
    assert!(
        info.contains("attributes: FairFace ResNet (blocks [3, 4, 6, 3])"),
        "{info}"
    );
    assert!(info.contains("fairface_views.pt"), "{info}");
    assert!(info.contains("attributes.safetensors"), "{info}");

    let crop = photo("aligned_astronaut_crop.png");
    let out = dir.join("w.npy");
    let args = ["invert", "--weights", s(&weights), "--no-align", s(&crop)];
    ok(dir, &[&args[..], &["--out", s(&out)]].concat());
    let report = json(&out.with_extension("json"));
    let logits = torchvision_logits("aligned_astronaut_crop.png");
    let heads = [
        (
            "ancestry",
            &logits[0..7],
            famsim::attributes::Ancestry::ALL
                .map(|a| a.label())
                .to_vec(),
        ),
        ("sex", &logits[7..9], vec!["male", "female"]),
        (
            "age",
            &logits[9..18],
            famsim::attributes::AgeGroup::ALL
                .map(|a| a.label())
                .to_vec(),
        ),
    ];
    for (head, logits, labels) in heads {
        let want = softmax(logits);
        let got: Vec<f64> = labels
            .iter()
            .map(|l| report["probabilities"][head][*l].as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len(), "{head}");
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "{head}: {got:?} vs {want:?}");
        }
    }
    assert_eq!(report["ancestry"], "Indian", "{report}");
}

/// Without FairFace `invert` still writes the latent, and says why there
/// are no attributes.
#[test]
fn invert_without_fairface_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let weights = weights(dir, &[]);
    let crop = photo("aligned_astronaut_crop.png");
    let out = dir.join("w.npy");
    let args = ["invert", "--weights", s(&weights), "--no-align", s(&crop)];
    let said = ok(dir, &[&args[..], &["--out", s(&out)]].concat());
    let stderr = String::from_utf8_lossy(&said.stderr);
    assert!(stderr.contains("has no FairFace model"), "{stderr}");
    assert!(stderr.contains("--fairface"), "{stderr}");
    assert!(out.is_file() && !out.with_extension("json").exists());

    // Unaligned photos need the landmark model and the detector.
    let err = input_error(
        dir,
        &[
            &args[..3],
            &[s(&photo("astronaut_crop.png")), "--out", "x.npy"],
        ]
        .concat(),
    );
    assert!(err.contains("no landmark model and face detector"), "{err}");
    assert!(err.contains("--no-align"), "{err}");
}

/// `invert` on a folder aligns every photo as `famsim align` does (the
/// same crop bytes), encodes the crop (the same latent as `--no-align` on
/// that crop) and writes one latent and one attribute record per photo.
#[test]
fn invert_aligns_a_folder_of_photos_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(weights) = full_weights(dir) else {
        return;
    };
    let photos = dir.join("photos");
    std::fs::create_dir(&photos).unwrap();
    for name in ["astronaut_crop.png", "astronaut_crop_exif6.jpg"] {
        std::fs::copy(photo(name), photos.join(name)).unwrap();
    }
    std::fs::write(photos.join("notes.txt"), "not a photo").unwrap();
    let out = dir.join("inverted");
    ok(
        dir,
        &[
            "invert",
            "--weights",
            s(&weights),
            s(&photos),
            "--out",
            s(&out),
        ],
    );
    let records = json(&out.join("attributes.json"));
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    for (record, stem) in records
        .iter()
        .zip(["astronaut_crop", "astronaut_crop_exif6"])
    {
        assert_eq!(record["latent"], format!("{stem}.npy"));
        assert_eq!(record["aligned"], format!("{stem}.png"));
        let p = &record["attributes"]["probabilities"]["sex"];
        let total: f64 = p
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-5, "{record}");
    }

    let aligned = dir.join("aligned");
    ok(
        dir,
        &[
            "align",
            "--weights",
            s(&weights),
            s(&photos.join("astronaut_crop.png")),
            "--out",
            s(&aligned),
        ],
    );
    let read = |p: &Path| std::fs::read(p).unwrap();
    assert!(
        read(&aligned.join("astronaut_crop.png")) == read(&out.join("astronaut_crop.png")),
        "invert's aligned crop differs from famsim align's"
    );
    let again = dir.join("again.npy");
    ok(
        dir,
        &[
            "invert",
            "--weights",
            s(&weights),
            "--no-align",
            s(&out.join("astronaut_crop.png")),
            "--out",
            s(&again),
        ],
    );
    assert!(read(&again) == read(&out.join("astronaut_crop.npy")));
}

/// The demo in one command: two photos → the child, the aligned parents,
/// a side-by-side sheet and the parents' predictions; the pool is searched
/// under the parents' predicted race. From the same crops `--no-align`, and
/// from the latents `invert` makes of them, the child is the same.
#[test]
fn child_from_two_photos() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(weights) = full_weights(dir) else {
        return;
    };
    let (father, mother) = (
        photo("astronaut_crop.png"),
        photo("astronaut_crop_exif6.jpg"),
    );
    let out = dir.join("child");
    let said = ok(
        dir,
        &[
            "child",
            "--weights",
            s(&weights),
            "--father-photo",
            s(&father),
            "--mother-photo",
            s(&mother),
            "--age",
            "3-9",
            "--sex",
            "female",
            "--out",
            s(&out),
        ],
    );
    for file in [
        "child.png",
        "child.npy",
        "father.png",
        "mother.png",
        "sheet.png",
        "parents.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let parents = json(&out.join("parents.json"));
    let race = parents["father"]["attributes"]["ancestry"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(race, "Indian", "{parents}");
    // The tiny pool holds White entries only: the search under the
    // predicted race falls back, and says which race it looked for.
    let stderr = String::from_utf8_lossy(&said.stderr);
    assert!(
        stderr.contains("gene pool has no female entries of ancestry Indian"),
        "{stderr}"
    );
    let sheet =
        famsim::exports::png::decode_png(&std::fs::read(out.join("sheet.png")).unwrap()).unwrap();
    assert!(sheet.width > 3 * 256 && sheet.height > 256);

    // The same child from the aligned crops, and from their latents.
    let with = |extra: &[&str], to: &Path| {
        let base = [
            "child",
            "--weights",
            s(&weights),
            "--age",
            "3-9",
            "--sex",
            "female",
        ];
        let rest = ["--ancestry", "White", "--out", s(to)];
        ok(dir, &[&base[..], extra, &rest[..]].concat());
        std::fs::read(to.join("child.npy")).unwrap()
    };
    let (f, m) = (out.join("father.png"), out.join("mother.png"));
    let from_photos = with(
        &["--father-photo", s(&father), "--mother-photo", s(&mother)],
        &dir.join("a"),
    );
    let from_crops = with(
        &[
            "--no-align",
            "--father-photo",
            s(&f),
            "--mother-photo",
            s(&m),
        ],
        &dir.join("b"),
    );
    for (crop, npy) in [(&f, "f.npy"), (&m, "m.npy")] {
        let args = ["invert", "--weights", s(&weights), "--no-align", s(crop)];
        ok(dir, &[&args[..], &["--out", npy]].concat());
    }
    let from_latents = with(&["--father", "f.npy", "--mother", "m.npy"], &dir.join("c"));
    assert!(
        from_photos == from_crops,
        "aligned in the command vs --no-align"
    );
    assert!(
        from_photos == from_latents,
        "photos vs their inverted latents"
    );
}

/// A scenario whose founders are photos: the father an ordinary photo that
/// states only his sex, the mother an aligned crop that states everything.
const PHOTO_FAMILY: &str = r#"(
    name: "Photo family",
    seed: 4,
    model: StyleGene(weights: "weights", batch: 2),
    image_size: 64,
    people: [
        (id: "dad", sex: Male, genes: Photo("dad.png")),
        (id: "mum", sex: Female, age: "30-39", ancestry: White, genes: AlignedPhoto("mum.png")),
        (id: "kid", sex: Female, age: "3-9", father: "dad", mother: "mum"),
    ],
)
"#;

fn photo_family(dir: &Path) {
    std::fs::write(dir.join("family.ron"), PHOTO_FAMILY).unwrap();
    std::fs::copy(photo("astronaut_crop.png"), dir.join("dad.png")).unwrap();
    std::fs::copy(photo("aligned_astronaut_crop.png"), dir.join("mum.png")).unwrap();
}

/// `check` predicts what the photo founder leaves out, with probabilities,
/// warns where a confident prediction contradicts a stated value (the
/// stated value stays), and `run` uses the predictions.
#[test]
fn photo_founders_may_leave_their_attributes_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(_) = full_weights(dir) else {
        return;
    };
    photo_family(dir);
    let said = ok(dir, &["check", "family.ron"]);
    let stdout = String::from_utf8_lossy(&said.stdout);
    assert!(
        stdout.contains("predicted from photos (FairFace):"),
        "{stdout}"
    );
    assert!(stdout.contains("  dad (\"dad.png\"):"), "{stdout}");
    // The random-weight FairFace calls the astronaut an Indian woman 70 or older.
    assert!(
        stdout.contains("ancestry  Indian 1.00")
            && stdout.contains("age       \"70+\" 0.78, \"60-69\" 0.22"),
        "{stdout}"
    );
    let dad_lines: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("  dad ("))
        .take(4)
        .collect();
    assert!(
        dad_lines[1].contains("sex       Female 0.96, Male 0.04 (the scenario states it)"),
        "{dad_lines:?}"
    );
    assert!(
        dad_lines[2].ends_with("(predicted; the scenario leaves it out)"),
        "{dad_lines:?}"
    );
    assert!(
        dad_lines[3].ends_with("(predicted; the scenario leaves it out)"),
        "{dad_lines:?}"
    );
    assert!(
        stdout.contains(
            "family.ron:7:26: person \"dad\": `sex` is Male, but FairFace predicts Female (0.96) \
             from photo \"dad.png\"; the stated value is used"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("person \"mum\": `ancestry` is White, but FairFace predicts Indian (1.00)"),
        "{stdout}"
    );

    ok(dir, &["run", "family.ron", "--out", "run", "--quiet"]);
    let manifest = json(&dir.join("run/manifest.json"));
    let people = manifest["people"].as_array().unwrap();
    let find = |id: &str| people.iter().find(|p| p["id"] == id).unwrap().clone();
    let (dad, mum) = (find("dad"), find("mum"));
    assert_eq!(
        (&dad["sex"], &dad["age_group"]),
        (&"Male".into(), &"70+".into()),
        "{dad}"
    );
    assert_eq!(dad["ancestry"], serde_json::json!(["Indian"]), "{dad}");
    assert_eq!(mum["ancestry"], serde_json::json!(["White"]), "{mum}");
}

/// FairFace runs on the scenario's `device`, as the rest of the model: a
/// device this machine cannot use (no such adapter, or a build without
/// wgpu) stops `run` at the photo founder, naming the device, where a
/// prediction on the CPU would have hidden it. `check` predicts on the CPU
/// instead and says so, so that a scenario for a GPU machine can be checked
/// elsewhere.
#[test]
fn photo_founders_are_predicted_on_the_scenario_device() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(_) = full_weights(dir) else {
        return;
    };
    photo_family(dir);
    let on_cpu = ok(dir, &["check", "family.ron"]);
    let scenario = std::fs::read_to_string(dir.join("family.ron")).unwrap();
    std::fs::write(
        dir.join("family.ron"),
        scenario.replace("batch: 2", "device: Wgpu(4096), batch: 2"),
    )
    .unwrap();
    let err = input_error(dir, &["run", "family.ron", "--out", "run", "--quiet"]);
    assert!(
        err.contains(
            "person \"dad\": photo \"dad.png\": cannot predict race, sex and age: \
             device Wgpu(4096)"
        ),
        "{err}"
    );
    let checked = ok(dir, &["check", "family.ron"]);
    let note = String::from_utf8_lossy(&checked.stderr);
    assert!(
        note.contains("note: device Wgpu(4096)")
            && note.contains(
                "`famsim check` predicts photo founders' race, sex and age on the CPU instead"
            ),
        "{note}"
    );
    // The same predictions as on the CPU.
    let predictions = |out: &Output| {
        String::from_utf8_lossy(&out.stdout)
            .split("predicted from photos (FairFace):")
            .nth(1)
            .and_then(|rest| rest.split("\nwarnings:").next())
            .unwrap()
            .to_owned()
    };
    assert_eq!(predictions(&checked), predictions(&on_cpu));
}

/// Without FairFace, a photo founder that leaves attributes out is an
/// error naming the person, the fields and the two ways to fix it.
#[test]
fn photo_founders_without_fairface_must_state_their_attributes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(landmarks) = common::landmarks_model() else {
        return;
    };
    let seeta = common::seeta_model();
    weights(
        dir,
        &["--landmarks", s(&landmarks), "--detector", s(&seeta)],
    );
    photo_family(dir);
    let err = input_error(dir, &["check", "family.ron"]);
    assert!(
        err.starts_with(
            "error: family.ron:7:14: person \"dad\": founder from photo \"dad.png\" without \
             `age`, `ancestry`"
        ),
        "{err}"
    );
    assert!(err.contains("age: \"30-39\", ancestry: White"), "{err}");
    assert!(
        err.contains("--fairface res34_fair_align_multi_7_20190809.pt"),
        "{err}"
    );
    assert!(
        !err.contains("has no `ancestry`"),
        "one error for it: {err}"
    );
    let err = input_error(dir, &["run", "family.ron", "--out", "run", "--quiet"]);
    assert!(err.contains("without `age`, `ancestry`"), "{err}");
}
