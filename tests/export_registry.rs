//! One export registry (`famsim::exports::EXPORTS`) serves both `famsim run`
//! and `famsim export`: every entry is a flag of both, written under its file
//! name by both, and `famsim export` without flags writes exactly the registry.

use famsim::exports::EXPORTS;
use std::path::Path;

mod common;
use common::famsim_ok;

#[test]
fn every_registered_export_is_a_flag_of_run_and_export() {
    for command in ["run", "export"] {
        let help = String::from_utf8(famsim_ok(&[command, "--help"]).stdout).unwrap();
        for e in EXPORTS {
            // clap puts a long help on the line after the flag.
            let flag = format!("--{}", e.flag);
            assert!(
                help.lines()
                    .any(|l| l.trim() == flag || l.trim_start().starts_with(&format!("{flag} "))),
                "`famsim {command} --help` has no {flag}:\n{help}"
            );
            assert!(
                help.contains(e.help),
                "`famsim {command} --help` lacks {:?}",
                e.help
            );
            assert!(e.help.contains(e.file), "{}: help names {}", e.flag, e.file);
        }
    }
}

#[test]
fn run_and_export_write_the_registered_files() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let run_s = run.to_str().unwrap();
    let flags: Vec<String> = EXPORTS.iter().map(|e| format!("--{}", e.flag)).collect();
    let mut args = vec![
        "run",
        "scenarios/two_parents_one_child.ron",
        "--out",
        run_s,
        "--quiet",
    ];
    args.extend(flags.iter().map(String::as_str));
    famsim_ok(&args);
    let read = |dir: &Path, file: &str| std::fs::read(dir.join(file)).unwrap();
    let from_run: Vec<Vec<u8>> = EXPORTS.iter().map(|e| read(&run, e.file)).collect();

    // `famsim export` with no flag: every registered file, in registry order,
    // with the bytes `famsim run` wrote.
    for e in EXPORTS {
        std::fs::remove_file(run.join(e.file)).unwrap();
    }
    let said = String::from_utf8(famsim_ok(&["export", run_s]).stdout).unwrap();
    let listed: Vec<String> = EXPORTS
        .iter()
        .map(|e| run.join(e.file).display().to_string())
        .collect();
    assert_eq!(said.lines().collect::<Vec<_>>(), listed);
    for (e, bytes) in EXPORTS.iter().zip(&from_run) {
        assert!(
            read(&run, e.file) == *bytes,
            "{} differs from run's",
            e.file
        );
    }

    // One flag: that file alone.
    for e in EXPORTS {
        let said =
            String::from_utf8(famsim_ok(&["export", run_s, &format!("--{}", e.flag)]).stdout)
                .unwrap();
        assert_eq!(said.trim_end(), run.join(e.file).display().to_string());
    }
}
