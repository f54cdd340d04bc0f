//! `famsim eval`: bad folders are exit-2 errors naming them; the three
//! layouts are read with the relations they hold; the report is complete,
//! local and the same bytes every time; and, in gene space, on a procedural
//! dataset, similarity falls with kinship and the region shares match the
//! method's expectation (properties of the genetics, no tuned threshold).
//! No test here asserts a face-space number.

use serde_json::Value;
use std::path::Path;

mod common;

fn famsim_fails(args: &[&str]) -> String {
    let out = common::famsim(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "famsim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn metrics(report: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(report.join("metrics.json")).unwrap()).unwrap()
}

fn dataset(dir: &Path, families: &str) {
    common::famsim_ok(&[
        "dataset",
        "--spec",
        "scenarios/dataset_small.ron",
        "--out",
        dir.to_str().unwrap(),
        "--families",
        families,
        "--quiet",
    ]);
}

/// The flags that give `famsim eval` dlib's face descriptor and 5-point
/// model with SeetaFace's detector, or None with a note where dlib's models
/// are not installed (under CI=true `common` fails instead).
fn face_network() -> Option<Vec<String>> {
    let (Some(descriptor), Some(landmarks5)) =
        (common::descriptor_model(), common::landmarks5_model())
    else {
        eprintln!("skipped: dlib's face descriptor models are not installed");
        return None;
    };
    let detector = common::seeta_model();
    let flags = [
        ("--descriptor", descriptor),
        ("--landmarks5", landmarks5),
        ("--detector", detector),
    ];
    Some(
        flags
            .into_iter()
            .flat_map(|(flag, file)| [flag.to_string(), file.to_string_lossy().into_owned()])
            .collect(),
    )
}

#[test]
fn missing_empty_and_unrecognised_folders_are_exit_2_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing-here");
    let err = famsim_fails(&["eval", missing.to_str().unwrap()]);
    assert!(
        err.contains("nothing-here") && err.contains("no such folder"),
        "{err}"
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = famsim_fails(&["eval", empty.to_str().unwrap()]);
    assert!(err.contains("empty") && err.contains("is empty"), "{err}");

    let odd = tmp.path().join("odd");
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("notes.txt"), "hello").unwrap();
    let err = famsim_fails(&["eval", odd.to_str().unwrap()]);
    assert!(
        err.contains("odd") && err.contains("not a folder famsim can evaluate"),
        "{err}"
    );
    // Nothing was written into the folders.
    assert!(!empty.join("report").exists() && !odd.join("report").exists());

    // A sweep needs its spec; bad sweep values are named.
    let err = famsim_fails(&[
        "eval",
        "--sweep",
        "gamma=2",
        "--spec",
        "scenarios/dataset_small.ron",
    ]);
    assert!(err.contains("gamma=2"), "{err}");
}

