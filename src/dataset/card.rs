//! `DATASET.md`: the dataset card — what was asked for, what is in it
//! (counts per relation type, split, sex, age group and ancestry) and how
//! every file is laid out.

use super::relations::Relation;
use super::spec::DatasetSpec;
use super::splits::Split;
use crate::attributes::{AgeGroup, Sex};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Counts gathered while the dataset is written.
#[derive(Default, Debug, Clone)]
pub struct Stats {
    pub families: BTreeMap<Split, usize>,
    pub people: BTreeMap<Split, usize>,
    pub positives: BTreeMap<(Relation, Split), usize>,
    pub negatives: BTreeMap<(Relation, Split), usize>,
    /// Kin pairs for which no matching non-kin person existed in their split.
    pub unmatched: usize,
    pub triplets: BTreeMap<Split, usize>,
    /// Kinship coefficients seen per relation (min, max).
    pub kinship: BTreeMap<Relation, (f64, f64)>,
    pub sex: BTreeMap<(Sex, Split), usize>,
    pub age: BTreeMap<(AgeGroup, Split), usize>,
    /// Ancestry label ("White", "Black+White") per split.
    pub ancestry: BTreeMap<(String, Split), usize>,
}

impl Stats {
    pub fn note_kinship(&mut self, relation: Relation, phi: f64) {
        let e = self.kinship.entry(relation).or_insert((phi, phi));
        e.0 = e.0.min(phi);
        e.1 = e.1.max(phi);
    }

    pub fn total_positives(&self) -> usize {
        self.positives.values().sum()
    }

    pub fn total_negatives(&self) -> usize {
        self.negatives.values().sum()
    }
}

/// A table whose rows are keys and whose columns are the splits plus a total.
fn split_table<K: Ord + Clone>(
    out: &mut String,
    first: &str,
    map: &BTreeMap<(K, Split), usize>,
    name: impl Fn(&K) -> String,
) {
    let mut rows: BTreeMap<K, [usize; 3]> = BTreeMap::new();
    for ((k, s), n) in map {
        rows.entry(k.clone()).or_default()[*s as usize] += n;
    }
    let _ = writeln!(out, "| {first} | train | val | test | total |");
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: |");
    for (k, c) in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            name(&k),
            c[0],
            c[1],
            c[2],
            c.iter().sum::<usize>()
        );
    }
    out.push('\n');
}

fn per_split(map: &BTreeMap<Split, usize>) -> [usize; 3] {
    Split::ALL.map(|s| map.get(&s).copied().unwrap_or(0))
}

