//! Graphviz DOT: one node per person showing their face, generations as
//! ranks (a partner who married in stands in their partner's rank), and a
//! small union node per couple from which the children hang. Image paths are
//! relative to the run folder, and Graphviz looks for them in the folders
//! of the graph's `imagepath` (not beside the .dot file), so the graph names
//! the run folder there: `dot -Tsvg RUN/tree.dot -o tree.svg` works from
//! any directory, and the SVG still refers to `people/<id>.png`.

use super::manifest::Manifest;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// Separator of Graphviz's `imagepath` list.
const IMAGEPATH_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

/// The whole graph. `run_dir` (absolute) is where the faces are; without
/// it, or when its name holds the `imagepath` separator, the graph renders
/// from inside the run folder only.
pub fn to_dot(manifest: &Manifest, run_dir: Option<&Path>) -> String {
    let ids: BTreeMap<&str, usize> = manifest
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut couples: Vec<(usize, usize)> = Vec::new();
    let mut children: Vec<(usize, usize)> = Vec::new(); // (couple, child)
    for (i, p) in manifest.people.iter().enumerate() {
        let parents = p
            .father
            .as_deref()
            .and_then(|f| ids.get(f))
            .zip(p.mother.as_deref().and_then(|m| ids.get(m)));
        if let Some((&f, &m)) = parents {
            let c = match couples.iter().position(|&x| x == (f, m)) {
                Some(c) => c,
                None => {
                    couples.push((f, m));
                    couples.len() - 1
                }
            };
            children.push((c, i));
        }
    }
    // Rank: own generation, or a partner's if that is deeper.
    let mut rank: Vec<usize> = manifest.people.iter().map(|p| p.generation).collect();
    for &(f, m) in &couples {
        let r = rank[f].max(rank[m]);
        rank[f] = r;
        rank[m] = r;
    }
    let ranks = rank.iter().copied().max().map_or(0, |r| r + 1);

    let mut d = String::new();
    let _ = writeln!(d, "digraph family {{");
    // `.` comes second, so a run folder that was moved still renders from
    // inside itself, as before `imagepath` was written.
    let imagepath = run_dir
        .map(|dir| dir.to_string_lossy().into_owned())
        .filter(|dir| !dir.contains(IMAGEPATH_SEPARATOR))
        .map(|dir| {
            format!(
                "imagepath={}, ",
                quote(&format!("{dir}{IMAGEPATH_SEPARATOR}."))
            )
        })
        .unwrap_or_default();
    let _ = writeln!(
        d,
        "  graph [{imagepath}label={}, labelloc=t, rankdir=TB, nodesep=0.3, ranksep=0.6];",
        quote(&manifest.scenario)
    );
    let _ = writeln!(
        d,
        "  node [shape=box, style=rounded, margin=0.05, fontsize=10];"
    );
    let _ = writeln!(d, "  edge [arrowhead=none];");
    for g in 0..ranks {
        let _ = writeln!(d, "  subgraph generation_{g} {{");
        let _ = writeln!(d, "    rank=same;");
        for (i, p) in manifest.people.iter().enumerate() {
            if rank[i] != g {
                continue;
            }
            // An HTML-like label keeps the face above the text.
            let label = format!(
                "<<TABLE BORDER=\"0\" CELLSPACING=\"2\"><TR><TD FIXEDSIZE=\"TRUE\" WIDTH=\"96\" HEIGHT=\"96\">\
                 <IMG SRC=\"{}\" SCALE=\"TRUE\"/></TD></TR><TR><TD>{}</TD></TR><TR><TD>{}, {}</TD></TR></TABLE>>",
                escape(&p.image),
                escape(&p.name),
                p.sex,
                p.age_group
            );
            let _ = writeln!(d, "    p{i} [label={label}, tooltip={}];", quote(&p.id));
        }
        for (c, &(f, _)) in couples.iter().enumerate() {
            if rank[f] == g {
                let _ = writeln!(
                    d,
                    "    u{c} [shape=point, width=0.08, height=0.08, label=\"\"];"
                );
            }
        }
        let _ = writeln!(d, "  }}");
    }
    for (c, &(f, m)) in couples.iter().enumerate() {
        let _ = writeln!(d, "  p{f} -> u{c};");
        let _ = writeln!(d, "  p{m} -> u{c};");
    }
    for &(c, child) in &children {
        let _ = writeln!(d, "  u{c} -> p{child};");
    }
    let _ = writeln!(d, "}}");
    d
}

/// A DOT double-quoted string.
fn quote(text: &str) -> String {
    let mut q = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c if c.is_control() => q.push(' '),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Text inside an HTML-like label.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