/// The report of a procedural dataset, compared with a run: structure,
/// locality, determinism, and the gene-space properties.
#[test]
fn a_dataset_report_is_complete_local_and_shows_the_genetics() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("ds");
    dataset(&ds, "40");
    let run = tmp.path().join("run");
    common::famsim_ok(&[
        "run",
        "scenarios/three_gen.ron",
        "--out",
        run.to_str().unwrap(),
        "--size",
        "64",
        "--quiet",
    ]);
    let out = tmp.path().join("report");
    let summary = common::famsim_ok(&[
        "eval",
        ds.to_str().unwrap(),
        "--compare",
        run.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let summary = String::from_utf8_lossy(&summary.stdout);
    assert!(
        summary.contains("famsim dataset") && summary.contains("index.html"),
        "{summary}"
    );
    assert!(
        summary.lines().count() <= 25,
        "more than a screen:\n{summary}"
    );

    let m = metrics(&out);
    let folders = m["folders"].as_array().unwrap();
    assert_eq!(folders.len(), 2);
    let d = &folders[0];
    assert_eq!(d["layout"], "famsim dataset");
    assert_eq!(d["families"], 40);
    assert_eq!(folders[1]["layout"], "famsim run");
    // dataset_small has every relation type.
    for t in [
        "fs", "fd", "ms", "md", "bb", "ss", "sibs", "gfgs", "gfgd", "gmgs", "gmgd", "hsibs",
        "cousins",
    ] {
        assert!(d["kin_pairs"][t].as_u64().unwrap() > 0, "no {t} pairs");
    }
    // Faces: no network in this test, and the report says so instead of a number.
    assert_eq!(d["faces"]["available"], false);
    assert!(d["faces"]["figures"].is_null());
    assert!(d["faces"]["note"]
        .as_str()
        .unwrap()
        .contains("not computed"));

    // Gene space: similarity falls at every step down in kinship, and the
    // 95 % intervals of neighbouring levels do not even overlap.
    let genes = &d["genes"]["figures"];
    let levels = genes["resemblance"]["levels"].as_array().unwrap();
    let labels: Vec<&str> = levels
        .iter()
        .map(|l| l["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["1/4", "1/8", "1/16", "0"]);
    assert_eq!(genes["resemblance"]["monotone"], true);
    for w in levels.windows(2) {
        let upper_of_lower_level = w[1]["similarity"]["ci"][1].as_f64().unwrap();
        let lower_of_higher_level = w[0]["similarity"]["ci"][0].as_f64().unwrap();
        assert!(upper_of_lower_level < lower_of_higher_level, "{w:?}");
    }
    assert!(genes["resemblance"]["slope"].as_f64().unwrap() > 0.0);
    // Every type verified, held out on the dataset's splits.
    assert_eq!(genes["verification"]["types"].as_array().unwrap().len(), 13);
    assert!(d["held_out"].as_str().unwrap().contains("val split"));
    for t in genes["verification"]["types"].as_array().unwrap() {
        assert!(
            t["auc"].is_number() && t["roc"].as_array().unwrap().len() >= 2,
            "{t}"
        );
    }
    assert!(genes["tri_subject"]["triplets"].as_u64().unwrap() > 0);
    assert!(genes["diversity"]["sibships"].as_u64().unwrap() > 0);

    // Region shares: the method's expectation lies inside the observed
    // 95 % interval for father, mother, pool and the inherited share.
    let shares = &d["genes"]["region_shares"];
    for part in ["father", "mother", "pool", "inherited"] {
        let s = &shares[part];
        let e = s["expected"].as_f64().unwrap();
        let [lo, hi] = [0, 1].map(|i| s["observed"]["ci"][i].as_f64().unwrap());
        assert!(
            lo <= e && e <= hi,
            "{part}: expected {e} outside [{lo}, {hi}]"
        );
    }
    assert_eq!(shares["background_from_father"], 1.0);

    // The page: every plot inline, nothing fetched, both folders shown.
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.matches("<svg").count() >= 5, "plots missing");
    for fetch in ["src=", "href=", "<link", "url(", "@import", "<script"] {
        assert!(
            !html.contains(fetch),
            "index.html fetches something: {fetch}"
        );
    }
    assert!(html.contains(ds.to_str().unwrap()) && html.contains(run.to_str().unwrap()));

    // Same folders, same bytes.
    let again = tmp.path().join("again");
    common::famsim_ok(&[
        "eval",
        ds.to_str().unwrap(),
        "--compare",
        run.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--quiet",
    ]);
    for f in ["metrics.json", "index.html"] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(again.join(f)).unwrap(),
            "{f} differs between two evaluations"
        );
    }

    // The default report folder is DIR/report.
    common::famsim_ok(&["eval", run.to_str().unwrap(), "--quiet"]);
    assert!(run.join("report/metrics.json").is_file() && run.join("report/index.html").is_file());
}

