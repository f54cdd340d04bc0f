//! `famsim child` on the tiny neural fixtures: it speaks the scenario's words
//! (`--sex`, `--ancestry`), still takes the old ones (`--gender`, `--race`)
//! with a note on stderr, and makes the very child `famsim run` makes from the
//! same parents, seed and id, since both go through `engine::reproduce`.

use famsim::genetics::{GenePool, GeneSample, GeneShape, Genome, Inheritance, Region};
use famsim::model::{FaceModel, Image, Latent, Subject};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn famsim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_famsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("famsim starts")
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    let out = famsim(dir, args);
    assert!(
        out.status.success(),
        "famsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Imports the tiny generator, mappings and pool into `dir/weights` and
/// copies the parents' latents beside it.
fn setup(dir: &Path) {
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    let args = [
        "weights".to_string(),
        "import".into(),
        "--stylegan2".into(),
        s(fixture("stylegan2/tiny.pt")),
        "--stylegene".into(),
        s(fixture("neural/mappings.ckpt")),
        "--gene-pool".into(),
        s(fixture("neural/gene_pool.pkl")),
        "--out".into(),
        "weights".into(),
    ];
    ok(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    for f in ["father.npy", "mother.npy"] {
        std::fs::copy(fixture(&format!("neural/{f}")), dir.join(f)).unwrap();
    }
}

const PARENTS: [&str; 6] = [
    "--weights",
    "weights",
    "--father",
    "father.npy",
    "--mother",
    "mother.npy",
];

fn child(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let args = [
        &["child"][..],
        &PARENTS[..],
        &["--age", "3-9", "--seed", "3", "--out", out],
        extra,
    ]
    .concat();
    ok(dir, &args)
}

#[test]
fn sex_and_ancestry_are_the_scenario_words_and_the_old_spellings_still_work() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    let new = child(dir, "new", &["--sex", "female", "--ancestry", "White"]);
    let old = child(dir, "old", &["--gender", "female", "--race", "White"]);
    for f in ["child.png", "child.npy"] {
        assert!(
            std::fs::read(dir.join("new").join(f)).unwrap()
                == std::fs::read(dir.join("old").join(f)).unwrap(),
            "{f}: old and new spellings made different children"
        );
    }
    let said = |o: &Output| String::from_utf8_lossy(&o.stdout).replace("old/", "new/");
    assert_eq!(said(&new), said(&old));
    assert!(
        said(&new).starts_with("child (3-9 female): "),
        "{}",
        said(&new)
    );
    assert!(!stderr(&new).contains("deprecated"), "{}", stderr(&new));
    let notes = stderr(&old);
    assert!(
        notes.contains("--gender is deprecated; use --sex"),
        "{notes}"
    );
    assert!(
        notes.contains("--race is deprecated; use --ancestry"),
        "{notes}"
    );

    // `--sex` alone is enough; ancestry defaults to all (the pool has White only).
    let plain = child(dir, "plain", &["--sex", "female"]);
    assert!(
        String::from_utf8_lossy(&plain.stdout).contains("(3-9-female-White)"),
        "{}",
        String::from_utf8_lossy(&plain.stdout)
    );

    // Both spellings at once, or neither, is a usage error (exit 2).
    for (extra, says) in [
        (
            &["--sex", "female", "--gender", "female"][..],
            "cannot be used with",
        ),
        (
            &["--ancestry", "White", "--race", "White", "--sex", "female"][..],
            "cannot be used with",
        ),
        (&[][..], "--sex <SEX>"),
    ] {
        let args = [&["child"][..], &PARENTS[..], &["--age", "3-9"], extra].concat();
        let out = famsim(dir, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    // The old spellings stay out of --help.
    let help = String::from_utf8_lossy(&ok(dir, &["child", "--help"]).stdout).into_owned();
    assert!(
        help.contains("--sex <SEX>") && help.contains("--ancestry <ANCESTRY>"),
        "{help}"
    );
    assert!(
        !help.contains("--gender") && !help.contains("--race"),
        "{help}"
    );
}

/// A face model that remembers every latent it renders, and otherwise is
/// the model it wraps.
struct Recorder {
    inner: Box<dyn FaceModel>,
    rendered: Mutex<Vec<(Subject, Latent)>>,
}

impl FaceModel for Recorder {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn gene_shape(&self) -> GeneShape {
        self.inner.gene_shape()
    }
    fn fine_layer_start(&self) -> usize {
        self.inner.fine_layer_start()
    }
    fn image_size(&self) -> u32 {
        self.inner.image_size()
    }
    fn preferred_batch(&self) -> usize {
        self.inner.preferred_batch()
    }
    fn gene_pool(&self) -> &GenePool {
        self.inner.gene_pool()
    }
    fn encode(&self, latents: &[&Latent]) -> famsim::Result<Vec<Genome>> {
        self.inner.encode(latents)
    }
    fn decode(&self, genes: &[&GeneSample]) -> famsim::Result<Vec<Latent>> {
        self.inner.decode(genes)
    }
    fn latent_from_rng(&self, rng: &mut ChaCha8Rng, subject: Subject) -> famsim::Result<Latent> {
        self.inner.latent_from_rng(rng, subject)
    }
    fn render(&self, latents: &[&Latent], subjects: &[Subject]) -> famsim::Result<Vec<Image>> {
        let mut rendered = self.rendered.lock().unwrap();
        for (l, s) in latents.iter().zip(subjects) {
            rendered.push((*s, (*l).clone()));
        }
        self.inner.render(latents, subjects)
    }
    fn inherit_fine_layers(
        &self,
        child: &mut Latent,
        father: &Latent,
        mother: &Latent,
        pins: &BTreeMap<Region, Inheritance>,
    ) {
        self.inner.inherit_fine_layers(child, father, mother, pins)
    }
    fn load_latent(&self, path: &Path) -> famsim::Result<Latent> {
        self.inner.load_latent(path)
    }
    fn latent_from_photo(&self, path: &Path) -> famsim::Result<Latent> {
        self.inner.latent_from_photo(path)
    }
}

#[test]
fn famsim_child_makes_the_child_famsim_run_makes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    // The child's id is `famsim child`'s stream name; the parents are the
    // same latent files, so both paths must draw the same genes.
    let scenario = dir.join("family.ron");
    // Absolute paths: relative ones would first be looked up from the
    // current folder, which holds the repository's own `weights/`.
    let at = |f: &str| format!("{:?}", dir.join(f).to_str().unwrap());
    std::fs::write(
        &scenario,
        format!(
            r#"(
    name: "child parity",
    seed: 3,
    model: StyleGene(weights: {}, batch: 2),
    image_size: 64,
    people: [
        (id: "dad", sex: Male, age: "30-39", ancestry: Some(White), genes: Some(Latent({}))),
        (id: "mum", sex: Female, age: "30-39", ancestry: Some(White), genes: Some(Latent({}))),
        (id: "child", sex: Female, age: "3-9", father: Some("dad"), mother: Some("mum")),
    ],
)
"#,
            at("weights"),
            at("father.npy"),
            at("mother.npy")
        ),
    )
    .unwrap();
    let loaded = famsim::scenario::load(&scenario).unwrap();
    let model = Recorder {
        inner: famsim::model::build(&loaded.file.model, loaded.file.image_size, &scenario).unwrap(),
        rendered: Mutex::new(Vec::new()),
    };
    let opts = famsim::engine::RunOptions {
        out_dir: dir.join("run"),
        seed: loaded.file.seed,
        scenario_name: loaded.file.name.clone(),
        threads: Some(1),
        resume: false,
        progress: famsim::engine::ProgressReport::Hidden,
        image_name: famsim::engine::people_dir_images(),
        cluster: None,
    };
    famsim::engine::simulate(&loaded.pedigree, &model, &opts).unwrap();
    let rendered = model.rendered.into_inner().unwrap();
    let kids: Vec<&Latent> = rendered
        .iter()
        .filter(|(s, _)| s.age.to_string() == "3-9")
        .map(|(_, l)| l)
        .collect();
    assert_eq!(kids.len(), 1);

    child(dir, "cli", &["--sex", "female", "--ancestry", "White"]);
    let cli = famsim::io::npy::read(&dir.join("cli/child.npy")).unwrap();
    assert_eq!(cli.shape, vec![1, kids[0].layers, kids[0].width]);
    assert!(
        cli.data == kids[0].data,
        "famsim child and famsim run made different children of the same parents"
    );
    // And the coarse layers differ from both parents' (the genes were drawn,
    // not copied), so the comparison above compares something.
    let father = famsim::io::npy::read(&dir.join("father.npy")).unwrap();
    assert!(cli.data[..kids[0].width] != father.data[..kids[0].width]);
}
