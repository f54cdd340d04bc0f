//! The person attributes the method conditions on: age group, sex and ancestry
//! (FairFace's labels, which key StyleGene's gene pool as "age-gender-race").

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// FairFace age groups, youngest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeGroup {
    Age0To2,
    Age3To9,
    Age10To19,
    Age20To29,
    Age30To39,
    Age40To49,
    Age50To59,
    Age60To69,
    Age70Plus,
}

impl AgeGroup {
    pub const ALL: [AgeGroup; 9] = [
        AgeGroup::Age0To2,
        AgeGroup::Age3To9,
        AgeGroup::Age10To19,
        AgeGroup::Age20To29,
        AgeGroup::Age30To39,
        AgeGroup::Age40To49,
        AgeGroup::Age50To59,
        AgeGroup::Age60To69,
        AgeGroup::Age70Plus,
    ];

    /// The label used in scenarios and in the gene-pool keys ("0-2", …, "70+").
    pub fn label(self) -> &'static str {
        match self {
            AgeGroup::Age0To2 => "0-2",
            AgeGroup::Age3To9 => "3-9",
            AgeGroup::Age10To19 => "10-19",
            AgeGroup::Age20To29 => "20-29",
            AgeGroup::Age30To39 => "30-39",
            AgeGroup::Age40To49 => "40-49",
            AgeGroup::Age50To59 => "50-59",
            AgeGroup::Age60To69 => "60-69",
            AgeGroup::Age70Plus => "70+",
        }
    }

    /// Position from youngest (0) to oldest (8).
    pub fn rank(self) -> usize {
        self as usize
    }

    /// A representative age in years, for drawing age-dependent features.
    pub fn typical_years(self) -> f32 {
        [1.0, 6.0, 15.0, 25.0, 35.0, 45.0, 55.0, 65.0, 76.0][self.rank()]
    }

    /// Whether people of this group can plausibly be parents.
    pub fn is_adult(self) -> bool {
        self >= AgeGroup::Age20To29
    }
}

impl fmt::Display for AgeGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for AgeGroup {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AgeGroup::ALL
            .iter()
            .copied()
            .find(|a| a.label() == s)
            .ok_or_else(|| {
                format!(
                    "unknown age group `{s}` (expected one of {})",
                    AgeGroup::ALL.map(|a| a.label()).join(", ")
                )
            })
    }
}

impl Serialize for AgeGroup {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for AgeGroup {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Sex as the gene pool labels it ("gender" in FairFace).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub const ALL: [Sex; 2] = [Sex::Male, Sex::Female];

    /// The label used in the gene-pool keys.
    pub fn label(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Sex {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "male" | "m" => Ok(Sex::Male),
            "female" | "f" => Ok(Sex::Female),
            _ => Err(format!("unknown sex `{s}` (expected Male or Female)")),
        }
    }
}

/// FairFace's seven race labels, which the method's gene pool is keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ancestry {
    White,
    Black,
    LatinoHispanic,
    EastAsian,
    SoutheastAsian,
    Indian,
    MiddleEastern,
}

impl Ancestry {
    pub const ALL: [Ancestry; 7] = [
        Ancestry::White,
        Ancestry::Black,
        Ancestry::LatinoHispanic,
        Ancestry::EastAsian,
        Ancestry::SoutheastAsian,
        Ancestry::Indian,
        Ancestry::MiddleEastern,
    ];

    /// The label used in the official gene pool's keys.
    pub fn label(self) -> &'static str {
        match self {
            Ancestry::White => "White",
            Ancestry::Black => "Black",
            Ancestry::LatinoHispanic => "Latino_Hispanic",
            Ancestry::EastAsian => "East Asian",
            Ancestry::SoutheastAsian => "Southeast Asian",
            Ancestry::Indian => "Indian",
            Ancestry::MiddleEastern => "Middle Eastern",
        }
    }
}

impl fmt::Display for Ancestry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Ancestry {
    type Err = String;
    /// Accepts the pool's labels ("East Asian", "Latino_Hispanic") and the
    /// scenario spelling ("EastAsian", "LatinoHispanic").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let squash = |t: &str| t.replace([' ', '_', '-'], "").to_ascii_lowercase();
        let wanted = squash(s);
        Ancestry::ALL
            .iter()
            .copied()
            .find(|a| squash(a.label()) == wanted)
            .ok_or_else(|| {
                format!(
                    "unknown ancestry `{s}` (expected one of {})",
                    Ancestry::ALL.map(|a| format!("{a:?}")).join(", ")
                )
            })
    }
}

/// The key of one gene-pool bucket: "age-gender-race", as in the method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolKey {
    pub age: AgeGroup,
    pub sex: Sex,
    pub ancestry: Ancestry,
}

impl fmt::Display for PoolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.age, self.sex, self.ancestry)
    }
}

impl FromStr for PoolKey {
    type Err = String;
    /// Parses the official key format, e.g. "20-29-female-East Asian" or "70+-male-White".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        for age in AgeGroup::ALL {
            if let Some(rest) = s
                .strip_prefix(age.label())
                .and_then(|r| r.strip_prefix('-'))
            {
                let (sex, race) = rest
                    .split_once('-')
                    .ok_or_else(|| format!("gene-pool key `{s}` is not age-gender-race"))?;
                return Ok(PoolKey {
                    age,
                    sex: sex.parse()?,
                    ancestry: race.parse()?,
                });
            }
        }
        Err(format!(
            "gene-pool key `{s}` does not start with an age group"
        ))
    }
}