/// A small Families-in-the-Wild folder made by hand: the relationship
/// matrix becomes FIW's relation types, parents become triplets, and there
/// is no gene space.
#[test]
fn a_families_in_the_wild_folder_is_read_from_its_relationship_matrices() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    common::famsim_ok(&[
        "run",
        "scenarios/two_parents_one_child.ron",
        "--out",
        run.to_str().unwrap(),
        "--size",
        "64",
        "--quiet",
    ]);
    let face = std::fs::read_dir(run.join("people"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // Father, mother, son, daughter; F0002 adds the son's and daughter's grandfather.
    let nuclear = "MID,1,2,3,4,Name,Gender\n\
                   1,0,5,4,4,anton,m\n\
                   2,5,0,4,4,berta,f\n\
                   3,1,1,0,2,carl,m\n\
                   4,1,1,2,0,dora,f\n";
    let with_grandfather = "MID,1,2,3,4,5,Name,Gender\n\
                            1,0,5,4,4,1,anton,male\n\
                            2,5,0,4,4,0,berta,female\n\
                            3,1,1,0,2,3,carl,male\n\
                            4,1,1,2,0,3,dora,female\n\
                            5,4,0,6,6,0,emil,male\n";
    let fiw = tmp.path().join("fiw");
    for (fid, table, members) in [("F0001", nuclear, 4), ("F0002", with_grandfather, 5)] {
        let family = fiw.join("FIDs").join(fid);
        std::fs::create_dir_all(&family).unwrap();
        std::fs::write(family.join("mid.csv"), table).unwrap();
        for mid in 1..=members {
            let member = family.join(format!("MID{mid}"));
            std::fs::create_dir_all(&member).unwrap();
            std::fs::copy(&face, member.join("P00001_face0.png")).unwrap();
            if mid == 1 {
                std::fs::copy(&face, member.join("P00002_face1.png")).unwrap();
            }
        }
    }
    let out = tmp.path().join("report");
    common::famsim_ok(&[
        "eval",
        fiw.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let m = metrics(&out);
    let f = &m["folders"][0];
    assert_eq!(f["layout"], "Families in the Wild");
    assert_eq!(
        (f["families"].as_u64(), f["people"].as_u64()),
        (Some(2), Some(9))
    );
    assert_eq!(f["images"], 11);
    let kin = f["kin_pairs"].as_object().unwrap();
    let counts: Vec<(&str, u64)> = kin
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(
        counts,
        [
            ("fd", 2),
            ("fs", 3),
            ("gfgd", 1),
            ("gfgs", 1),
            ("md", 2),
            ("ms", 2),
            ("sibs", 2)
        ],
        "emil is grandfather of carl and dora, and father of anton (fs)"
    );
    // Two families: folds of families; 4 triplets (carl and dora in each).
    assert_eq!(f["triplets"], 4);
    assert!(f["held_out"]
        .as_str()
        .unwrap()
        .contains("families dealt into two folds"));
    assert_eq!(f["genes"]["available"], false);
    assert!(f["genes"]["note"]
        .as_str()
        .unwrap()
        .contains("Families in the Wild"));

    // A matrix naming a member the table lacks: exit 2 with file and line.
    std::fs::write(
        fiw.join("FIDs/F0001/mid.csv"),
        "MID,1,2,9,Name,Gender\n1,0,5,4,anton,m\n2,5,0,4,berta,f\n",
    )
    .unwrap();
    let err = famsim_fails(&[
        "eval",
        fiw.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        err.contains("F0001/mid.csv:2") && err.contains("column 9"),
        "{err}"
    );
}

/// `--sweep` makes one dataset per grid point with `famsim dataset`'s code
/// and reports how resemblance and diversity move: with more of every
/// inherited region from the pool (gamma up), siblings share fewer genes.
#[test]
fn a_sweep_over_gamma_moves_sibling_diversity_the_way_the_genetics_says() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("sweep");
    common::famsim_ok(&[
        "eval",
        "--sweep",
        "gamma=0.1,0.9",
        "--spec",
        "scenarios/dataset_small.ron",
        "--families",
        "12",
        "--out",
        sweep.to_str().unwrap(),
        "--quiet",
    ]);
    for point in ["gamma0.1_eta0.4", "gamma0.9_eta0.4"] {
        assert!(sweep.join(point).join("DATASET.md").is_file(), "{point}");
        assert!(sweep.join(point).join("pairs.csv").is_file(), "{point}");
    }
    let m = metrics(&sweep.join("report"));
    let points = m["sweep"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(m["folders"].as_array().unwrap().len(), 2);
    let diversity = |p: &Value| p["genes"]["diversity"]["mean"].as_f64().unwrap();
    let parent_child = |p: &Value| p["genes"]["resemblance"][0][1].as_f64().unwrap();
    assert!(diversity(&points[1]) > diversity(&points[0]), "{points:?}");
    assert!(
        parent_child(&points[1]) < parent_child(&points[0]),
        "{points:?}"
    );
    // The children really were made with the swept gamma.
    let first_child_gamma = |dir: &str| {
        let manifest: Value = serde_json::from_slice(
            &std::fs::read(sweep.join(dir).join("FID0001/manifest.json")).unwrap(),
        )
        .unwrap();
        manifest["people"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|p| p["gamma"].as_f64())
            .unwrap()
    };
    assert!((first_child_gamma("gamma0.9_eta0.4") - 0.9).abs() < 1e-6);
    let html = std::fs::read_to_string(sweep.join("report/index.html")).unwrap();
    assert!(html.contains("id=\"sweep\""));
}

/// Face space with dlib's real face descriptor on real photos (the
/// descriptor's parity fixtures) in a Families-in-the-Wild folder: faces
/// are found and described, a grey image without a face is listed and
/// not fatal, and a second evaluation describes nothing again (the cache).
/// The relations are made up, so no face-space number is asserted.
#[test]
fn face_space_uses_the_face_descriptor_and_caches_it_per_image() {
    let Some(network) = face_network() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let grey = tmp.path().join("grey.png");
    std::fs::write(&grey, grey_png()).unwrap();
    let families = [
        (
            "F0001",
            [
                fixtures.join("descriptor/obama.png"),
                grey.clone(),
                fixtures.join("descriptor/obama2.png"),
            ],
        ),
        (
            "F0002",
            [
                fixtures.join("descriptor/biden.png"),
                fixtures.join("photo/astronaut_crop.png"),
                grey,
            ],
        ),
    ];
    let fiw = tmp.path().join("fiw");
    for (fid, photos) in &families {
        let family = fiw.join(fid);
        for (i, photo) in photos.iter().enumerate() {
            let member = family.join(format!("MID{}", i + 1));
            std::fs::create_dir_all(&member).unwrap();
            std::fs::copy(photo, member.join("P00001_face0.png")).unwrap();
        }
        std::fs::write(
            family.join("mid.csv"),
            "MID,1,2,3,Name,Gender\n1,0,5,4,a,m\n2,5,0,4,b,f\n3,1,1,0,c,m\n",
        )
        .unwrap();
    }
    let out = tmp.path().join("report");
    let cache = tmp.path().join("cache");
    let eval = || {
        let mut args = vec![
            "eval",
            fiw.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
            "--batch",
            "2",
            "--quiet",
        ];
        args.extend(network.iter().map(String::as_str));
        let o = common::famsim_ok(&args);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let first = eval();
    // The two grey images have the same bytes: the second (a later batch) is a cache hit.
    assert!(
        first.contains("images: 5 described, 1 from the cache, 2 without a face"),
        "{first}"
    );
    let m = metrics(&out);
    let faces = &m["folders"][0]["faces"];
    assert_eq!(faces["available"], true);
    assert_eq!(faces["people_with_face"], 4);
    let no_face: Vec<&str> = faces["no_face"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        no_face,
        ["F0001/MID2/P00001_face0.png", "F0002/MID3/P00001_face0.png"]
    );
    let fig = &faces["figures"];
    assert!(fig["verification"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["relation"] == "fs"));
    assert!(faces["network"].as_str().unwrap().contains("dlib"));
    let bytes = std::fs::read(out.join("metrics.json")).unwrap();

    let second = eval();
    assert!(
        second.contains("images: 0 described, 6 from the cache, 2 without a face"),
        "{second}"
    );
    assert!(
        std::fs::read(out.join("metrics.json")).unwrap() == bytes,
        "the cache changed a figure"
    );
}

/// A 64 × 64 mid-grey PNG: no face in it.
fn grey_png() -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, 64, 64);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[128u8; 64 * 64 * 3]).unwrap();
    }
    bytes
}

#[test]
fn a_missing_face_network_file_is_exit_2_naming_its_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("ds");
    dataset(&ds, "2");
    let err = famsim_fails(&[
        "eval",
        ds.to_str().unwrap(),
        "--descriptor",
        "/nonexistent/dlib_face_recognition_resnet_model_v1.dat",
        "--landmarks5",
        "x.dat",
        "--detector",
        "y.bin",
    ]);
    assert!(
        err.contains("--descriptor") && err.contains("no such file"),
        "{err}"
    );
    let err = famsim_fails(&["eval", ds.to_str().unwrap(), "--landmarks5", "x.dat"]);
    assert!(err.contains("--descriptor is missing"), "{err}");
}

