//! Draws one family from the spec. Each family has its own random stream
//! (keyed by its FID), so a family is the same whatever the number of
//! families, the thread count or the order in which families are drawn.

use super::spec::DatasetSpec;
use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::genetics::rng::{stream, Purpose};
use crate::genetics::CrossoverParams;
use crate::pedigree::Person;
use crate::scenario::format::FounderGenes;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};

/// A family's folder name, FIW style: `FID0001`.
pub fn fid(number: usize) -> String {
    format!("FID{number:04}")
}

/// A person's id: `FID0001_MID3` (unique across the dataset, safe in file names).
pub fn person_id(fid: &str, mid: usize) -> String {
    format!("{fid}_MID{mid}")
}

/// A person's image, relative to the dataset root: `FID0001/MID3/FID0001_MID3.png`.
/// Returns None for ids that are not dataset ids.
pub fn image_name(person_id: &str) -> Option<String> {
    let (fid, mid) = person_id.split_once('_')?;
    Some(format!("{fid}/{mid}/{person_id}.png"))
}

/// One member of a drawn family.
#[derive(Clone, Debug)]
pub struct Member {
    /// Member number inside the family, from 1, in drawing order.
    pub mid: usize,
    /// Generation in the family (0 = founder couple); a partner who marries
    /// in belongs to their partner's generation.
    pub generation: usize,
    pub person: Person,
}

/// One drawn family.
#[derive(Clone, Debug)]
pub struct Family {
    /// 1-based family number.
    pub number: usize,
    pub fid: String,
    pub members: Vec<Member>,
}

impl Family {
    pub fn people(&self) -> Vec<Person> {
        self.members.iter().map(|m| m.person.clone()).collect()
    }
}

/// Draws family `number` (1-based) of the dataset seeded with `seed`.
pub fn draw_family(spec: &DatasetSpec, seed: u64, number: usize) -> Family {
    let fid = fid(number);
    let mut b = Builder {
        spec,
        rng: stream(seed, &fid, Purpose::Pedigree),
        fid: fid.clone(),
        members: Vec::new(),
        ancestries: Vec::new(),
    };
    let first = b.draw_ancestry(&[]);
    let second = b.partner_ancestry(&[first]);
    let father = b.add(Sex::Male, 0, None, vec![first]);
    let mother = b.add(Sex::Female, 0, None, second);

    // Couples are expanded breadth first, so member numbers follow generations.
    let mut couples = VecDeque::from([(father, mother, 0usize)]);
    while let Some((f, m, generation)) = couples.pop_front() {
        if generation + 1 >= spec.generations {
            continue;
        }
        let mut children = b.add_children(f, m, generation + 1);
        if b.rng.random_bool(spec.half_siblings) {
            // One partner has children with someone else too.
            let (stays, sex) = if b.rng.random_bool(0.5) {
                (f, Sex::Female)
            } else {
                (m, Sex::Male)
            };
            let anc = b.partner_ancestry(&b.ancestries[stays].clone());
            let other = b.add(sex, generation, None, anc);
            let (f2, m2) = if sex == Sex::Female {
                (stays, other)
            } else {
                (other, stays)
            };
            children.extend(b.add_children(f2, m2, generation + 1));
        }
        if generation + 2 >= spec.generations {
            continue;
        }
        // Who in the next generation starts a family of their own.
        let mut chosen: Vec<usize> = children
            .iter()
            .copied()
            .filter(|_| b.rng.random_bool(spec.partnered))
            .collect();
        if chosen.is_empty() {
            chosen.push(children[b.rng.random_range(0..children.len())]);
        }
        for child in chosen {
            let sex = b.members[child].person.sex;
            let anc = b.partner_ancestry(&b.ancestries[child].clone());
            let partner_sex = match sex {
                Sex::Male => Sex::Female,
                Sex::Female => Sex::Male,
            };
            let partner = b.add(partner_sex, generation + 1, None, anc);
            couples.push_back(match sex {
                Sex::Male => (child, partner, generation + 1),
                Sex::Female => (partner, child, generation + 1),
            });
        }
    }
    Family {
        number,
        fid,
        members: b.members,
    }
}

