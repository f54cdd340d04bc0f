//! A run spread over timely workers writes the same files as one worker:
//! 4 threads, 2 processes × 2 threads over TCP on localhost (one shared
//! directory, or one directory per process joined by `merge_run_dirs`).
//! Killing one process stops the other with an error naming it, and a rerun
//! with `--resume` completes the run with every file as a clean run has it.
//!
//! The processes are this test binary started again on the ignored test
//! `cluster_process`, configured through environment variables.
//!
//! The face model here is a small painter written for these tests, so that
//! they exercise the engine's scheduling and nothing else: its genes,
//! latents and images are plain functions of their inputs.

use famsim::attributes::{AgeGroup, Ancestry, PoolKey, Sex};
use famsim::engine::merge::merge_run_dirs;
use famsim::engine::{
    simulate, ClusterConfig, ModelFactory, ProgressReport, RunOptions, WorkerSlot,
};
use famsim::exports::write_run_outputs;
use famsim::genetics::rng::{stream, Purpose};
use famsim::genetics::{GenePool, GeneSample, GeneShape, Genome, REGION_COUNT};
use famsim::model::{FaceModel, Image, Latent, Subject};
use famsim::Result;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{
    assert_same_tree, cluster_flags, famsim, famsim_ok, finished_files, free_ports,
    lose_one_process, many_families, port_taken, run_cluster,
};

const SHAPE: GeneShape = GeneShape {
    layers: 4,
    width: 6,
};
const SIZE: u32 = 64;

/// A painter whose every output is a fixed function of its input.
struct TestPainter {
    pool: GenePool,
    /// Pause per rendered batch, so a test can kill a process mid-run.
    delay: Duration,
}

impl TestPainter {
    fn new(delay: Duration) -> TestPainter {
        let mut pool = GenePool::new();
        for age in AgeGroup::ALL {
            // No entries for babies: their pool draws fall back to the
            // nearest age group with a warning, which the manifest keeps.
            if age == AgeGroup::ALL[0] {
                continue;
            }
            for sex in Sex::ALL {
                for ancestry in Ancestry::ALL {
                    let key = PoolKey { age, sex, ancestry };
                    for k in 0..2 {
                        let mut rng = stream(k, &key.to_string(), Purpose::Model);
                        let mut g = Genome::zeros(SHAPE);
                        for v in g.mean.iter_mut() {
                            *v = rng.sample(StandardNormal);
                        }
                        for v in g.logvar.iter_mut() {
                            *v = -1.0 - rng.random::<f32>();
                        }
                        pool.insert(key, g);
                    }
                }
            }
        }
        TestPainter { pool, delay }
    }
}

