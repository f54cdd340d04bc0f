//! The one-screen summary `famsim eval` prints.

use super::super::figures::SpaceFigures;
use super::super::{FolderMetrics, Report};
use std::fmt::Write;

fn num(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.3}"))
}

fn space(out: &mut String, name: &str, available: bool, note: &str, f: Option<&SpaceFigures>) {
    let Some(f) = f.filter(|_| available) else {
        let _ = writeln!(out, "  {name}: {note}");
        return;
    };
    let r = &f.resemblance;
    let levels = r
        .levels
        .iter()
        .map(|l| format!("{} {:.3}", l.label, l.similarity.mean))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        out,
        "  {name}: verification AUC {} / accuracy {} (mean over {} types); tri-subject AUC {}",
        num(f.verification.average_auc),
        num(f.verification.average_accuracy),
        f.verification.types.len(),
        num(f.tri_subject.auc)
    );
    let _ = writeln!(
        out,
        "    similarity by kinship φ: {levels}; slope {}{}",
        num(r.slope),
        match r.monotone {
            Some(true) => ", falls at every step",
            Some(false) => ", NOT monotone",
            None => "",
        }
    );
    let _ = writeln!(
        out,
        "    diversity among siblings ({}): {} over {} sibships",
        f.diversity.distance,
        num(f.diversity.mean_distance.as_ref().map(|m| m.mean)),
        f.diversity.sibships
    );
}

fn folder(out: &mut String, m: &FolderMetrics) {
    let _ = writeln!(
        out,
        "{} ({}): {} families, {} people, {} images, {} kin pairs, {} triplets",
        m.folder,
        m.layout,
        m.families,
        m.people,
        m.images,
        m.kin_pairs.values().sum::<usize>(),
        m.triplets
    );
    if let Some(s) = &m.genes.region_shares {
        let _ = writeln!(
            out,
            "  regions from father / mother / pool: {:.3} / {:.3} / {:.3} (expected {:.3} / {:.3} / {:.3})",
            s.father.observed.mean,
            s.mother.observed.mean,
            s.pool.observed.mean,
            s.father.expected,
            s.mother.expected,
            s.pool.expected
        );
    }
    space(
        out,
        "genes",
        m.genes.available,
        &m.genes.note,
        m.genes.figures.as_ref(),
    );
    space(
        out,
        "faces",
        m.faces.available,
        &m.faces.note,
        m.faces.figures.as_ref(),
    );
    if m.faces.network.is_some() {
        let _ = writeln!(
            out,
            "    images: {} described, {} from the cache, {} without a face, {} unreadable",
            m.faces.computed,
            m.faces.from_cache,
            m.faces.no_face.len(),
            m.faces.unreadable.len()
        );
    }
}

/// The summary of a report written to `out`.
pub fn summary(report: &Report, out: &std::path::Path) -> String {
    let mut s = String::new();
    for m in &report.folders {
        folder(&mut s, m);
    }
    if let Some(sweep) = &report.sweep {
        let _ = writeln!(
            s,
            "sweep over {} points ({} families each):",
            sweep.points.len(),
            sweep.families
        );
        for p in &sweep.points {
            let g = p.genes.as_ref();
            let _ = writeln!(
                s,
                "  gamma {} eta {}: gene slope {}, gene diversity {}{}",
                p.gamma,
                p.eta,
                num(g.and_then(|g| g.slope)),
                num(g.and_then(|g| g.diversity.as_ref().map(|d| d.mean))),
                p.faces.as_ref().map_or(String::new(), |f| format!(
                    ", face slope {}, face diversity {}",
                    num(f.slope),
                    num(f.diversity.as_ref().map(|d| d.mean))
                ))
            );
        }
    }
    let _ = writeln!(s, "report: {}", out.join("index.html").display());
    s
}