/// The cache file's records (key → descriptor, None: no face), read by the
/// format its module documents.
fn cached_descriptors(cache: &Path) -> std::collections::HashMap<Vec<u8>, Option<Vec<u8>>> {
    let files: Vec<_> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one network, one cache file: {files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    let magic = b"famsim-descriptors v1\n";
    assert!(bytes.starts_with(magic));
    let dim = u32::from_le_bytes(bytes[magic.len()..magic.len() + 4].try_into().unwrap()) as usize;
    let mut at = magic.len() + 4;
    let mut records = std::collections::HashMap::new();
    while at < bytes.len() {
        let key = bytes[at..at + 32].to_vec();
        let found = bytes[at + 32] == 1;
        at += 33;
        let value = found.then(|| bytes[at..at + 4 * dim].to_vec());
        if found {
            at += 4 * dim;
        }
        records.insert(key, value);
    }
    records
}

/// A phone photo stored sideways with an EXIF orientation tag is described
/// upright, through the photo pipeline's own reader: its descriptor is, bit
/// for bit, that of a PNG holding the same pixels turned upright by hand.
/// (The fixture is tools/fixtures/align_fixture.py's: the astronaut crop
/// stored a quarter turn anticlockwise, with EXIF orientation 6.)
#[test]
fn a_photo_stored_sideways_is_described_upright_by_its_exif_tag() {
    let Some(network) = face_network() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let sideways = fixtures.join("photo/astronaut_crop_exif6.jpg");
    // The stored pixels (no EXIF applied), turned clockwise by hand as
    // orientation 6 says: displayed (x, y) is stored (y, h − 1 − x).
    let stored = famsim::io::photo::read_photo(&sideways).unwrap();
    let (w, h) = (stored.width as usize, stored.height as usize);
    assert!(w > h, "the fixture is stored sideways: {w} × {h}");
    let mut upright = Vec::with_capacity(w * h * 3);
    for y in 0..w {
        for x in 0..h {
            let i = (y + (h - 1 - x) * w) * 3;
            upright.extend_from_slice(&stored.rgb[i..i + 3]);
        }
    }
    let mut upright_png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut upright_png, h as u32, w as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()
            .unwrap()
            .write_image_data(&upright)
            .unwrap();
    }

    let family = tmp.path().join("fiw/F0001");
    for (mid, name, bytes) in [
        (1, "P00001_face0.jpg", std::fs::read(&sideways).unwrap()),
        (2, "P00001_face0.png", upright_png.clone()),
        (
            3,
            "P00001_face0.png",
            std::fs::read(fixtures.join("descriptor/obama.png")).unwrap(),
        ),
    ] {
        let member = family.join(format!("MID{mid}"));
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(member.join(name), bytes).unwrap();
    }
    std::fs::write(
        family.join("mid.csv"),
        "MID,1,2,3,Name,Gender\n1,0,5,4,a,m\n2,5,0,4,b,f\n3,1,1,0,c,m\n",
    )
    .unwrap();
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("report");
    let fiw = tmp.path().join("fiw");
    let mut args = vec![
        "eval",
        fiw.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--cache",
        cache.to_str().unwrap(),
        "--quiet",
    ];
    args.extend(network.iter().map(String::as_str));
    common::famsim_ok(&args);
    let faces = &metrics(&out)["folders"][0]["faces"];
    assert_eq!(faces["no_face"].as_array().unwrap().len(), 0, "{faces}");
    assert_eq!(faces["people_with_face"], 3);

    let records = cached_descriptors(&cache);
    let key = |bytes: &[u8]| famsim::eval::cache::key_of(bytes).to_vec();
    let from_jpeg = records[&key(&std::fs::read(&sideways).unwrap())].as_ref();
    let from_png = records[&key(&upright_png)].as_ref();
    assert!(from_png.is_some(), "no face in the upright astronaut");
    assert!(
        from_jpeg == from_png,
        "the sideways JPEG was not described upright"
    );
}