struct Builder<'a> {
    spec: &'a DatasetSpec,
    rng: ChaCha8Rng,
    fid: String,
    members: Vec<Member>,
    /// Every ancestry each member descends from (founders: their own).
    ancestries: Vec<Vec<Ancestry>>,
}

impl Builder<'_> {
    /// Adds a person; `parents` are member indices. Returns the new index.
    fn add(
        &mut self,
        sex: Sex,
        generation: usize,
        parents: Option<(usize, usize)>,
        ancestry: Vec<Ancestry>,
    ) -> usize {
        let mid = self.members.len() + 1;
        let id = person_id(&self.fid, mid);
        let groups = &self.spec.age_groups[generation];
        let age: AgeGroup = groups[self.rng.random_range(0..groups.len())];
        let parent_id = |i: usize| self.members[i].person.id.clone();
        let person = Person {
            name: id.clone(),
            surname: None,
            id,
            sex,
            age,
            ancestry: if parents.is_none() {
                ancestry.clone()
            } else {
                Vec::new()
            },
            father: parents.map(|(f, _)| parent_id(f)),
            mother: parents.map(|(_, m)| parent_id(m)),
            params: CrossoverParams {
                gamma: self.spec.defaults.gamma,
                eta: self.spec.defaults.eta,
                lean: 0.0,
            },
            overrides: BTreeMap::new(),
            founder_genes: FounderGenes::Pool,
            seed: None,
        };
        self.members.push(Member {
            mid,
            generation,
            person,
        });
        self.ancestries.push(ancestry);
        self.members.len() - 1
    }

    fn add_children(&mut self, father: usize, mother: usize, generation: usize) -> Vec<usize> {
        let count = self.draw_children();
        let mut anc = self.ancestries[father].clone();
        anc.extend(self.ancestries[mother].iter().copied());
        anc.sort();
        anc.dedup();
        (0..count)
            .map(|_| {
                let sex = if self.rng.random_bool(self.spec.male_share) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                self.add(sex, generation, Some((father, mother)), anc.clone())
            })
            .collect()
    }

    fn draw_children(&mut self) -> usize {
        let weights: Vec<(usize, f64)> = self.spec.children.iter().map(|(k, w)| (*k, *w)).collect();
        weighted(&mut self.rng, &weights).unwrap_or(1)
    }

    /// An ancestry from the spec's mix, avoiding `except` when possible.
    fn draw_ancestry(&mut self, except: &[Ancestry]) -> Ancestry {
        let weights: Vec<(Ancestry, f64)> = self
            .spec
            .ancestry
            .iter()
            .filter(|(a, _)| !except.contains(a))
            .map(|(a, w)| (*a, *w))
            .collect();
        weighted(&mut self.rng, &weights).unwrap_or_else(|| {
            // Only excluded ancestries have weight: fall back to the whole mix.
            let all: Vec<(Ancestry, f64)> =
                self.spec.ancestry.iter().map(|(a, w)| (*a, *w)).collect();
            weighted(&mut self.rng, &all).unwrap_or(Ancestry::White)
        })
    }

    /// The ancestry of someone who partners a person of `partner` ancestries:
    /// a different one for a mixed couple, else one of the partner's.
    fn partner_ancestry(&mut self, partner: &[Ancestry]) -> Vec<Ancestry> {
        if self.rng.random_bool(self.spec.mixed_couples) {
            vec![self.draw_ancestry(partner)]
        } else {
            vec![partner[self.rng.random_range(0..partner.len())]]
        }
    }
}

/// Draws a key with probability proportional to its weight (None if no weight is positive).
fn weighted<K: Copy>(rng: &mut ChaCha8Rng, weights: &[(K, f64)]) -> Option<K> {
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return None;
    }
    let mut x = rng.random_range(0.0..total);
    for (k, w) in weights {
        if x < *w {
            return Some(*k);
        }
        x -= w;
    }
    weights
        .iter()
        .rev()
        .find(|(_, w)| *w > 0.0)
        .map(|(k, _)| *k)
}
