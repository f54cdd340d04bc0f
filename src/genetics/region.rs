//! The 34-region facial taxonomy that StyleGene's genes are defined over.
//!
//! The order is the method's: a region's position here is its index in every
//! genome tensor (`[layers, 34, width]`), so never reorder this list.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Number of face regions a genome is split into.
pub const REGION_COUNT: usize = 34;

macro_rules! regions {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// One of the 34 face classes (index = position in the method's tensors).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Region { $($variant),* }

        impl Region {
            /// All regions in tensor order.
            pub const ALL: [Region; REGION_COUNT] = [$(Region::$variant),*];

            /// The snake_case name used in scenarios and manifests.
            pub fn name(self) -> &'static str {
                match self { $(Region::$variant => $name),* }
            }
        }
    };
}

regions! {
    Background => "background",
    Head => "head",
    Cheek => "cheek",
    Chin => "chin",
    Ear => "ear",
    EarHelix => "ear_helix",
    EarLobule => "ear_lobule",
    EyeBottomLid => "eye_bottom_lid",
    Eyelashes => "eyelashes",
    Iris => "iris",
    Pupil => "pupil",
    Sclera => "sclera",
    TearDuct => "tear_duct",
    EyeTopLid => "eye_top_lid",
    Eyebrow => "eyebrow",
    Forehead => "forehead",
    Frown => "frown",
    Hair => "hair",
    Sideburns => "sideburns",
    Jaw => "jaw",
    Moustache => "moustache",
    InferiorLip => "inferior_lip",
    OralCommissure => "oral_commissure",
    SuperiorLip => "superior_lip",
    Teeth => "teeth",
    Neck => "neck",
    Nose => "nose",
    AlaOfNose => "ala_of_nose",
    NoseBridge => "nose_bridge",
    NoseTip => "nose_tip",
    Nostril => "nostril",
    Philtrum => "philtrum",
    Temple => "temple",
    Wrinkles => "wrinkles",
}

impl Region {
    /// Position of the region in the genome tensors.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The region at a tensor index.
    pub fn from_index(index: usize) -> Option<Region> {
        Region::ALL.get(index).copied()
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Region {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::ALL
            .iter()
            .copied()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown region `{s}`"))
    }
}

/// Groups of regions a user thinks in ("the eyes", "the nose"), for overrides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegionGroup {
    Eyes,
    Brows,
    Nose,
    Mouth,
    Hair,
    FacialHair,
    FaceShape,
    Ears,
    Skin,
}

impl RegionGroup {
    pub const ALL: [RegionGroup; 9] = [
        RegionGroup::Eyes,
        RegionGroup::Brows,
        RegionGroup::Nose,
        RegionGroup::Mouth,
        RegionGroup::Hair,
        RegionGroup::FacialHair,
        RegionGroup::FaceShape,
        RegionGroup::Ears,
        RegionGroup::Skin,
    ];

    /// The snake_case name used in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            RegionGroup::Eyes => "eyes",
            RegionGroup::Brows => "brows",
            RegionGroup::Nose => "nose",
            RegionGroup::Mouth => "mouth",
            RegionGroup::Hair => "hair",
            RegionGroup::FacialHair => "facial_hair",
            RegionGroup::FaceShape => "face_shape",
            RegionGroup::Ears => "ears",
            RegionGroup::Skin => "skin",
        }
    }

    /// The regions in the group. Every region but the background is in exactly one group.
    pub fn regions(self) -> &'static [Region] {
        use Region::*;
        match self {
            RegionGroup::Eyes => &[
                EyeBottomLid,
                Eyelashes,
                Iris,
                Pupil,
                Sclera,
                TearDuct,
                EyeTopLid,
            ],
            RegionGroup::Brows => &[Eyebrow, Frown],
            RegionGroup::Nose => &[Nose, AlaOfNose, NoseBridge, NoseTip, Nostril],
            RegionGroup::Mouth => &[InferiorLip, OralCommissure, SuperiorLip, Teeth, Philtrum],
            RegionGroup::Hair => &[Hair],
            RegionGroup::FacialHair => &[Moustache, Sideburns],
            RegionGroup::FaceShape => &[Head, Chin, Jaw, Forehead, Temple],
            RegionGroup::Ears => &[Ear, EarHelix, EarLobule],
            RegionGroup::Skin => &[Cheek, Neck, Wrinkles],
        }
    }
}

impl FromStr for RegionGroup {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegionGroup::ALL
            .iter()
            .copied()
            .find(|g| g.name() == s)
            .ok_or_else(|| format!("unknown region group `{s}`"))
    }
}

/// A name in a scenario's override table: one region or a whole group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegionSelector {
    Region(Region),
    Group(RegionGroup),
}

impl RegionSelector {
    pub fn regions(self) -> Vec<Region> {
        match self {
            RegionSelector::Region(r) => vec![r],
            RegionSelector::Group(g) => g.regions().to_vec(),
        }
    }
}

impl FromStr for RegionSelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(g) = s.parse::<RegionGroup>() {
            return Ok(RegionSelector::Group(g));
        }
        s.parse::<Region>()
            .map(RegionSelector::Region)
            .map_err(|_| {
                format!(
                    "unknown region or region group `{s}` (groups: {}; regions: {})",
                    RegionGroup::ALL.map(|g| g.name()).join(", "),
                    Region::ALL.map(|r| r.name()).join(", ")
                )
            })
    }
}

impl fmt::Display for RegionSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionSelector::Region(r) => f.write_str(r.name()),
            RegionSelector::Group(g) => f.write_str(g.name()),
        }
    }
}

impl Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for RegionSelector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_but_background_is_in_exactly_one_group() {
        for r in Region::ALL {
            let n = RegionGroup::ALL
                .iter()
                .filter(|g| g.regions().contains(&r))
                .count();
            let expected = usize::from(r != Region::Background);
            assert_eq!(n, expected, "{r} is in {n} groups");
        }
    }

    #[test]
    fn indices_follow_the_method_order() {
        assert_eq!(Region::Hair.index(), 17);
        assert_eq!(Region::Wrinkles.index(), 33);
        assert_eq!(Region::from_index(26), Some(Region::Nose));
        assert_eq!("ear_helix".parse::<Region>(), Ok(Region::EarHelix));
    }
}
