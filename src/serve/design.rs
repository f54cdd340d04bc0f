//! What the designer page edits: a family as JSON, and its one way back to a
//! scenario file. The server never simulates a `Design` directly: it writes
//! the RON text with [`Design::to_ron`] and runs that text through
//! `scenario::parse_and_validate` and the engine, exactly as `famsim run`
//! would run the downloaded file. So the download is always the scenario
//! that made the faces on the page.

use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::genetics::Inheritance;
use crate::pedigree::FounderGenes;
use crate::scenario::format::{ModelSpec, ScenarioFile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A family as the page holds it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Design {
    pub name: String,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_size")]
    pub image_size: u32,
    /// The neural model from the server's `--weights`; false: procedural.
    #[serde(default)]
    pub neural: bool,
    #[serde(default = "default_gamma")]
    pub gamma: f32,
    #[serde(default = "default_eta")]
    pub eta: f32,
    pub people: Vec<DesignPerson>,
}

fn default_size() -> u32 {
    256
}
fn default_gamma() -> f32 {
    0.47
}
fn default_eta() -> f32 {
    0.4
}

/// One person as the page holds them; the fields of a scenario's person
/// (scenarios/README.md) plus the page's `locked`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DesignPerson {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    pub sex: Sex,
    pub age: AgeGroup,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ancestry: Option<Ancestry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub father: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mother: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lean: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, Inheritance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genes: Option<DesignGenes>,
    /// A face the user locked: the server refuses a change that would
    /// redraw it (see [`Design::check_locks`]). The file needs no field for
    /// it: the page pins the seeds the face is made from, so `famsim run`
    /// draws it the same.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locked: bool,
}

/// Where a founder's genes come from, as the page offers it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum DesignGenes {
    Pool,
    Seed(u64),
    /// An uploaded ordinary photo, by the name the upload returned
    /// (`<hex>.jpg`): a `Photo(…)` founder, aligned when rendered.
    Photo(String),
    /// An uploaded photo that is already an aligned square crop (weights
    /// without an aligner): an `AlignedPhoto(…)` founder.
    AlignedPhoto(String),
}

/// Folder (in the session workspace) that holds uploaded photos.
pub const PHOTOS_DIR: &str = "photos";

/// Whether `name` is a photo name the server itself gave out: 16 hex digits
/// and `.png` or `.jpg`. Anything else never reaches a path.
pub fn is_photo_name(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    stem.len() == 16
        && stem
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && matches!(ext, "png" | "jpg")
}

