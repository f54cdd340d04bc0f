//! `report/index.html`: one page that opens from disk with everything in
//! it — tables, and the plots as inline SVG — so nothing is fetched. With
//! `--compare` every table has a column per folder and every curve a
//! series per folder; ROC curves and histograms stand side by side.

use super::super::figures::{Resemblance, SpaceFigures};
use super::super::metrics::MeanCi;
use super::super::sweep::Sweep;
use super::super::{FolderMetrics, Report};
use super::plots::{self, Series};
use crate::error::Result;
use std::fmt::Write;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(x: f64) -> String {
    format!("{x:.3}")
}

fn opt(x: Option<f64>) -> String {
    x.map_or("–".into(), num)
}

fn ci(c: Option<[f64; 2]>) -> String {
    c.map_or(String::new(), |[lo, hi]| {
        format!(" [{}, {}]", num(lo), num(hi))
    })
}

fn mean(m: &Option<MeanCi>) -> String {
    m.as_ref().map_or("–".into(), |m| {
        format!("{}{} (n={})", num(m.mean), ci(m.ci), m.n)
    })
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.row{display:flex;flex-wrap:wrap;gap:1em}.note{color:#555;max-width:60em}\
figure{margin:0}figcaption{font-size:90%;color:#444;text-align:center}";

/// The page.
pub fn page(report: &Report) -> Result<String> {
    let mut h = String::new();
    let folders = &report.folders;
    let names: Vec<String> = folders.iter().map(|f| esc(&f.folder)).collect();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>famsim eval: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>Kinship evaluation</h1>\n<p class=\"note\">famsim {} · every figure is also in <code>metrics.json</code> beside this page. Intervals are 95&nbsp;%: Hanley–McNeil for AUC, Wilson for accuracy, mean ± 1.96·s/√n for means.</p>\n",
        names.join(" vs "),
        esc(&report.famsim_version)
    );
    if !folders.is_empty() {
        overview(&mut h, folders);
        for space in [Space::Genes, Space::Faces] {
            space_section(&mut h, folders, space)?;
        }
    }
    if let Some(sweep) = &report.sweep {
        sweep_section(&mut h, sweep)?;
    }
    h.push_str("</body>\n</html>\n");
    Ok(h)
}

/// A table row: a header cell and one cell per folder.
fn row(h: &mut String, title: &str, cells: impl IntoIterator<Item = String>) {
    let _ = write!(h, "<tr><th>{}</th>", esc(title));
    for c in cells {
        let _ = write!(h, "<td>{c}</td>");
    }
    h.push_str("</tr>\n");
}

fn overview(h: &mut String, folders: &[FolderMetrics]) {
    h.push_str("<h2>Folders</h2>\n<table>\n");
    row(
        h,
        "folder",
        folders
            .iter()
            .map(|f| format!("<code>{}</code>", esc(&f.folder))),
    );
    row(h, "layout", folders.iter().map(|f| esc(&f.layout)));
    row(
        h,
        "families",
        folders.iter().map(|f| f.families.to_string()),
    );
    row(h, "people", folders.iter().map(|f| f.people.to_string()));
    row(h, "images", folders.iter().map(|f| f.images.to_string()));
    row(
        h,
        "kin pairs",
        folders.iter().map(|f| {
            f.kin_pairs
                .iter()
                .map(|(k, n)| format!("{} {n}", esc(k)))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    row(
        h,
        "triplets",
        folders.iter().map(|f| f.triplets.to_string()),
    );
    row(
        h,
        "sibships (2+ children)",
        folders.iter().map(|f| f.sibships.to_string()),
    );
    row(
        h,
        "unmatched (no non-kin partner)",
        folders.iter().map(|f| {
            format!(
                "{} pairs, {} triplets",
                f.unmatched_pairs, f.unmatched_triplets
            )
        }),
    );
    row(
        h,
        "held-out threshold",
        folders.iter().map(|f| esc(&f.held_out)),
    );
    h.push_str("</table>\n");
}

#[derive(Clone, Copy, PartialEq)]
enum Space {
    Genes,
    Faces,
}

fn space_section(h: &mut String, folders: &[FolderMetrics], space: Space) -> Result<()> {
    let (title, id) = match space {
        Space::Genes => ("Gene space", "genes"),
        Space::Faces => ("Face space", "faces"),
    };
    let _ = writeln!(h, "<h2 id=\"{id}\">{title}</h2>");
    let figures: Vec<Option<&SpaceFigures>> = folders
        .iter()
        .map(|f| match space {
            Space::Genes => f.genes.figures.as_ref(),
            Space::Faces => f.faces.figures.as_ref(),
        })
        .collect();
    h.push_str("<table>\n");
    row(
        h,
        "what",
        folders.iter().map(|f| {
            esc(match space {
                Space::Genes => &f.genes.note,
                Space::Faces => &f.faces.note,
            })
        }),
    );
    if space == Space::Faces {
        row(
            h,
            "people with a face",
            folders
                .iter()
                .map(|f| format!("{} of {}", f.faces.people_with_face, f.people)),
        );
        row(
            h,
            "images without a face",
            folders.iter().map(|f| {
                let mut cell = f.faces.no_face.len().to_string();
                if !f.faces.no_face.is_empty() {
                    cell.push_str("<details><summary>list</summary>");
                    for n in &f.faces.no_face {
                        let _ = write!(cell, "{}<br>", esc(n));
                    }
                    cell.push_str("</details>");
                }
                cell
            }),
        );
        row(
            h,
            "unreadable files",
            folders.iter().map(|f| {
                f.faces
                    .unreadable
                    .iter()
                    .map(|u| esc(u))
                    .collect::<Vec<_>>()
                    .join("<br>")
            }),
        );
    }
    h.push_str("</table>\n");
    if space == Space::Genes {
        region_shares(h, folders);
    }
    if figures.iter().all(|f| f.is_none()) {
        return Ok(());
    }

    // Resemblance by kinship.
    h.push_str("<h3>Resemblance by kinship</h3>\n<p class=\"note\">Mean similarity of pairs at each kinship coefficient φ (relatedness 2φ); non-kin pairs are the matched partners (φ = 0). It should fall as kinship falls.</p>\n");
    let series: Vec<Series> = folders
        .iter()
        .zip(&figures)
        .filter_map(|(f, fig)| {
            let r: &Resemblance = &fig.as_ref()?.resemblance;
            Some(Series {
                label: f.folder.clone(),
                points: r
                    .levels
                    .iter()
                    .map(|l| (l.kinship, l.similarity.mean, l.similarity.ci))
                    .collect(),
            })
        })
        .collect();
    let _ = writeln!(
        h,
        "<figure>{}</figure>",
        plots::lines(
            "similarity against kinship",
            "kinship coefficient φ",
            "mean similarity",
            &series
        )?
    );
    h.push_str("<table>\n");
    let mut levels: Vec<(f64, String)> = figures
        .iter()
        .flatten()
        .flat_map(|f| {
            f.resemblance
                .levels
                .iter()
                .map(|l| (l.kinship, l.label.clone()))
        })
        .collect();
    levels.sort_by(|a, b| b.0.total_cmp(&a.0));
    levels.dedup_by(|a, b| a.0 == b.0);
    for (k, label) in &levels {
        row(
            h,
            &format!("φ = {label}"),
            figures.iter().map(|f| {
                f.and_then(|f| f.resemblance.levels.iter().find(|l| l.kinship == *k))
                    .map_or("–".into(), |l| mean(&Some(l.similarity.clone())))
            }),
        );
    }
    row(
        h,
        "slope (similarity per unit φ)",
        figures
            .iter()
            .map(|f| opt(f.and_then(|f| f.resemblance.slope))),
    );
    row(
        h,
        "falls at every step",
        figures
            .iter()
            .map(|f| match f.and_then(|f| f.resemblance.monotone) {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => "–".into(),
            }),
    );
    h.push_str("</table>\n");

    // Kinship verification.
    h.push_str("<h3>Kinship verification (RFIW task 1)</h3>\n<p class=\"note\">Kin pairs against matched non-kin pairs: ROC AUC over all pairs, and accuracy at the threshold chosen on the held-out protocol above.</p>\n<table>\n");
    let mut types: Vec<(String, String)> = figures
        .iter()
        .flatten()
        .flat_map(|f| {
            f.verification
                .types
                .iter()
                .map(|t| (t.relation.clone(), t.description.clone()))
        })
        .collect();
    // Keep Relation::ALL's order (the figures list types in it).
    let mut seen = std::collections::HashSet::new();
    types.retain(|t| seen.insert(t.0.clone()));
    row(h, "type", names_of(folders));
    for (relation, description) in &types {
        row(
            h,
            &format!("{relation} ({description})"),
            figures.iter().map(|f| {
                f.and_then(|f| {
                    f.verification
                        .types
                        .iter()
                        .find(|t| &t.relation == relation)
                })
                .map_or("–".into(), |t| {
                    format!(
                        "AUC {}{}<br>accuracy {}<br>kin {} · non-kin {}",
                        opt(t.auc),
                        ci(t.auc_ci),
                        t.accuracy.as_ref().map_or("–".into(), |a| format!(
                            "{}{} ({}/{})",
                            num(a.accuracy),
                            ci(a.ci),
                            a.correct,
                            a.measured
                        )),
                        t.kin_pairs,
                        t.non_kin_pairs
                    )
                })
            }),
        );
    }
    row(
        h,
        "average over types",
        figures.iter().map(|f| {
            f.map_or("–".into(), |f| {
                format!(
                    "AUC {}<br>accuracy {}",
                    opt(f.verification.average_auc),
                    opt(f.verification.average_accuracy)
                )
            })
        }),
    );
    h.push_str("</table>\n<div class=\"row\">\n");
    for (f, fig) in folders.iter().zip(&figures) {
        let Some(fig) = fig else { continue };
        let curves: Vec<(String, Vec<[f64; 2]>)> = fig
            .verification
            .types
            .iter()
            .filter(|t| !t.roc.is_empty())
            .map(|t| (t.relation.clone(), t.roc.clone()))
            .collect();
        let _ = writeln!(
            h,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            plots::roc("ROC per relation type", &curves)?,
            esc(&f.folder)
        );
    }
    h.push_str("</div>\n");

    // Tri-subject.
    h.push_str("<h3>Tri-subject verification (RFIW task 2)</h3>\n<p class=\"note\">Father–mother–child triplets against the same parents with a swapped child; a triplet scores the mean of the child's similarity to each parent.</p>\n<table>\n");
    row(h, "", names_of(folders));
    row(
        h,
        "triplets · swapped",
        figures.iter().map(|f| {
            f.map_or("–".into(), |f| {
                format!("{} · {}", f.tri_subject.triplets, f.tri_subject.swapped)
            })
        }),
    );
    row(
        h,
        "kin score",
        figures
            .iter()
            .map(|f| f.map_or("–".into(), |f| mean(&f.tri_subject.kin_score))),
    );
    row(
        h,
        "swapped score",
        figures
            .iter()
            .map(|f| f.map_or("–".into(), |f| mean(&f.tri_subject.swapped_score))),
    );
    row(
        h,
        "AUC",
        figures.iter().map(|f| {
            f.map_or("–".into(), |f| {
                format!("{}{}", opt(f.tri_subject.auc), ci(f.tri_subject.auc_ci))
            })
        }),
    );
    row(
        h,
        "accuracy",
        figures.iter().map(|f| {
            f.and_then(|f| f.tri_subject.accuracy.as_ref())
                .map_or("–".into(), |a| {
                    format!(
                        "{}{} ({}/{})",
                        num(a.accuracy),
                        ci(a.ci),
                        a.correct,
                        a.measured
                    )
                })
        }),
    );
    h.push_str("</table>\n");

    // Diversity.
    h.push_str("<h3>Diversity among siblings</h3>\n<p class=\"note\">Mean pairwise distance among the children of one couple (couples with two or more), per sibship.</p>\n<table>\n");
    row(h, "", names_of(folders));
    row(
        h,
        "distance",
        figures
            .iter()
            .map(|f| f.map_or("–".into(), |f| esc(&f.diversity.distance))),
    );
    row(
        h,
        "mean over sibships",
        figures
            .iter()
            .map(|f| f.map_or("–".into(), |f| mean(&f.diversity.mean_distance))),
    );
    row(
        h,
        "by (gamma, eta)",
        figures.iter().map(|f| {
            f.map_or("–".into(), |f| {
                f.diversity
                    .by_params
                    .iter()
                    .map(|p| {
                        format!(
                            "γ {} η {}: {}",
                            p.gamma,
                            p.eta,
                            mean(&Some(p.mean_distance.clone()))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>")
            })
        }),
    );
    h.push_str("</table>\n<div class=\"row\">\n");
    for (f, fig) in folders.iter().zip(&figures) {
        let Some(fig) = fig else { continue };
        if fig.diversity.per_sibship.is_empty() {
            continue;
        }
        let _ = writeln!(
            h,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            plots::histogram(
                "diversity among siblings",
                &fig.diversity.distance,
                &fig.diversity.per_sibship,
                20
            )?,
            esc(&f.folder)
        );
    }
    h.push_str("</div>\n");
    Ok(())
}

fn names_of(folders: &[FolderMetrics]) -> Vec<String> {
    folders
        .iter()
        .map(|f| format!("<code>{}</code>", esc(&f.folder)))
        .collect()
}

fn region_shares(h: &mut String, folders: &[FolderMetrics]) {
    if folders.iter().all(|f| f.genes.region_shares.is_none()) {
        return;
    }
    h.push_str("<h3>Where the children's regions came from</h3>\n<p class=\"note\">Per child, the share of its regions (background and pinned regions left out) from the father, the mother and the pool, observed (mean over children) against the expectation from its gamma and eta: a region is inherited with probability ⌊34·(1−η)⌋/34, then weighted (1−γ)/2 to each parent on average and γ to the pool; otherwise it is the pool's.</p>\n<table>\n");
    row(h, "", names_of(folders));
    row(
        h,
        "children",
        folders.iter().map(|f| {
            f.genes
                .region_shares
                .as_ref()
                .map_or("–".into(), |s| s.children.to_string())
        }),
    );
    type Pick = fn(&super::super::genes::RegionShares) -> &super::super::genes::Share;
    let parts: [(&str, Pick); 4] = [
        ("father", |s| &s.father),
        ("mother", |s| &s.mother),
        ("pool", |s| &s.pool),
        ("inherited (blended) regions", |s| &s.inherited),
    ];
    for (name, pick) in parts {
        row(
            h,
            name,
            folders.iter().map(|f| {
                f.genes.region_shares.as_ref().map_or("–".into(), |s| {
                    let share = pick(s);
                    format!(
                        "{} observed · {} expected",
                        mean(&Some(share.observed.clone())),
                        num(share.expected)
                    )
                })
            }),
        );
    }
    row(
        h,
        "background from the father",
        folders.iter().map(|f| {
            f.genes
                .region_shares
                .as_ref()
                .map_or("–".into(), |s| num(s.background_from_father))
        }),
    );
    h.push_str("</table>\n");
}

fn sweep_section(h: &mut String, sweep: &Sweep) -> Result<()> {
    let _ = writeln!(
        h,
        "<h2 id=\"sweep\">Sweep</h2>\n<p class=\"note\">One dataset of {} families per point, from <code>{}</code> with gamma and eta set as below.</p>",
        sweep.families,
        esc(&sweep.spec)
    );
    h.push_str("<table>\n<tr><th>gamma</th><th>eta</th><th>gene resemblance (φ: mean)</th><th>gene slope</th><th>gene diversity</th><th>face slope</th><th>face diversity</th><th>face average AUC</th></tr>\n");
    for p in &sweep.points {
        let g = p.genes.as_ref();
        let f = p.faces.as_ref();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.gamma,
            p.eta,
            g.map_or("–".into(), |g| g
                .resemblance
                .iter()
                .map(|(l, m)| format!("{}: {}", esc(l), num(*m)))
                .collect::<Vec<_>>()
                .join(", ")),
            opt(g.and_then(|g| g.slope)),
            g.map_or("–".into(), |g| mean(&g.diversity)),
            opt(f.and_then(|f| f.slope)),
            f.map_or("–".into(), |f| mean(&f.diversity)),
            opt(f.and_then(|f| f.average_auc)),
        );
    }
    h.push_str("</table>\n<div class=\"row\">\n");
    let mut etas: Vec<f32> = sweep.points.iter().map(|p| p.eta).collect();
    etas.sort_by(f32::total_cmp);
    etas.dedup();
    type Pick = fn(&super::super::sweep::SweepPoint) -> Option<(f64, Option<[f64; 2]>)>;
    let plots_wanted: [(&str, &str, Pick); 4] = [
        ("gene resemblance slope", "slope", |p| {
            Some((p.genes.as_ref()?.slope?, None))
        }),
        ("gene diversity", "mean distance", |p| {
            let d = p.genes.as_ref()?.diversity.as_ref()?;
            Some((d.mean, d.ci))
        }),
        ("face resemblance slope", "slope", |p| {
            Some((p.faces.as_ref()?.slope?, None))
        }),
        ("face diversity", "mean distance", |p| {
            let d = p.faces.as_ref()?.diversity.as_ref()?;
            Some((d.mean, d.ci))
        }),
    ];
    for (title, y, pick) in plots_wanted {
        let series: Vec<Series> = etas
            .iter()
            .map(|&eta| Series {
                label: format!("eta {eta}"),
                points: sweep
                    .points
                    .iter()
                    .filter(|p| p.eta == eta)
                    .filter_map(|p| pick(p).map(|(v, c)| (p.gamma as f64, v, c)))
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        if series.is_empty() {
            continue;
        }
        let _ = writeln!(
            h,
            "<figure>{}</figure>",
            plots::lines(title, "gamma", y, &series)?
        );
    }
    h.push_str("</div>\n");
    Ok(())
}