impl FaceModel for TestPainter {
    fn describe(&self) -> String {
        "test-painter".into()
    }
    fn gene_shape(&self) -> GeneShape {
        SHAPE
    }
    fn fine_layer_start(&self) -> usize {
        2
    }
    fn image_size(&self) -> u32 {
        SIZE
    }
    fn preferred_batch(&self) -> usize {
        3
    }
    fn gene_pool(&self) -> &GenePool {
        &self.pool
    }
    /// Every region's mean is the latent; the variance is small.
    fn encode(&self, latents: &[&Latent]) -> Result<Vec<Genome>> {
        Ok(latents
            .iter()
            .map(|l| {
                let mut g = Genome::zeros(SHAPE);
                for layer in 0..SHAPE.layers {
                    for r in 0..REGION_COUNT {
                        let o = (layer * REGION_COUNT + r) * SHAPE.width;
                        g.mean[o..o + SHAPE.width].copy_from_slice(l.layer(layer));
                        g.logvar[o..o + SHAPE.width].fill(-3.0);
                    }
                }
                g
            })
            .collect())
    }
    /// A layer of the latent is a weighted sum of that layer's regions.
    fn decode(&self, genes: &[&GeneSample]) -> Result<Vec<Latent>> {
        Ok(genes
            .iter()
            .map(|g| {
                let mut l = Latent::zeros(SHAPE.layers, SHAPE.width);
                for layer in 0..SHAPE.layers {
                    for r in 0..REGION_COUNT {
                        let o = (layer * REGION_COUNT + r) * SHAPE.width;
                        for w in 0..SHAPE.width {
                            l.data[layer * SHAPE.width + w] +=
                                g.values[o + w] * (1.0 + r as f32) / REGION_COUNT as f32;
                        }
                    }
                }
                l
            })
            .collect())
    }
    fn latent_from_rng(&self, rng: &mut ChaCha8Rng, _subject: Subject) -> Result<Latent> {
        let mut l = Latent::zeros(SHAPE.layers, SHAPE.width);
        for v in l.data.iter_mut() {
            *v = rng.sample(StandardNormal);
        }
        Ok(l)
    }
    /// Horizontal bands coloured by the latent, shaded by position.
    fn render(&self, latents: &[&Latent], subjects: &[Subject]) -> Result<Vec<Image>> {
        std::thread::sleep(self.delay);
        Ok(latents
            .iter()
            .zip(subjects)
            .map(|(l, s)| {
                let mut rgb = Vec::with_capacity((SIZE * SIZE * 3) as usize);
                for y in 0..SIZE {
                    for x in 0..SIZE {
                        let band =
                            (y as usize * l.data.len() / SIZE as usize).min(l.data.len() - 1);
                        let v = l.data[band];
                        for c in 0..3u32 {
                            let shade = (v * 40.0 + 128.0 + (x * (c + 1)) as f32 * 0.5
                                - s.age.rank() as f32 * 3.0)
                                .clamp(0.0, 255.0);
                            rgb.push(shade as u8);
                        }
                    }
                }
                Image {
                    width: SIZE,
                    height: SIZE,
                    rgb,
                }
            })
            .collect())
    }
}

/// Three families of three generations (ten people each) with marriages
/// inside each family line, a seed founder, and babies whose pool draws warn.
fn scenario_text() -> String {
    let mut people = String::new();
    let mut add = |id: &str, sex: &str, age: &str, extra: &str| {
        people.push_str(&format!(
            "(id: \"{id}\", sex: {sex}, age: \"{age}\"{extra}),\n"
        ));
    };
    let ancestries = ["White", "EastAsian", "Black"];
    for (f, anc) in ancestries.iter().enumerate() {
        let founder = |extra: &str| format!(", ancestry: Some({anc}){extra}");
        add(&format!("f{f}_gf1"), "Male", "60-69", &founder(""));
        add(&format!("f{f}_gm1"), "Female", "60-69", &founder(""));
        let seed = if f == 1 {
            ", genes: Some(Seed(11))"
        } else {
            ""
        };
        add(&format!("f{f}_gf2"), "Male", "60-69", &founder(seed));
        add(&format!("f{f}_gm2"), "Female", "60-69", &founder(""));
        let parents =
            |a: &str, b: &str| format!(", father: Some(\"f{f}_{a}\"), mother: Some(\"f{f}_{b}\")");
        add(
            &format!("f{f}_son"),
            "Male",
            "30-39",
            &parents("gf1", "gm1"),
        );
        add(
            &format!("f{f}_aunt"),
            "Female",
            "30-39",
            &parents("gf1", "gm1"),
        );
        add(
            &format!("f{f}_dau"),
            "Female",
            "30-39",
            &parents("gf2", "gm2"),
        );
        add(
            &format!("f{f}_uncle"),
            "Male",
            "40-49",
            &parents("gf2", "gm2"),
        );
        add(
            &format!("f{f}_kid1"),
            "Female",
            "3-9",
            &parents("son", "dau"),
        );
        add(&format!("f{f}_kid2"), "Male", "0-2", &parents("son", "dau"));
    }
    format!("(name: \"cluster test\", seed: 42, image_size: {SIZE}, people: [\n{people}])\n")
}

fn write_scenario(dir: &Path) -> PathBuf {
    let path = dir.join("families.ron");
    std::fs::write(&path, scenario_text()).unwrap();
    path
}

fn painter_factory(delay: Duration) -> ModelFactory {
    let model: Arc<dyn FaceModel> = Arc::new(TestPainter::new(delay));
    Arc::new(move |_: &WorkerSlot| Ok(Arc::clone(&model)))
}

