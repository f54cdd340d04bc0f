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
}