/// The report is the same bytes whether the descriptors are computed by 1
/// worker, 3 worker threads, or 2 processes × 2 workers on loopback (one
/// batch per image, so every worker has some; each run from an empty
/// cache, so each describes everything). A second cluster run finds all in
/// the cache that process 0 wrote.
#[test]
fn workers_and_processes_give_the_report_of_one_worker() {
    let Some(network) = face_network() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let fiw = tmp.path().join("fiw");
    for (fid, photos) in [
        (
            "F0001",
            [
                "descriptor/obama.png",
                "photo/astronaut_crop_exif6.jpg",
                "descriptor/obama2.png",
            ],
        ),
        (
            "F0002",
            [
                "descriptor/biden.png",
                "photo/astronaut_crop.png",
                "photo/lfw_1.png",
            ],
        ),
    ] {
        let family = fiw.join(fid);
        for (i, photo) in photos.iter().enumerate() {
            let member = family.join(format!("MID{}", i + 1));
            std::fs::create_dir_all(&member).unwrap();
            let ext = Path::new(photo).extension().unwrap().to_str().unwrap();
            std::fs::copy(fixtures.join(photo), member.join(format!("P1.{ext}"))).unwrap();
        }
        std::fs::write(
            family.join("mid.csv"),
            "MID,1,2,3,Name,Gender\n1,0,5,4,a,m\n2,5,0,4,b,f\n3,1,1,0,c,m\n",
        )
        .unwrap();
    }
    let p = |name: &str| tmp.path().join(name).to_string_lossy().into_owned();
    let args = |name: &str, extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "eval",
            &p("fiw"),
            "--out",
            &p(&format!("{name}-report")),
            "--cache",
            &p(&format!("{name}-cache")),
            "--batch",
            "1",
            "--quiet",
        ]
        .map(String::from)
        .to_vec();
        a.extend(network.iter().cloned());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |a: Vec<String>| {
        let o = common::famsim_ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let report =
        |name: &str| std::fs::read(tmp.path().join(format!("{name}-report/metrics.json"))).unwrap();

    let one = run(args("one", &[]));
    assert!(
        one.contains("images: 6 described, 0 from the cache, 1 without a face"),
        "{one}"
    );
    run(args("three", &["--workers", "3"]));
    assert!(
        report("three") == report("one"),
        "3 workers changed the report"
    );

    let hostfile = tmp.path().join("hosts");
    let cluster = || {
        common::run_cluster(&hostfile, |i, hosts| {
            let mut a = args("cluster", &["--workers", "2"]);
            a.extend(common::cluster_flags(i, hosts));
            a
        })
    };
    cluster();
    assert!(
        report("cluster") == report("one"),
        "2 processes × 2 workers changed the report"
    );
    // Process 0 wrote every descriptor to the cache: a second run finds
    // them all there, adds nothing to it and reports the same.
    let cache = |name: &str| common::tree(&tmp.path().join(format!("{name}-cache")));
    let written = cache("cluster");
    assert_eq!(
        cached_descriptors(&tmp.path().join("cluster-cache")).len(),
        6
    );
    std::fs::remove_file(tmp.path().join("cluster-report/metrics.json")).unwrap();
    cluster();
    assert!(
        cache("cluster") == written,
        "the second run described again"
    );
    assert!(report("cluster") == report("one"));
}