/// Logits of FairFace's 18-way head: races 0–6 ([`Ancestry::ALL`] order),
/// genders 7–8 ([`Sex::ALL`]), age groups 9–17 ([`AgeGroup::ALL`]).
pub const FAIRFACE_OUTPUTS: usize = 18;

/// What FairFace predicts for one face: each head's softmax, in the label
/// order of [`Ancestry::ALL`], [`Sex::ALL`] and [`AgeGroup::ALL`] (the
/// official `predict_race` takes each head's argmax).
#[derive(Clone, Debug, PartialEq)]
pub struct AttributeScores {
    pub ancestry: [f32; 7],
    pub sex: [f32; 2],
    pub age: [f32; 9],
}

/// Probabilities at least this high make a prediction "confident": a
/// stated value it contradicts is worth a warning.
pub const CONFIDENT: f32 = 0.8;

impl AttributeScores {
    /// Softmax of each head of FairFace's 18 logits.
    pub fn from_logits(logits: &[f32; FAIRFACE_OUTPUTS]) -> AttributeScores {
        fn softmax<const N: usize>(x: &[f32]) -> [f32; N] {
            let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let exp: Vec<f64> = x.iter().map(|&v| (v as f64 - max).exp()).collect();
            let total: f64 = exp.iter().sum();
            std::array::from_fn(|i| (exp[i] / total) as f32)
        }
        AttributeScores {
            ancestry: softmax(&logits[0..7]),
            sex: softmax(&logits[7..9]),
            age: softmax(&logits[9..18]),
        }
    }

    /// The most probable ancestry and its probability (first on a tie, as
    /// numpy's argmax).
    pub fn ancestry(&self) -> (Ancestry, f32) {
        let i = argmax(&self.ancestry);
        (Ancestry::ALL[i], self.ancestry[i])
    }

    pub fn sex(&self) -> (Sex, f32) {
        let i = argmax(&self.sex);
        (Sex::ALL[i], self.sex[i])
    }

    pub fn age(&self) -> (AgeGroup, f32) {
        let i = argmax(&self.age);
        (AgeGroup::ALL[i], self.age[i])
    }

    /// One line: "East Asian 0.91, female 0.99, 30-39 0.62".
    pub fn summary(&self) -> String {
        let ((a, pa), (s, ps), (g, pg)) = (self.ancestry(), self.sex(), self.age());
        format!("{a} {pa:.2}, {s} {ps:.2}, {g} {pg:.2}")
    }

    /// The prediction and every probability by label, for JSON reports.
    pub fn report(&self) -> AttributeReport {
        let labelled = |labels: Vec<&'static str>, p: &[f32]| {
            Labelled(labels.into_iter().zip(p.iter().copied()).collect())
        };
        AttributeReport {
            ancestry: self.ancestry().0,
            sex: self.sex().0,
            age: self.age().0,
            probabilities: ReportProbabilities {
                ancestry: labelled(Ancestry::ALL.map(|a| a.label()).to_vec(), &self.ancestry),
                sex: labelled(Sex::ALL.map(|s| s.label()).to_vec(), &self.sex),
                age: labelled(AgeGroup::ALL.map(|a| a.label()).to_vec(), &self.age),
            },
        }
    }
}

/// [`AttributeScores`] as JSON shows it: the predicted labels, then every
/// label's probability (in FairFace's order).
#[derive(Clone, Debug, Serialize)]
pub struct AttributeReport {
    pub ancestry: Ancestry,
    pub sex: Sex,
    pub age: AgeGroup,
    pub probabilities: ReportProbabilities,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReportProbabilities {
    pub ancestry: Labelled,
    pub sex: Labelled,
    pub age: Labelled,
}

/// Label → probability, serialised as an object in FairFace's label order.
#[derive(Clone, Debug)]
pub struct Labelled(pub Vec<(&'static str, f32)>);

impl Serialize for Labelled {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (label, p) in &self.0 {
            map.serialize_entry(label, p)?;
        }
        map.end()
    }
}

fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keys_round_trip_in_the_official_spelling() {
        for key in [
            "20-29-female-East Asian",
            "70+-male-Latino_Hispanic",
            "0-2-male-White",
        ] {
            let parsed: PoolKey = key.parse().unwrap();
            assert_eq!(parsed.to_string(), key);
        }
        assert!("adult-male-White".parse::<PoolKey>().is_err());
    }

    #[test]
    fn ancestry_accepts_both_spellings() {
        assert_eq!("EastAsian".parse(), Ok(Ancestry::EastAsian));
        assert_eq!("East Asian".parse(), Ok(Ancestry::EastAsian));
        assert_eq!("Latino_Hispanic".parse(), Ok(Ancestry::LatinoHispanic));
    }

    #[test]
    fn fairface_logits_split_into_three_softmaxes_in_label_order() {
        let mut logits = [0.0f32; FAIRFACE_OUTPUTS];
        logits[3] = 5.0; // East Asian
        logits[8] = 1.0; // female
        logits[9 + 4] = 2.0; // 30-39
        let s = AttributeScores::from_logits(&logits);
        assert_eq!(s.ancestry().0, Ancestry::EastAsian);
        assert_eq!(s.sex().0, Sex::Female);
        assert_eq!(s.age().0, AgeGroup::Age30To39);
        for head in [&s.ancestry[..], &s.sex[..], &s.age[..]] {
            assert!((head.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        let e = 1.0f64.exp();
        assert!((s.sex[1] as f64 - e / (1.0 + e)).abs() < 1e-7);
        let json = serde_json::to_string(&s.report()).unwrap();
        assert!(
            json.starts_with(r#"{"ancestry":"EastAsian","sex":"Female","age":"30-39","probabilities":{"ancestry":{"White":"#),
            "{json}"
        );
    }
}
