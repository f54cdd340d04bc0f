//! The load tool (examples/serve_load.rs) in a short run, for correctness
//! only: 8 sessions editing and re-rolling for 4 s must see no 5xx, no reply
//! of another session, no lost edit, and flat memory. No timing is asserted.

#[path = "../examples/serve_load.rs"]
#[allow(dead_code)]
mod load;

use std::path::Path;

#[test]
fn concurrent_sessions_never_see_5xx_lost_or_foreign_writes() {
    let dir = tempfile::tempdir().unwrap();
    let server = load::http::Server::start(
        Path::new(env!("CARGO_BIN_EXE_famsim")),
        &dir.path().join("data"),
        &[],
    );
    let report = load::run_load(&server, 8, 4.0);
    assert_eq!(report.server_errors, 0, "{}", server.stderr());
    assert!(report.wrong.is_empty(), "{:#?}", report.wrong);
    assert!(report.requests >= 16, "only {} requests", report.requests);
    assert!(!report.rerolls_ms.is_empty());
    assert!(
        report.rss_kb.len() >= 8,
        "the server's memory was sampled {} times",
        report.rss_kb.len()
    );
    assert!(report.memory_flat(), "memory grew: {:?}", report.rss_kb);
}
