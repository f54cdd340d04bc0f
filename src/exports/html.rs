//! `index.html`: a family tree that opens from disk (no server, no network).
//! Generations are rows, partners stand together, siblings are grouped under
//! their parents, and clicking a child shows which regions came from whom.
//! Large trees stay usable: rows scroll, generations fold, a search box finds people.

use super::manifest::{Manifest, PersonRecord};
use crate::error::{Error, Result};
use minijinja::{context, Environment};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

const TEMPLATE: &str = include_str!("templates/tree.html");

/// Generations past this many people start folded, to keep big pages light.
const FOLD_ABOVE: usize = 120;

#[derive(Serialize)]
struct Card<'a> {
    id: &'a str,
    name: &'a str,
    sex: String,
    age: String,
    /// Already escaped for an attribute (minijinja would also escape `/`,
    /// which is legal but makes the page harder to read and to check).
    image: String,
    search: String,
    exists: bool,
    /// A founder shown beside a partner from the family.
    inlaw: bool,
}

#[derive(Serialize)]
struct Unit<'a> {
    label: Option<String>,
    people: Vec<Card<'a>>,
}

#[derive(Serialize)]
struct Generation<'a> {
    index: usize,
    count: usize,
    collapsed: bool,
    units: Vec<Unit<'a>>,
}

/// Renders the tree page for a run directory (image existence is checked in `run_dir`).
pub fn render_tree(manifest: &Manifest, run_dir: &Path) -> Result<String> {
    let mut env = Environment::new();
    env.add_template("tree.html", TEMPLATE)
        .map_err(|e| Error::internal(format!("tree template: {e}")))?;
    let generations = layout(manifest, run_dir);
    // `</` inside a script element would end it early; JSON allows `<\/`.
    let people_json = serde_json::to_string(&manifest.people)
        .map_err(|e| Error::internal(format!("tree data: {e}")))?
        .replace("</", "<\\/");
    env.get_template("tree.html")
        .and_then(|t| {
            t.render(context! {
                title => &manifest.scenario,
                people_count => manifest.people.len(),
                generation_count => manifest.generations,
                model => &manifest.model,
                seed => manifest.seed,
                thumb => thumb_size(manifest.people.len()),
                generations => generations,
                people_json => people_json,
            })
        })
        .map_err(|e| Error::internal(format!("tree page: {e}")))
}

fn thumb_size(people: usize) -> u32 {
    if people > 60 {
        72
    } else {
        112
    }
}

/// A sibling group's (father, mother) ids; None for founders.
type Parents<'a> = Option<(&'a str, &'a str)>;

/// Groups each generation into units: founders by couple, children by their
/// parents (siblings together), and places partners side by side.
fn layout<'a>(manifest: &'a Manifest, run_dir: &Path) -> Vec<Generation<'a>> {
    let by_id: BTreeMap<&str, &PersonRecord> =
        manifest.people.iter().map(|p| (p.id.as_str(), p)).collect();
    // Partners: people who share a child.
    let mut partners: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &manifest.people {
        if let (Some(f), Some(m)) = (&p.father, &p.mother) {
            for (a, b) in [(f, m), (m, f)] {
                let list = partners.entry(a.as_str()).or_default();
                if !list.contains(&b.as_str()) {
                    list.push(b.as_str());
                }
            }
        }
    }
    let rows = manifest.display_rows();
    let row_of: BTreeMap<&str, usize> = manifest
        .people
        .iter()
        .zip(&rows)
        .map(|(p, &r)| (p.id.as_str(), r))
        .collect();
    let row = |p: &PersonRecord| row_of[p.id.as_str()];
    let card = |p: &'a PersonRecord| Card {
        id: &p.id,
        name: &p.name,
        sex: p.sex.to_string(),
        age: p.age_group.to_string(),
        image: escape_attribute(&p.image),
        search: format!("{} {}", p.name, p.id).to_lowercase(),
        exists: run_dir.join(&p.image).is_file(),
        inlaw: p.father.is_none() && row(p) > 0,
    };

    (0..manifest.generations)
        .map(|g| {
            let members: Vec<&PersonRecord> =
                manifest.people.iter().filter(|p| row(p) == g).collect();
            // Sibling groups in order of first appearance; founders alone.
            let mut groups: Vec<(Parents, Vec<&PersonRecord>)> = Vec::new();
            for p in &members {
                let key = p.father.as_deref().zip(p.mother.as_deref());
                match groups.iter_mut().find(|(k, _)| key.is_some() && *k == key) {
                    Some((_, list)) => list.push(p),
                    None => groups.push((key, vec![p])),
                }
            }
            // Partners in the same generation follow right after each other.
            let mut placed: Vec<&str> = Vec::new();
            let mut units = Vec::new();
            for (key, list) in groups {
                let mut people = Vec::new();
                for p in list {
                    if placed.contains(&p.id.as_str()) {
                        continue;
                    }
                    placed.push(&p.id);
                    people.push(card(p));
                    for partner in partners.get(p.id.as_str()).into_iter().flatten() {
                        if let Some(q) = by_id.get(partner) {
                            if row(q) == g && !placed.contains(partner) && q.father.is_none() {
                                placed.push(partner);
                                people.push(card(q));
                            }
                        }
                    }
                }
                if people.is_empty() {
                    continue;
                }
                let label = key.map(|(f, m)| {
                    let name = |id: &str| {
                        by_id
                            .get(id)
                            .map(|p| p.name.clone())
                            .unwrap_or_else(|| id.to_string())
                    };
                    format!("{} & {}", name(f), name(m))
                });
                units.push(Unit { label, people });
            }
            Generation {
                index: g,
                count: members.len(),
                collapsed: g > 0 && members.len() > FOLD_ABOVE,
                units,
            }
        })
        .collect()
}

/// Escapes the characters that matter inside a double-quoted HTML attribute.
fn escape_attribute(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