/// One run into `out`: the engine, then the run files on the leader.
/// Returns (leader, rendered, skipped).
fn run(
    scenario: &Path,
    out: &Path,
    cluster: Option<ClusterConfig>,
    resume: bool,
    delay: Duration,
) -> Result<(bool, usize, usize)> {
    let loaded = famsim::scenario::load(scenario)?;
    let model = TestPainter::new(delay);
    let opts = RunOptions {
        out_dir: out.to_path_buf(),
        seed: loaded.file.seed,
        scenario_name: loaded.file.name.clone(),
        threads: Some(2),
        resume,
        progress: ProgressReport::Hidden,
        image_name: famsim::engine::people_dir_images(),
        cluster,
    };
    let report = simulate(&loaded.pedigree, &model, &opts)?;
    if report.leader {
        write_run_outputs(&report.manifest, out)?;
    }
    Ok((report.leader, report.rendered, report.skipped))
}

/// The reference: one worker, no cluster.
fn single_worker_run(dir: &Path, scenario: &Path) -> PathBuf {
    let out = dir.join("single");
    run(scenario, &out, None, false, Duration::ZERO).unwrap();
    let people = std::fs::read_dir(out.join("people")).unwrap().count();
    assert_eq!(people, 30);
    out
}

#[test]
fn four_threads_write_the_same_files_as_one_worker() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path());
    let single = single_worker_run(dir.path(), &scenario);
    let manifest = std::fs::read_to_string(single.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("nearest age group"),
        "the scenario should raise pool warnings so their order is checked"
    );

    let out = dir.path().join("threads");
    let cluster = ClusterConfig::new(4, 1, 0, Vec::new(), painter_factory(Duration::ZERO)).unwrap();
    let (leader, rendered, skipped) =
        run(&scenario, &out, Some(cluster), false, Duration::ZERO).unwrap();
    assert!(leader);
    assert_eq!((rendered, skipped), (30, 0));
    assert_same_tree(&single, &out);
}

/// Starts process `index` of a two-process cluster.
fn start_process(
    scenario: &Path,
    hosts: &[String],
    index: usize,
    out: &Path,
    resume: bool,
    delay_ms: u64,
) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "cluster_process", "--nocapture"])
        .env("FAMSIM_TEST_SCENARIO", scenario)
        .env("FAMSIM_TEST_HOSTS", hosts.join(","))
        .env("FAMSIM_TEST_PROCESS", index.to_string())
        .env("FAMSIM_TEST_OUT", out)
        .env("FAMSIM_TEST_RESUME", if resume { "1" } else { "0" })
        .env("FAMSIM_TEST_DELAY_MS", delay_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a process with a deadline; returns (success, stdout + stderr).
fn finish(mut child: Child, limit: Duration) -> (bool, String) {
    let start = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            let out = child.wait_with_output().unwrap();
            panic!(
                "process still running after {limit:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && text.contains("cluster process done"),
        text,
    )
}

fn run_two_processes(scenario: &Path, outs: [&Path; 2], resume: bool) -> Vec<String> {
    for _attempt in 0..3 {
        let hosts = free_ports();
        let children: Vec<Child> = (0..2)
            .map(|i| start_process(scenario, &hosts, i, outs[i], resume, 0))
            .collect();
        let results: Vec<(bool, String)> = children
            .into_iter()
            .map(|c| finish(c, Duration::from_secs(120)))
            .collect();
        if results.iter().all(|(ok, _)| *ok) {
            return results.into_iter().map(|(_, text)| text).collect();
        }
        if !port_taken(results.iter().map(|(_, text)| text.as_str())) {
            panic!(
                "a cluster process failed:\n{}\n{}",
                results[0].1, results[1].1
            );
        }
    }
    panic!("no free ports in three attempts");
}

#[test]
fn two_processes_write_the_same_files_as_one_worker() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path());
    let single = single_worker_run(dir.path(), &scenario);

    // One shared output directory.
    let shared = dir.path().join("shared");
    run_two_processes(&scenario, [&shared, &shared], false);
    assert_same_tree(&single, &shared);

    // One directory per process, joined afterwards.
    let (a, b) = (dir.path().join("p0"), dir.path().join("p1"));
    run_two_processes(&scenario, [&a, &b], false);
    assert!(
        std::fs::read_dir(b.join("people")).unwrap().count() > 0,
        "process 1 rendered nobody; the test would not show a merge"
    );
    let merged = dir.path().join("merged");
    let report = merge_run_dirs(&[a, b], &merged).unwrap();
    assert_eq!(report.people, 30);
    assert_same_tree(&single, &merged);
}

