//! The dataset's tables: members per family (`FIDxxxx/mid.csv`), kin pairs
//! (`pairs.csv`), father–mother–child triplets (`triplets.csv`) and the
//! family list with its splits (`families.csv`). Image paths are relative to
//! the dataset root.

use super::csv::row;
use super::draw::{image_name, Family, Member};
use super::splits::Split;
use crate::attributes::Ancestry;
use std::collections::HashMap;

pub const MEMBERS_HEADER: &[&str] = &[
    "mid",
    "person_id",
    "sex",
    "age_group",
    "ancestry",
    "father_mid",
    "mother_mid",
    "generation",
    "image",
];

pub const PAIRS_HEADER: &[&str] = &[
    "type", "kin", "kinship", "p1", "p2", "p1_image", "p2_image", "fid1", "fid2", "split",
];

pub const TRIPLETS_HEADER: &[&str] = &[
    "fid",
    "father",
    "mother",
    "child",
    "child_sex",
    "father_image",
    "mother_image",
    "child_image",
    "split",
];

pub const FAMILIES_HEADER: &[&str] = &["fid", "split", "members", "generations", "ancestry"];

/// Ancestries as one field: "White", or "Black+White" for mixed descent.
pub fn ancestry_label(ancestry: &[Ancestry]) -> String {
    ancestry
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join("+")
}

fn image(id: &str) -> String {
    image_name(id).unwrap_or_default()
}

/// `FIDxxxx/mid.csv`. `ancestry` is each member's, in member order.
pub fn members_table(family: &Family, ancestry: &[Vec<Ancestry>]) -> String {
    let mid_of: HashMap<&str, usize> = family
        .members
        .iter()
        .map(|m| (m.person.id.as_str(), m.mid))
        .collect();
    let parent = |id: &Option<String>| {
        id.as_deref()
            .and_then(|id| mid_of.get(id))
            .map(|m| m.to_string())
            .unwrap_or_default()
    };
    let mut out = row(MEMBERS_HEADER);
    for (m, anc) in family.members.iter().zip(ancestry) {
        let p = &m.person;
        out.push_str(&row(&[
            m.mid.to_string(),
            p.id.clone(),
            p.sex.to_string(),
            p.age.to_string(),
            ancestry_label(anc),
            parent(&p.father),
            parent(&p.mother),
            m.generation.to_string(),
            image(&p.id),
        ]));
    }
    out
}

/// One line of `pairs.csv`.
pub fn pair_row(
    label: &str,
    kinship: Option<f64>,
    (p1, fid1): (&str, &str),
    (p2, fid2): (&str, &str),
    split: Split,
) -> String {
    row(&[
        label.to_string(),
        u8::from(kinship.is_some()).to_string(),
        kinship.unwrap_or(0.0).to_string(),
        p1.to_string(),
        p2.to_string(),
        image(p1),
        image(p2),
        fid1.to_string(),
        fid2.to_string(),
        split.label().to_string(),
    ])
}

/// Lines of `triplets.csv` for every member with both parents.
pub fn triplet_rows(family: &Family, split: Split) -> String {
    let mut out = String::new();
    for Member { person: p, .. } in &family.members {
        if let (Some(f), Some(m)) = (&p.father, &p.mother) {
            out.push_str(&row(&[
                family.fid.clone(),
                f.clone(),
                m.clone(),
                p.id.clone(),
                p.sex.to_string(),
                image(f),
                image(m),
                image(&p.id),
                split.label().to_string(),
            ]));
        }
    }
    out
}