/// The card's Markdown.
pub fn render_card(spec: &DatasetSpec, model: &str, stats: &Stats) -> String {
    let mut o = String::new();
    let total = |m: &BTreeMap<Split, usize>| m.values().sum::<usize>();
    let _ = writeln!(o, "# {}\n", spec.name);
    let _ = writeln!(
        o,
        "A synthetic kinship dataset made by famsim {}: {} families over {} generation(s), \
         {} people, one {}×{} px face each, painted by the `{model}` model from seed {}. \
         Every label comes from the pedigree graph the faces were made from.\n",
        env!("CARGO_PKG_VERSION"),
        total(&stats.families),
        spec.generations,
        total(&stats.people),
        spec.image_size,
        spec.image_size,
        spec.seed,
    );
    let _ = writeln!(o, "## Splits\n");
    let _ = writeln!(
        o,
        "Families never cross splits; negatives are drawn inside their split.\n"
    );
    let _ = writeln!(o, "| | train | val | test | total |");
    let _ = writeln!(o, "| --- | ---: | ---: | ---: | ---: |");
    for (name, m) in [
        ("families", &stats.families),
        ("people", &stats.people),
        ("triplets", &stats.triplets),
    ] {
        let c = per_split(m);
        let _ = writeln!(
            o,
            "| {name} | {} | {} | {} | {} |",
            c[0],
            c[1],
            c[2],
            total(m)
        );
    }
    o.push('\n');

    let _ = writeln!(o, "## Kin pairs per relation type\n");
    let _ = writeln!(
        o,
        "Positives (kin = 1) and their negatives (kin = 0). {} positives, {} negatives{}.\n",
        stats.total_positives(),
        stats.total_negatives(),
        if stats.unmatched > 0 {
            format!(
                "; {} positives had no non-kin match of the same sex and age group in their split",
                stats.unmatched
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        o,
        "| type | relation | kinship | train + | val + | test + | train − | val − | test − |"
    );
    let _ = writeln!(
        o,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in Relation::ALL {
        let pos = Split::ALL.map(|s| stats.positives.get(&(r, s)).copied().unwrap_or(0));
        let neg = Split::ALL.map(|s| stats.negatives.get(&(r, s)).copied().unwrap_or(0));
        let phi = match stats.kinship.get(&r) {
            Some((a, b)) if a == b => format!("{a}"),
            Some((a, b)) => format!("{a}–{b}"),
            None => "–".into(),
        };
        let _ = writeln!(
            o,
            "| {} | {} | {phi} | {} | {} | {} | {} | {} | {} |",
            r.label(),
            r.description(),
            pos[0],
            pos[1],
            pos[2],
            neg[0],
            neg[1],
            neg[2]
        );
    }
    o.push('\n');

    let _ = writeln!(o, "## People\n");
    split_table(&mut o, "sex", &stats.sex, |s| s.to_string());
    split_table(&mut o, "age group", &stats.age, |a| a.to_string());
    split_table(&mut o, "ancestry", &stats.ancestry, |a| a.clone());

    let _ = writeln!(o, "## How it was drawn\n");
    let children: Vec<String> = spec
        .children
        .iter()
        .map(|(k, w)| format!("{k}: {w}"))
        .collect();
    let ancestry: Vec<String> = spec
        .ancestry
        .iter()
        .map(|(a, w)| format!("{a:?}: {w}"))
        .collect();
    let ages: Vec<String> = spec
        .age_groups
        .iter()
        .enumerate()
        .map(|(g, groups)| {
            format!(
                "generation {}: {}",
                g + 1,
                groups
                    .iter()
                    .map(|a| a.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    for (k, v) in [
        ("children per couple (weights)", children.join(", ")),
        ("share of boys", spec.male_share.to_string()),
        ("age groups", ages.join("; ")),
        ("founder ancestry (weights)", ancestry.join(", ")),
        ("mixed couples", spec.mixed_couples.to_string()),
        (
            "couples with a second partner (half-siblings)",
            spec.half_siblings.to_string(),
        ),
        ("children who start a family", spec.partnered.to_string()),
        (
            "crossover γ, η",
            format!("{}, {}", spec.defaults.gamma, spec.defaults.eta),
        ),
        (
            "split ratios",
            format!(
                "train {}, val {}, test {}",
                spec.splits.train, spec.splits.val, spec.splits.test
            ),
        ),
    ] {
        let _ = writeln!(o, "- {k}: {v}");
    }
    o.push('\n');
    o.push_str(LAYOUT);
    o
}

const LAYOUT: &str = "## Files

- `FIDxxxx/MIDy/FIDxxxx_MIDy.png` — the face of member y of family xxxx (the Families In the Wild layout).
- `FIDxxxx/mid.csv` — the family's members: `mid, person_id, sex, age_group, ancestry, father_mid, mother_mid, generation, image`. Generation 0 is the founder couple; a partner who married in has their partner's generation. Ancestry lists every ancestry a person descends from, joined by `+`.
- `FIDxxxx/manifest.json` — famsim's manifest for the family (image paths relative to the family folder): crossover parameters and, for every child, where each of the 34 face regions came from. `famsim export FIDxxxx --gedcom --dot --html` turns it into a GEDCOM file, a Graphviz graph and a tree page.
- `pairs.csv` — `type, kin, kinship, p1, p2, p1_image, p2_image, fid1, fid2, split`. Every kin pair of the types above is listed once (p1 is the parent or grandparent; the brother in `sibs`), followed by its negative: p1 with a person of another family in the same split who has p2's sex and age group (kin = 0, kinship = 0).
- `triplets.csv` — `fid, father, mother, child, child_sex, father_image, mother_image, child_image, split`: one line per person with both parents.
- `families.csv` — `fid, split, members, generations, ancestry` (the founder couple's ancestries).

Kinship coefficients are computed from the pedigree graph: the probability that an allele drawn at random from each person is identical by descent (parent–child and full siblings 1/4, half-siblings and grandparent–grandchild 1/8, first cousins 1/16 when no one is inbred).
";
