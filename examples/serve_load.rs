//! A bounded loopback load test of `famsim serve`: N clients (browser
//! sessions) edit and re-roll procedural families for S seconds, then it
//! stops by itself and prints what it saw.
//!
//! ```sh
//! cargo build --release && cargo run --release --example serve_load -- [CLIENTS] [SECONDS]
//! ```
//!
//! (default 50 clients, 30 s; the `famsim` binary next to this example's
//! folder is started on a free loopback port with a fresh `--data`.)
//! Checked: no 5xx at all; every reply and download is the client's own
//! family (no cross-session writes) with its newest edit (no lost writes):
//! the scenario names the client, only the edited child is painted again,
//! the parents' portraits keep their checksums from round to round, the
//! downloaded scenario is the newest render's and the served portrait has
//! the checksum that render reported; the server's resident memory sampled
//! every 250 ms must be flat (see [`LoadReport::memory_flat`]). Printed:
//! p50/p95 of a re-roll of one child at 256 px, and the machine (cores,
//! CPU, load average before and after, since other work on the machine
//! shows in the latencies). tests/serve_load.rs runs a short version for
//! correctness only; nothing here asserts a time.

#[path = "../tests/common/http.rs"]
pub mod http;

use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub requests: usize,
    pub server_errors: usize,
    /// Replies or downloads that were not the client's own newest edit.
    pub wrong: Vec<String>,
    /// Re-roll latencies, milliseconds, sorted.
    pub rerolls_ms: Vec<f64>,
    pub rss_kb: Vec<u64>,
}

/// Memory may grow this much (kB) past the first half's peak and still be
/// called flat: allocator pages, not a leak (a leak grows with requests,
/// which number in the thousands).
const RSS_SLACK_KB: u64 = 16 * 1024;

impl LoadReport {
    pub fn percentile(&self, p: f64) -> f64 {
        if self.rerolls_ms.is_empty() {
            return f64::NAN;
        }
        let i = ((self.rerolls_ms.len() as f64 - 1.0) * p).round() as usize;
        self.rerolls_ms[i]
    }

    /// Whether the server's memory stayed flat: the last quarter of the
    /// samples peaks no higher than the first half's peak plus
    /// [`RSS_SLACK_KB`] and 10 %. The first half includes the warm-up
    /// (sessions opened, models built), so steady growth after it is what
    /// fails. Needs 8 samples (2 s); fewer say nothing, and count as flat.
    pub fn memory_flat(&self) -> bool {
        let n = self.rss_kb.len();
        if n < 8 {
            return true;
        }
        let early = self.rss_kb[..n / 2].iter().max().copied().unwrap_or(0);
        let late = self.rss_kb[n - n / 4..].iter().max().copied().unwrap_or(0);
        late <= early + early / 10 + RSS_SLACK_KB
    }
}

/// One line about the machine: cores, CPU model, load average.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {cpu}, load average {}", load_average())
}

/// The 1-minute load average (other work competing for the cores).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// One client's family: two parents and a daughter, named after the client
/// so that any reply from another session is seen.
fn family(client: usize) -> Value {
    json!({
        "name": format!("load client {client}"),
        "seed": client,
        "image_size": 256,
        "people": [
            {"id": "father", "sex": "Male", "age": "30-39", "ancestry": "White"},
            {"id": "mother", "sex": "Female", "age": "30-39", "ancestry": "Black"},
            {"id": "daughter", "sex": "Female", "age": "3-9", "father": "father", "mother": "mother"},
        ],
    })
}