#[test]
fn a_killed_process_stops_the_other_and_resume_completes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path());
    let single = single_worker_run(dir.path(), &scenario);
    let out = dir.path().join("killed");
    let hosts = free_ports();
    // Slow rendering (per batch of 3) so the run is still going when killed.
    let p0 = start_process(&scenario, &hosts, 0, &out, false, 150);
    let mut p1 = start_process(&scenario, &hosts, 1, &out, false, 150);
    let start = Instant::now();
    loop {
        let images = std::fs::read_dir(out.join("people"))
            .map(|d| d.count())
            .unwrap_or(0);
        if images >= 4 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    p1.kill().unwrap();
    p1.wait().unwrap();
    let killed_at = Instant::now();
    let (ok, text) = finish(p0, Duration::from_secs(20));
    assert!(
        !ok,
        "process 0 finished although process 1 was killed:\n{text}"
    );
    assert!(
        killed_at.elapsed() < Duration::from_secs(10),
        "process 0 took {:?} to stop",
        killed_at.elapsed()
    );
    assert!(
        text.contains(&format!("process 1 ({})", hosts[1])),
        "the error does not name the lost process:\n{text}"
    );
    assert!(!out.join("manifest.json").exists());
    // Complete images only: the killed process may have left a temporary.
    let kept = std::fs::read_dir(out.join("people"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert!(kept < 30, "the whole run finished before the kill");

    let texts = run_two_processes(&scenario, [&out, &out], true);
    let leader = &texts[0];
    assert!(
        leader.contains(&format!("skipped={kept}"))
            && leader.contains(&format!("rendered={}", 30 - kept)),
        "resume should keep the {kept} images already written:\n{leader}"
    );
    assert_same_tree(&single, &out);
}

/// One process of the two-process tests (started by them; ignored otherwise).
#[test]
#[ignore = "a process of the cluster tests, started by them"]
fn cluster_process() {
    let var = |name: &str| std::env::var(name).unwrap();
    let hosts: Vec<String> = var("FAMSIM_TEST_HOSTS")
        .split(',')
        .map(String::from)
        .collect();
    let process: usize = var("FAMSIM_TEST_PROCESS").parse().unwrap();
    let delay = Duration::from_millis(var("FAMSIM_TEST_DELAY_MS").parse().unwrap());
    let mut cluster =
        ClusterConfig::new(2, hosts.len(), process, hosts, painter_factory(delay)).unwrap();
    // When a port was taken between `free_ports` and the bind, the peer
    // gives up soon enough for the caller's retry (not after the default 300 s).
    cluster.connect_timeout = Duration::from_secs(20);
    let scenario = PathBuf::from(var("FAMSIM_TEST_SCENARIO"));
    let out = PathBuf::from(var("FAMSIM_TEST_OUT"));
    match run(
        &scenario,
        &out,
        Some(cluster),
        var("FAMSIM_TEST_RESUME") == "1",
        delay,
    ) {
        Ok((leader, rendered, skipped)) => {
            println!("leader={leader} rendered={rendered} skipped={skipped}");
            println!("cluster process done");
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

/// Drops the run stamp, which names the scenario file, not the run's content.
fn without_stamp(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_file(dir.join(".famsim-run.json"));
    dir.to_path_buf()
}

#[test]
fn famsim_run_writes_the_same_files_on_1_worker_4_threads_and_2_processes() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let scenario = "scenarios/four_gen_cousins.ron";
    let common = ["--size", "64", "--quiet", "--threads", "2"];
    let with = |out: &str, more: &[&str]| -> Vec<String> {
        let mut args = vec![
            "run".to_string(),
            scenario.to_string(),
            "--out".into(),
            out.into(),
        ];
        args.extend(common.iter().map(|s| s.to_string()));
        args.extend(more.iter().map(|s| s.to_string()));
        args
    };
    let one = path("one");
    famsim_ok(
        &with(&one, &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let threads = path("threads");
    famsim_ok(
        &with(&threads, &["--workers", "4"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );

    let hostfile = dir.path().join("hosts");
    let procs = path("procs");
    run_cluster(&hostfile, |i, hosts| {
        let flags = [
            vec!["--workers".to_string(), "2".into()],
            cluster_flags(i, hosts),
        ]
        .concat();
        with(
            &procs,
            &flags.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    });
    let one = without_stamp(Path::new(&one));
    assert_same_tree(&one, &without_stamp(Path::new(&threads)));
    assert_same_tree(&one, &without_stamp(Path::new(&procs)));
}

#[test]
fn famsim_run_rejects_inconsistent_cluster_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_string_lossy().into_owned();
    let cases: [(&[&str], &str); 4] = [
        (&["--workers", "0"], "--workers must be at least 1"),
        (&["--processes", "2", "--process", "0"], "needs --hostfile"),
        (
            &[
                "--processes",
                "2",
                "--process",
                "2",
                "--hostfile",
                "Cargo.toml",
            ],
            "is not host:port",
        ),
        (&["--process", "1"], "--process needs --processes"),
    ];
    for (flags, message) in cases {
        let mut args = vec!["run", "scenarios/three_gen.ron", "--out", &out, "--quiet"];
        args.extend_from_slice(flags);
        let result = famsim(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
    }
}

#[test]
fn a_process_that_never_joins_is_named_after_the_connect_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = free_ports();
    let hostfile = dir.path().join("hosts");
    std::fs::write(&hostfile, hosts.join("\n")).unwrap();
    let out = dir.path().join("out");
    let started = Instant::now();
    let result = famsim(&[
        "run",
        "scenarios/three_gen.ron",
        "--out",
        &out.to_string_lossy(),
        "--quiet",
        "--processes",
        "2",
        "--process",
        "0",
        "--hostfile",
        &hostfile.to_string_lossy(),
        "--connect-timeout",
        "1",
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("process 1 ({}) did not join within 1s", hosts[1])),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// `famsim run` on two processes in one folder: whichever process is
/// killed mid-run (the leader, process 0, or the other), the survivor stops
/// with an error naming it, nothing is left half-written, and rerunning both
/// with `--resume` draws just the missing faces and gives the bytes of a
/// one-process run.
#[test]
fn famsim_run_cluster_survives_losing_either_process() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = many_families(dir.path(), 40);
    let total = 200;
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let scenario = scenario.to_string_lossy().into_owned();
    let one = path("one");
    famsim_ok(&["run", &scenario, "--out", &one, "--quiet", "--threads", "2"]);

    let hostfile = dir.path().join("hosts");
    for victim in [0, 1] {
        let out = path(&format!("lost{victim}"));
        // One rendering thread each, so that the run lasts long enough to
        // be killed in the middle.
        let args = |i: usize, hosts: &str, quiet: bool| -> Vec<String> {
            let mut a: Vec<String> = [
                "run",
                &scenario,
                "--out",
                &out,
                "--threads",
                "1",
                "--resume",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            a.extend(cluster_flags(i, hosts));
            if quiet {
                a.push("--quiet".into());
            }
            a
        };
        let faces = || finished_files(&Path::new(&out).join("people"), "png");
        let kept = lose_one_process(
            &hostfile,
            |i, hosts| args(i, hosts, true),
            victim,
            faces,
            total,
            &Path::new(&out).join("manifest.json"),
        );

        let texts = run_cluster(&hostfile, |i, hosts| args(i, hosts, false));
        assert!(
            texts[0].contains(&format!(
                "{total} people ({} rendered, {kept} kept from a previous run)",
                total - kept
            )),
            "resume should keep the {kept} faces already drawn:\n{}",
            texts[0]
        );
        assert_same_tree(Path::new(&one), Path::new(&out));
    }
}
