//! `famsim serve`'s page in a real browser: headless Chromium driven over
//! WebDriver (chromedriver, through fantoccini). Loads a shipped scenario,
//! adds a child, drags a slider, pins a region, re-rolls, locks a face and
//! re-rolls the rest of the family, downloads the scenario and checks that `famsim run` on it paints the same bytes the
//! page shows. Under CI=true a missing chromium or chromedriver fails the
//! test (`.ci/run` installs both).
//!
//! With `FAMSIM_SCREENSHOTS=DIR` the test saves the README's screenshots
//! there (`serve_designer.png`, `serve_child.png`, `serve_demo.png`);
//! `FAMSIM_SCREENSHOTS=docs/images cargo test --test serve_browser` renews them.

mod common;
#[path = "common/http.rs"]
mod http;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The page's state: (render in flight or waiting, status line).
async fn page_state(c: &fantoccini::Client) -> (bool, String) {
    let v = c
        .execute(
            "return [state.inFlight || state.dirty, document.getElementById('status').textContent];",
            vec![],
        )
        .await
        .unwrap();
    (v[0].as_bool().unwrap(), v[1].as_str().unwrap().to_string())
}

/// Waits until the page has drawn everything asked of it; returns the
/// number of the last render job.
async fn settled(c: &fantoccini::Client, after_job: u64) -> u64 {
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let (busy, status) = page_state(c).await;
        let job = status
            .rsplit("(job ")
            .next()
            .and_then(|s| s.trim_end_matches(')').parse::<u64>().ok());
        if !busy && status.starts_with("ready") && job.is_some_and(|j| j > after_job) {
            return job.unwrap();
        }
        assert!(
            !status.starts_with("error"),
            "the page shows an error: {status}: {}",
            errors(c).await
        );
        assert!(Instant::now() < until, "the page never settled: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn errors(c: &fantoccini::Client) -> String {
    c.find(Locator::Id("errors"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap_or_default()
}

/// id → SHA-256 of the bytes the browser itself fetched for each portrait
/// on the page (the `src` of every card's image).
async fn page_portraits(c: &fantoccini::Client, selector: &str) -> BTreeMap<String, String> {
    let v = c
        .execute(
            r#"
            const imgs = [...document.querySelectorAll(arguments[0])].filter((i) => i.src);
            const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
            return Promise.all(imgs.map(async (img) => {
                const bytes = await (await fetch(img.src)).arrayBuffer();
                return [img.alt, hex(await crypto.subtle.digest("SHA-256", bytes))];
            }));
            "#,
            vec![json!(selector)],
        )
        .await
        .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn click(c: &fantoccini::Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
        .click()
        .await
        .unwrap();
}

async fn screenshot(c: &fantoccini::Client, name: &str) {
    let Ok(dir) = std::env::var("FAMSIM_SCREENSHOTS") else {
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), c.screenshot().await.unwrap()).unwrap();
}

#[test]
fn the_designer_in_chromium_reproduces_famsim_run() {
    if !common::outside_tool("chromium", "the designer page in a browser")
        || !common::outside_tool("chromedriver", "the designer page in a browser")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = http::Server::start(
        Path::new(env!("CARGO_BIN_EXE_famsim")),
        &dir.path().join("data"),
        &[],
    );
    let port = free_port();
    let driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let until = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "chromedriver did not start listening"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let base = format!("http://{}", server.addr);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ron = runtime.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1400,1000", "--hide-scrollbars"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let c = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session through chromedriver");
        c.goto(&base).await.unwrap();
        let mut job = settled(&c, 0).await;

        // Load a shipped scenario.
        c.execute("document.getElementById('start-select').value = 'three_gen';", vec![])
            .await
            .unwrap();
        click(&c, "#start-load").await;
        job = settled(&c, job).await;
        let cards = c.find_all(Locator::Css(".person")).await.unwrap();
        assert_eq!(cards.len(), 9);
        screenshot(&c, "serve_designer.png").await;

        // Add a child to David (and Yuki, his partner).
        click(&c, ".person[data-id='david']").await;
        click(&c, "#add-child").await;
        job = settled(&c, job).await;
        let before = page_portraits(&c, ".person img").await;
        assert_eq!(before.len(), 10, "{before:?}");
        assert!(before.contains_key("child1"));
        assert_eq!(
            c.find(Locator::Css(".person[data-id='child1'] .parents")).await.unwrap().text().await.unwrap(),
            "david + yuki"
        );

        // Drag the gamma slider: the input events a drag fires, step by step.
        c.execute(
            r#"const s = document.getElementById('gamma');
               for (const v of [0.45, 0.4, 0.35, 0.3, 0.25, 0.2]) {
                 s.value = v; s.dispatchEvent(new Event('input', { bubbles: true }));
               }"#,
            vec![],
        )
        .await
        .unwrap();
        job = settled(&c, job).await;
        let dragged = page_portraits(&c, ".person img").await;
        assert_ne!(dragged["child1"], before["child1"], "the slider changed nothing");
        for id in ["david", "yuki", "emma", "leo"] {
            assert_eq!(dragged[id], before[id], "{id} changed with child1's slider");
        }

        // Pin the eyes to the father by clicking the region.
        click(&c, ".pin[data-region='eyes']").await;
        job = settled(&c, job).await;
        let pinned = c.find(Locator::Css(".pin[data-region='eyes']")).await.unwrap();
        assert_eq!(pinned.text().await.unwrap(), "eyes: Father");
        assert!(pinned.attr("class").await.unwrap().unwrap().contains("src-father"));

        // Re-roll the child: a new face for child1 alone.
        let pre_roll = page_portraits(&c, ".person img").await;
        click(&c, "#reroll").await;
        job = settled(&c, job).await;
        let rolled = page_portraits(&c, ".person img").await;
        assert_ne!(rolled["child1"], pre_roll["child1"]);
        for (id, sha) in &pre_roll {
            if id != "child1" {
                assert_eq!(&rolled[id], sha, "{id} changed with child1's re-roll");
            }
        }
        // Lock: the re-roll button is disabled for a locked face, and for
        // the faces it is made from (its parents, theirs, …).
        click(&c, "#lock").await;
        job = settled(&c, job).await;
        let reroll_disabled = || async {
            c.find(Locator::Id("reroll")).await.unwrap().prop("disabled").await.unwrap()
        };
        assert_eq!(reroll_disabled().await.as_deref(), Some("true"));
        click(&c, ".person[data-id='david']").await;
        assert_eq!(reroll_disabled().await.as_deref(), Some("true"), "david holds child1's face");
        // Re-roll everyone unlocked: the locked face and its ancestors stay.
        click(&c, "#reroll-family").await;
        job = settled(&c, job).await;
        let family = page_portraits(&c, ".person img").await;
        for id in ["child1", "david", "yuki", "arthur", "margaret", "kenji", "aiko"] {
            assert_eq!(family[id], rolled[id], "{id} changed with the family re-roll");
        }
        for id in ["emma", "leo", "hana"] {
            assert_ne!(family[id], rolled[id], "{id} kept its face through the family re-roll");
        }
        click(&c, ".person[data-id='child1']").await;
        screenshot(&c, "serve_child.png").await;

        // Download the scenario the way the page's link does.
        let href = c.find(Locator::Id("download-ron")).await.unwrap().attr("href").await.unwrap().unwrap();
        let ron = c
            .execute("return fetch(arguments[0]).then((r) => r.text());", vec![json!(href)])
            .await
            .unwrap();
        let ron = ron.as_str().unwrap().to_string();

        // The demo screen: two parents, one child.
        click(&c, "#mode-toggle").await;
        job = settled(&c, job).await;
        c.execute(
            r#"const s = document.getElementById('demo-gamma');
               s.value = 0.3; s.dispatchEvent(new Event('input', { bubbles: true }));"#,
            vec![],
        )
        .await
        .unwrap();
        settled(&c, job).await;
        assert!(!c.find(Locator::Id("designer")).await.unwrap().is_displayed().await.unwrap());
        assert!(c.find(Locator::Id("demo")).await.unwrap().is_displayed().await.unwrap());
        let demo = page_portraits(&c, ".demo-faces img").await;
        assert_eq!(demo.len(), 3, "{demo:?}");
        screenshot(&c, "serve_demo.png").await;
        c.close().await.unwrap();
        (ron, family)
    });
    drop(driver);
    let (ron, page) = ron;
    let file = dir.path().join("downloaded.ron");
    std::fs::write(&file, &ron).unwrap();
    let out = dir.path().join("run");
    common::famsim_ok(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(ron.contains("regions: {\"eyes\": Father}"), "{ron}");
    for (id, sha) in &page {
        use sha2::Digest;
        let bytes = std::fs::read(out.join(format!("people/{id}.png"))).unwrap();
        assert_eq!(
            &hex::encode(sha2::Sha256::digest(&bytes)),
            sha,
            "{id}: the page and famsim run differ"
        );
    }
}