impl Design {
    /// The scenario text for this design. `weights` is the server's
    /// `--weights` folder (written as an absolute path, so the file runs from
    /// anywhere); photos are named relative to the workspace the file is
    /// validated in.
    pub fn to_ron(&self, weights: Option<&str>) -> Result<String, String> {
        let mut out = String::new();
        out.push_str(
            "// Written by `famsim serve`; `famsim run` on this file reproduces the page.\n(\n",
        );
        field(&mut out, 1, "name", &ron_value(&self.name)?);
        field(&mut out, 1, "seed", &self.seed.to_string());
        let model = match (self.neural, weights) {
            (false, _) => "Procedural".to_string(),
            (true, Some(w)) => format!("StyleGene(weights: {})", ron_value(&w.to_string())?),
            (true, None) => {
                return Err("the neural model needs weights: start `famsim serve` with --weights DIR (see weights/README.md)".into())
            }
        };
        field(&mut out, 1, "model", &model);
        field(&mut out, 1, "image_size", &self.image_size.to_string());
        field(
            &mut out,
            1,
            "defaults",
            &format!(
                "(gamma: {}, eta: {})",
                ron_value(&self.gamma)?,
                ron_value(&self.eta)?
            ),
        );
        out.push_str("    people: [\n");
        for p in &self.people {
            out.push_str("        (");
            let mut parts = vec![
                format!("id: {}", ron_value(&p.id)?),
                format!("sex: {}", ron_value(&p.sex)?),
                format!("age: {}", ron_value(&p.age)?),
            ];
            let mut opt = |name: &str, v: Option<String>| {
                if let Some(v) = v {
                    parts.push(format!("{name}: {v}"));
                }
            };
            opt("name", p.name.as_ref().map(ron_value).transpose()?);
            opt("surname", p.surname.as_ref().map(ron_value).transpose()?);
            opt("ancestry", p.ancestry.as_ref().map(ron_value).transpose()?);
            opt("father", p.father.as_ref().map(ron_value).transpose()?);
            opt("mother", p.mother.as_ref().map(ron_value).transpose()?);
            opt("gamma", p.gamma.as_ref().map(ron_value).transpose()?);
            opt("eta", p.eta.as_ref().map(ron_value).transpose()?);
            opt("lean", p.lean.as_ref().map(ron_value).transpose()?);
            opt("seed", p.seed.map(|s| s.to_string()));
            if !p.regions.is_empty() {
                let pins = p
                    .regions
                    .iter()
                    .map(|(k, v)| Ok(format!("{}: {}", ron_value(k)?, ron_value(v)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                opt("regions", Some(format!("{{{}}}", pins.join(", "))));
            }
            let genes = match &p.genes {
                None => None,
                Some(DesignGenes::Pool) => Some("Pool".to_string()),
                Some(DesignGenes::Seed(s)) => Some(format!("Seed({s})")),
                Some(DesignGenes::Photo(name) | DesignGenes::AlignedPhoto(name)) => {
                    if !is_photo_name(name) {
                        return Err(format!(
                            "person {:?}: photo {name:?} is not one this server stored; upload it first",
                            p.id
                        ));
                    }
                    let kind = match &p.genes {
                        Some(DesignGenes::AlignedPhoto(_)) => "AlignedPhoto",
                        _ => "Photo",
                    };
                    Some(format!(
                        "{kind}({})",
                        ron_value(&format!("{PHOTOS_DIR}/{name}"))?
                    ))
                }
            };
            opt("genes", genes);
            out.push_str(&parts.join(", "));
            out.push_str("),\n");
        }
        out.push_str("    ],\n)\n");
        Ok(out)
    }

    /// A design from a validated scenario file. Founders from latent files
    /// cannot be edited here (the page has no latent files); photos must be
    /// ones this server stored in the workspace's photo folder
    /// (`photos/<hex>.jpg`, as a downloaded scenario names them).
    pub fn from_file(file: &ScenarioFile) -> Result<Design, String> {
        let people = file
            .people
            .iter()
            .map(|p| {
                let genes = match &p.genes {
                    None => None,
                    Some(FounderGenes::Pool) => Some(DesignGenes::Pool),
                    Some(FounderGenes::Seed(s)) => Some(DesignGenes::Seed(*s)),
                    Some(FounderGenes::Photo(f)) if stored_photo(f).is_some() => {
                        stored_photo(f).map(DesignGenes::Photo)
                    }
                    Some(FounderGenes::AlignedPhoto(f)) if stored_photo(f).is_some() => {
                        stored_photo(f).map(DesignGenes::AlignedPhoto)
                    }
                    Some(FounderGenes::Latent(_))
                    | Some(FounderGenes::Photo(_))
                    | Some(FounderGenes::AlignedPhoto(_)) => {
                        return Err(format!(
                            "person {:?}: founders from latent or photo files cannot be opened in the designer; \
                             use genes: Pool or Seed(…), and upload photos on the page",
                            p.id
                        ))
                    }
                };
                Ok(DesignPerson {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    surname: p.surname.clone(),
                    // Only photo founders (refused above) may leave these
                    // out, to be predicted from the photo.
                    sex: p
                        .sex
                        .ok_or_else(|| format!("person {:?}: no sex stated", p.id))?,
                    age: p
                        .age
                        .ok_or_else(|| format!("person {:?}: no age stated", p.id))?,
                    ancestry: p.ancestry,
                    father: p.father.clone(),
                    mother: p.mother.clone(),
                    gamma: p.gamma,
                    eta: p.eta,
                    lean: p.lean,
                    seed: p.seed,
                    regions: p
                        .regions
                        .iter()
                        .map(|(k, v)| (k.0.clone(), *v))
                        .collect(),
                    genes,
                    locked: false,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Design {
            name: file.name.clone(),
            seed: file.seed,
            image_size: file.image_size,
            neural: matches!(file.model, ModelSpec::StyleGene(_)),
            gamma: file.defaults.gamma,
            eta: file.defaults.eta,
            people,
        })
    }

    /// Refuses a change that would redraw a locked face. `before` is the
    /// design whose faces the page shows (the newest render's). A locked
    /// person's portrait is made of their own entry, the family's model and
    /// image size, and their ancestors' faces (their genes come from them),
    /// so a change to any of those is refused, naming what changed; the
    /// page pins the seeds a locked face uses, so re-rolling the family or
    /// anyone outside the locked person's line keeps it byte for byte.
    pub fn check_locks(&self, before: Option<&Design>) -> Result<(), String> {
        let Some(before) = before else {
            return Ok(());
        };
        let (now, then) = (self.face_keys(), before.face_keys());
        let mut refused = Vec::new();
        for p in self.people.iter().filter(|p| p.locked) {
            let Some(old) = then.get(p.id.as_str()) else {
                continue;
            };
            if now.get(p.id.as_str()) == Some(old) {
                continue;
            }
            let why = if (self.neural, self.image_size) != (before.neural, before.image_size) {
                "the model or the image size changed".to_string()
            } else {
                let changed: Vec<String> = self
                    .line_of(&p.id)
                    .into_iter()
                    .filter(|id| before.own_part(id) != self.own_part(id))
                    .map(|id| {
                        if id == p.id {
                            "their own entry changed".to_string()
                        } else {
                            format!("their ancestor {id:?} changed")
                        }
                    })
                    .collect();
                if changed.is_empty() {
                    "their parents changed".to_string()
                } else {
                    changed.join(", ")
                }
            };
            refused.push(format!("{:?} ({why})", p.id));
        }
        if refused.is_empty() {
            return Ok(());
        }
        Err(format!(
            "this change would redraw locked face{} {}; unlock {} first, or undo the change",
            if refused.len() == 1 { "" } else { "s" },
            refused.join(", "),
            if refused.len() == 1 { "it" } else { "them" },
        ))
    }

    fn person(&self, id: &str) -> Option<&DesignPerson> {
        self.people.iter().find(|p| p.id == id)
    }

    /// `id` and every ancestor of theirs in this design, `id` first.
    fn line_of(&self, id: &str) -> Vec<String> {
        let mut out: Vec<String> = vec![id.to_string()];
        let mut i = 0;
        while i < out.len() {
            if let Some(p) = self.person(&out[i]) {
                for parent in [&p.father, &p.mother].into_iter().flatten() {
                    if !out.contains(parent) {
                        out.push(parent.clone());
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// Everything of a person's own that their portrait is drawn from, as
    /// the engine reads it: the effective seed (theirs or the family's;
    /// none for founders whose genes name their face), a child's effective
    /// gamma, eta and lean, and every other field but the names. None for
    /// someone not in the design.
    fn own_part(&self, id: &str) -> Option<String> {
        let p = self.person(id)?;
        let mut q = p.clone();
        q.name = None;
        q.surname = None;
        q.locked = false;
        let founder = p.father.is_none() && p.mother.is_none();
        let seed_free = founder
            && matches!(
                p.genes,
                Some(DesignGenes::Seed(_) | DesignGenes::Photo(_) | DesignGenes::AlignedPhoto(_))
            );
        q.seed = (!seed_free).then(|| p.seed.unwrap_or(self.seed));
        if !founder {
            q.gamma = Some(p.gamma.unwrap_or(self.gamma));
            q.eta = Some(p.eta.unwrap_or(self.eta));
            q.lean = Some(p.lean.unwrap_or(0.0));
        }
        Some(format!(
            "{}|{}|{}",
            self.neural,
            self.image_size,
            serde_json::to_string(&q).unwrap_or_default()
        ))
    }

    /// Person id → a key that changes whenever their portrait would: their
    /// own part and their parents' keys.
    fn face_keys(&self) -> BTreeMap<&str, String> {
        use sha2::{Digest, Sha256};
        let mut keys: BTreeMap<&str, String> = BTreeMap::new();
        // Parents before children; a person whose parents never get a key
        // (a cycle, a missing parent) gets none, and the scenario checks
        // say what is wrong with the family.
        loop {
            let mut progressed = false;
            for p in &self.people {
                if keys.contains_key(p.id.as_str()) {
                    continue;
                }
                let parents: Option<Vec<String>> = [&p.father, &p.mother]
                    .into_iter()
                    .flatten()
                    .map(|id| keys.get(id.as_str()).cloned())
                    .collect();
                let Some(parents) = parents else { continue };
                let mut h = Sha256::new();
                h.update(self.own_part(&p.id).unwrap_or_default());
                for parent in parents {
                    h.update(b"|");
                    h.update(parent);
                }
                keys.insert(&p.id, hex::encode(h.finalize()));
                progressed = true;
            }
            if !progressed {
                return keys;
            }
        }
    }

    /// The page's "blank couple": two founders and nobody else.
    pub fn blank_couple() -> Design {
        let founder = |id: &str, sex: Sex, ancestry: Ancestry| DesignPerson {
            id: id.into(),
            name: None,
            surname: None,
            sex,
            age: AgeGroup::Age30To39,
            ancestry: Some(ancestry),
            father: None,
            mother: None,
            gamma: None,
            eta: None,
            lean: None,
            seed: None,
            regions: BTreeMap::new(),
            genes: None,
            locked: false,
        };
        Design {
            name: "A new family".into(),
            seed: 1,
            image_size: 256,
            neural: false,
            gamma: default_gamma(),
            eta: default_eta(),
            people: vec![
                founder("father", Sex::Male, Ancestry::White),
                founder("mother", Sex::Female, Ancestry::EastAsian),
            ],
        }
    }
}

/// The photo name in `photos/<name>` when it is one this server hands out.
fn stored_photo(written: &str) -> Option<String> {
    written
        .strip_prefix(PHOTOS_DIR)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|name| is_photo_name(name))
        .map(str::to_string)
}

fn field(out: &mut String, indent: usize, name: &str, value: &str) {
    out.push_str(&"    ".repeat(indent));
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push_str(",\n");
}

/// One value in RON (strings escaped, floats in their shortest exact form).
fn ron_value<T: Serialize + ?Sized>(v: &T) -> Result<String, String> {
    ron::to_string(v).map_err(|e| format!("cannot write a scenario value: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every shipped scenario survives file → design → file unchanged in
    /// meaning: the same pedigree, parameters and pins.
    #[test]
    fn shipped_scenarios_round_trip_through_the_designer() {
        for text in super::super::assets::SCENARIOS.iter().map(|s| s.1) {
            let loaded = crate::scenario::parse_and_validate(Path::new("s.ron"), text).unwrap();
            let design = Design::from_file(&loaded.file).unwrap();
            let again = crate::scenario::parse_and_validate(
                Path::new("s.ron"),
                &design.to_ron(None).unwrap(),
            )
            .unwrap();
            assert_eq!(Design::from_file(&again.file).unwrap(), design);
        }
    }

    #[test]
    fn odd_strings_are_escaped_and_floats_keep_their_bits() {
        let mut d = Design::blank_couple();
        d.name = "Quote \" and \\ and\nnewline".into();
        d.gamma = 0.1 + 0.2;
        d.people[0].name = Some("Ann \"Nan\" O'Neil".into());
        let loaded =
            crate::scenario::parse_and_validate(Path::new("s.ron"), &d.to_ron(None).unwrap())
                .unwrap();
        assert_eq!(Design::from_file(&loaded.file).unwrap(), d);
    }

    /// A locked child is refused a change to herself or a parent, but not
    /// to her name, to a pinned seed equal to the one she used, or to
    /// someone outside her line.
    #[test]
    fn locks_refuse_only_changes_that_redraw_the_face() {
        let mut before = Design::blank_couple();
        let mut kid = before.people[0].clone();
        (kid.id, kid.father, kid.mother) =
            ("kid".into(), Some("father".into()), Some("mother".into()));
        kid.ancestry = None;
        let mut aunt = before.people[1].clone();
        aunt.id = "aunt".into();
        before.people.extend([kid, aunt]);
        let mut now = before.clone();
        now.people[2].locked = true;
        assert_eq!(now.check_locks(Some(&before)), Ok(()));
        now.people[2].name = Some("Kid".into());
        now.people[2].seed = Some(before.seed);
        now.people[3].seed = Some(5);
        assert_eq!(now.check_locks(Some(&before)), Ok(()));
        assert_eq!(now.check_locks(None), Ok(()));
        let mut edited = now.clone();
        edited.people[0].ancestry = Some(Ancestry::Black);
        let refused = edited.check_locks(Some(&now)).unwrap_err();
        assert!(
            refused.contains("\"kid\" (their ancestor \"father\" changed)"),
            "{refused}"
        );
        let mut edited = now.clone();
        edited.people[2].lean = Some(0.5);
        let refused = edited.check_locks(Some(&now)).unwrap_err();
        assert!(refused.contains("their own entry changed"), "{refused}");
        // The family's seed: only for faces that still use it.
        let mut edited = now.clone();
        edited.seed += 1;
        let refused = edited.check_locks(Some(&now)).unwrap_err();
        assert!(
            refused.contains(
                "\"kid\" (their ancestor \"father\" changed, their ancestor \"mother\" changed)"
            ),
            "{refused}"
        );
    }

    #[test]
    fn photo_names_are_only_the_servers_own() {
        assert!(is_photo_name("0123456789abcdef.png"));
        for bad in [
            "../../etc/passwd",
            "0123456789abcdef.png/..",
            "0123456789ABCDEF.png",
            "0123456789abcde.png",
            "0123456789abcdef.exe",
            "",
        ] {
            assert!(!is_photo_name(bad), "{bad}");
        }
    }
}