/// Runs `clients` sessions against `server` for `secs` seconds.
pub fn run_load(server: &http::Server, clients: usize, secs: f64) -> LoadReport {
    let report = Arc::new(Mutex::new(LoadReport::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicUsize::new(0));
    let pid = server.child.id();
    let sampler = {
        let (report, stop) = (Arc::clone(&report), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if let Some(kb) = rss_kb(pid) {
                    report.lock().unwrap().rss_kb.push(kb);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let workers: Vec<_> = (0..clients)
        .map(|i| {
            let (report, requests) = (Arc::clone(&report), Arc::clone(&requests));
            let client = server.client();
            std::thread::spawn(move || {
                let mut design = family(i);
                let mut round = 0u64;
                let note = |what: String| report.lock().unwrap().wrong.push(what);
                // The parents' portrait checksums from the first reply: no
                // edit of the daughter may change them.
                let mut parents: Option<Value> = None;
                while Instant::now() < deadline {
                    round += 1;
                    // Mostly re-rolls (a new seed for the daughter alone),
                    // sometimes a slider edit of hers.
                    let reroll = !round.is_multiple_of(4);
                    if reroll {
                        design["people"][2]["seed"] = json!(round * 1000 + i as u64);
                    } else {
                        design["people"][2]["gamma"] = json!((round % 50) as f64 / 100.0);
                    }
                    let started = Instant::now();
                    let r = client.post_json("/api/render", &design);
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    requests.fetch_add(1, Ordering::SeqCst);
                    if r.status >= 500 {
                        report.lock().unwrap().server_errors += 1;
                        continue;
                    }
                    if r.status != 200 {
                        note(format!("client {i}: status {} {}", r.status, r.text()));
                        continue;
                    }
                    let reply = r.json();
                    let text = reply["scenario"].as_str().unwrap_or_default();
                    if !text.contains(&format!("name: \"load client {i}\"")) {
                        note(format!("client {i}: a reply of another session"));
                    }
                    let changed = reply["changed"].to_string();
                    if round > 1 && changed != "[\"daughter\"]" {
                        note(format!("client {i}: round {round} redrew {changed}"));
                    }
                    let sha = |id: &str| {
                        reply["people"]
                            .as_array()
                            .and_then(|p| p.iter().find(|p| p["id"] == id))
                            .map(|p| p["sha256"].clone())
                            .unwrap_or(Value::Null)
                    };
                    let these = json!([sha("father"), sha("mother")]);
                    match &parents {
                        None => parents = Some(these),
                        Some(p) if *p != these => note(format!(
                            "client {i}: round {round} changed a parent's portrait"
                        )),
                        Some(_) => {}
                    }
                    if reroll && round > 1 {
                        report.lock().unwrap().rerolls_ms.push(ms);
                    }
                    // Every few rounds the download must be this edit.
                    if round.is_multiple_of(5) {
                        let ron = client.get("/api/download/scenario.ron");
                        requests.fetch_add(1, Ordering::SeqCst);
                        if ron.status >= 500 {
                            report.lock().unwrap().server_errors += 1;
                        } else if ron.text() != text {
                            note(format!("client {i}: the download is not the newest render"));
                        }
                        let png = client.get("/api/people/daughter.png");
                        requests.fetch_add(1, Ordering::SeqCst);
                        if png.status >= 500 {
                            report.lock().unwrap().server_errors += 1;
                        } else if json!(sha256_hex(&png.body)) != sha("daughter") {
                            note(format!(
                                "client {i}: the served portrait is not the newest render's"
                            ));
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a client thread panicked");
    }
    stop.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    let mut report = Arc::try_unwrap(report).ok().unwrap().into_inner().unwrap();
    report.requests = requests.load(Ordering::SeqCst);
    report.rerolls_ms.sort_by(f64::total_cmp);
    report
}

#[allow(dead_code)]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let secs: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30.0);
    let exe = std::env::current_exe().expect("own path");
    let famsim = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("famsim"))
        .filter(|p| p.is_file())
        .expect("build famsim first: cargo build --release");
    let data = tempfile::tempdir().expect("a temporary folder");
    let server = http::Server::start(&famsim, &data.path().join("data"), &[]);
    println!(
        "famsim serve at {}; {clients} clients for {secs} s",
        server.addr
    );
    println!("machine: {}", machine());
    let report = run_load(&server, clients, secs);
    println!("load average after: {}", load_average());
    let rss = &report.rss_kb;
    println!(
        "requests: {}, 5xx: {}",
        report.requests, report.server_errors
    );
    println!("wrong (lost or cross-session): {}", report.wrong.len());
    for w in report.wrong.iter().take(10) {
        println!("  {w}");
    }
    println!(
        "re-roll of one child at 256 px: {} re-rolls, p50 {:.1} ms, p95 {:.1} ms",
        report.rerolls_ms.len(),
        report.percentile(0.5),
        report.percentile(0.95)
    );
    if let (Some(first), Some(max), Some(last)) = (rss.first(), rss.iter().max(), rss.last()) {
        println!(
            "server RSS: {} MB at start, {} MB peak, {} MB at the end ({} samples): {}",
            first / 1024,
            max / 1024,
            last / 1024,
            rss.len(),
            if report.memory_flat() {
                "flat"
            } else {
                "GROWING"
            }
        );
    }
    if report.server_errors > 0 || !report.wrong.is_empty() || !report.memory_flat() {
        std::process::exit(1);
    }
}
