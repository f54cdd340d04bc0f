//! The procedural model's gene decoder and encoder: which gene cells drive
//! which named face feature.
//!
//! A procedural genome is `[2, 34, 4]`: two layers (coarse = shape, fine =
//! colour and texture) of four numbers per region. A latent is `[2, 41]`: one
//! named feature per entry, in "z units" (about N(0, 1) over the population;
//! the painter squashes them into physical sizes and colours).
//!
//! Each feature is the **mean of a fixed set of gene cells of its own
//! regions** (e.g. iris colour is the mean of the Iris and Pupil cells of the
//! fine layer). Because the map is linear, blending genomes blends features,
//! and copying one region from a parent copies that parent's share of every
//! feature the region drives. Each cell drives at most one feature, so the
//! encoder is the exact inverse on the model's latents: it writes a feature's
//! value into every one of its cells and zero into cells no feature reads.

use crate::genetics::genome::{GeneSample, GeneShape, Genome};
use crate::genetics::region::Region;
use crate::model::Latent;

/// Genome size of the procedural model.
pub const GENE_SHAPE: GeneShape = GeneShape {
    layers: 2,
    width: 4,
};

/// Latent layer holding shapes (head, eyes, nose, mouth, hair style...).
pub const COARSE_LAYER: usize = 0;
/// Latent layer holding colours and textures; the engine averages it from the parents.
pub const FINE_LAYER: usize = 1;

/// Standard deviation of a gene around its mean in pool and encoded genomes:
/// small, so a sampled gene stays close to the face it was encoded from.
pub const GENE_SD: f32 = 0.05;

macro_rules! features {
    ($($layer:ident { $($feat:ident : [$(($region:ident, $slot:literal)),+]),+ $(,)? })+) => {
        /// A named face feature: one entry of the latent.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Feature { $($($feat),+),+ }

        impl Feature {
            /// Every feature, coarse ones first, in latent order within each layer.
            pub const ALL: &'static [Feature] = &[$($(Feature::$feat),+),+];

            /// The latent layer the feature lives in.
            pub fn layer(self) -> usize {
                match self { $($(Feature::$feat => $layer),+),+ }
            }

            /// The gene cells `(region, slot)` whose mean is this feature.
            pub fn cells(self) -> &'static [(Region, usize)] {
                match self { $($(Feature::$feat => &[$((Region::$region, $slot)),+]),+),+ }
            }
        }
    };
}

features! {
    COARSE_LAYER {
        FaceWidth: [(Head, 0), (Temple, 0)],
        FaceLength: [(Head, 1)],
        ForeheadHeight: [(Forehead, 0), (Forehead, 1)],
        JawWidth: [(Jaw, 0)],
        JawSquareness: [(Jaw, 1), (Jaw, 2)],
        ChinLength: [(Chin, 0)],
        ChinWidth: [(Chin, 1)],
        Cheekbones: [(Cheek, 0), (Temple, 1)],
        CheekFullness: [(Cheek, 1), (Head, 2)],
        EarSize: [(Ear, 0), (EarHelix, 0)],
        EarProtrusion: [(Ear, 1), (EarHelix, 1)],
        EarLobe: [(EarLobule, 0)],
        EarHeight: [(Ear, 2), (EarLobule, 1)],
        EyeWidth: [(Sclera, 0), (EyeTopLid, 2)],
        EyeOpenness: [(EyeTopLid, 0), (EyeBottomLid, 0)],
        EyeTilt: [(EyeTopLid, 1), (EyeBottomLid, 1)],
        EyeSpacing: [(TearDuct, 0)],
        IrisSize: [(Iris, 0), (Pupil, 0)],
        LashLength: [(Eyelashes, 0)],
        BrowThickness: [(Eyebrow, 0)],
        BrowArch: [(Eyebrow, 1)],
        BrowHeight: [(Eyebrow, 2), (Frown, 0)],
        BrowTilt: [(Frown, 1)],
        NoseLength: [(Nose, 0), (NoseBridge, 0)],
        NoseWidth: [(AlaOfNose, 0), (Nostril, 0)],
        NoseTip: [(NoseTip, 0)],
        NoseBridgeWidth: [(NoseBridge, 1), (Nose, 1)],
        MouthWidth: [(OralCommissure, 0)],
        Smile: [(OralCommissure, 1), (Teeth, 0)],
        UpperLip: [(SuperiorLip, 0)],
        LowerLip: [(InferiorLip, 0)],
        PhiltrumLength: [(Philtrum, 0)],
        HairLength: [(Hair, 0)],
        HairVolume: [(Hair, 1)],
        HairPart: [(Hair, 2)],
        Fringe: [(Hair, 3)],
        MoustacheSize: [(Moustache, 0)],
        Beard: [(Sideburns, 0), (Moustache, 1)],
        NeckWidth: [(Neck, 0)],
        Wrinkling: [(Wrinkles, 0), (Frown, 2)],
        Recession: [(Forehead, 2), (Temple, 2)],
    }
    FINE_LAYER {
        SkinLightness: [(Cheek, 0), (Neck, 0), (Forehead, 0), (Head, 0)],
        SkinWarmth: [(Cheek, 1), (Neck, 1), (Forehead, 1), (Head, 1)],
        Blush: [(Cheek, 2)],
        Freckles: [(Cheek, 3), (Wrinkles, 1)],
        IrisDarkness: [(Iris, 0)],
        IrisHue: [(Iris, 1)],
        IrisRing: [(Iris, 2)],
        EyeShine: [(Pupil, 0), (Sclera, 0)],
        HairDarkness: [(Hair, 0)],
        HairRedness: [(Hair, 1)],
        Greying: [(Hair, 2), (Temple, 0)],
        HairCurl: [(Hair, 3)],
        BrowDarkness: [(Eyebrow, 0), (Frown, 0)],
        LashDarkness: [(Eyelashes, 0), (EyeTopLid, 0)],
        UnderEye: [(EyeBottomLid, 0), (TearDuct, 0)],
        LipRedness: [(SuperiorLip, 0), (InferiorLip, 0)],
        LipDarkness: [(SuperiorLip, 1), (InferiorLip, 1), (Philtrum, 0)],
        TeethShade: [(Teeth, 0)],
        LipLine: [(OralCommissure, 0)],
        FacialHairDarkness: [(Moustache, 0), (Sideburns, 0)],
        NoseRedness: [(Nose, 0), (NoseTip, 0), (AlaOfNose, 0), (Nostril, 0), (NoseBridge, 0)],
        EarRedness: [(Ear, 0), (EarHelix, 0), (EarLobule, 0)],
        SkinTexture: [(Wrinkles, 0), (Chin, 0)],
        BackgroundHue: [(Background, 0)],
        BackgroundLightness: [(Background, 1)],
        ShirtHue: [(Neck, 2), (Jaw, 0)],
        ShirtLightness: [(Neck, 3), (Jaw, 1)],
        Shine: [(Forehead, 2), (Temple, 1), (Chin, 1)],
    }
}

/// Number of features in a layer.
pub fn layer_len(layer: usize) -> usize {
    Feature::ALL.iter().filter(|f| f.layer() == layer).count()
}

/// Width of a latent: the larger layer's feature count. The fine layer has
/// fewer features; its trailing entries are always zero (decode writes zero,
/// encode ignores them) and averaging parents keeps them zero.
pub fn latent_width() -> usize {
    layer_len(COARSE_LAYER).max(layer_len(FINE_LAYER))
}

impl Feature {
    /// Position of the feature inside its latent layer.
    pub fn slot(self) -> usize {
        Feature::ALL
            .iter()
            .filter(|f| f.layer() == self.layer())
            .position(|&f| f == self)
            .expect("every feature is in ALL")
    }

    /// Position of the feature in a latent's flat data.
    pub fn latent_index(self) -> usize {
        self.layer() * latent_width() + self.slot()
    }
}

/// Named face features, read from or written into a latent.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceParams {
    latent: Latent,
}

impl FaceParams {
    /// All features at the population mean (zero).
    pub fn neutral() -> FaceParams {
        FaceParams {
            latent: Latent::zeros(GENE_SHAPE.layers, latent_width()),
        }
    }

    /// Reads the features of a latent of the procedural layout.
    pub fn from_latent(latent: &Latent) -> Result<FaceParams, String> {
        if latent.layers != GENE_SHAPE.layers
            || latent.width != latent_width()
            || latent.data.len() != latent.layers * latent.width
        {
            return Err(format!(
                "the procedural model needs latents of shape [{}, {}], got [{}, {}] with {} values",
                GENE_SHAPE.layers,
                latent_width(),
                latent.layers,
                latent.width,
                latent.data.len()
            ));
        }
        Ok(FaceParams {
            latent: latent.clone(),
        })
    }

    pub fn get(&self, f: Feature) -> f32 {
        self.latent.data[f.latent_index()]
    }

    pub fn set(&mut self, f: Feature, value: f32) {
        self.latent.data[f.latent_index()] = value;
    }

    pub fn latent(&self) -> &Latent {
        &self.latent
    }

    pub fn into_latent(self) -> Latent {
        self.latent
    }
}

/// The gene decoder: each feature is the mean of its gene cells.
pub fn decode(genes: &GeneSample) -> Result<Latent, String> {
    check_shape(genes.shape, genes.values.len())?;
    let mut params = FaceParams::neutral();
    for &f in Feature::ALL {
        let cells = f.cells();
        let sum: f32 = cells
            .iter()
            .map(|&(region, slot)| genes.values[genes.shape.offset(f.layer(), region) + slot])
            .sum();
        params.set(f, sum / cells.len() as f32);
    }
    Ok(params.into_latent())
}

/// The gene encoder: every cell of a feature holds the feature's value, cells
/// no feature reads hold zero, and every log-variance is `ln(GENE_SD²)`.
pub fn encode(latent: &Latent) -> Result<Genome, String> {
    let params = FaceParams::from_latent(latent)?;
    let mut mean = vec![0.0; GENE_SHAPE.len()];
    for &f in Feature::ALL {
        let value = params.get(f);
        for &(region, slot) in f.cells() {
            mean[GENE_SHAPE.offset(f.layer(), region) + slot] = value;
        }
    }
    let logvar = vec![(GENE_SD * GENE_SD).ln(); GENE_SHAPE.len()];
    Genome::from_parts(GENE_SHAPE, mean, logvar)
}

fn check_shape(shape: GeneShape, len: usize) -> Result<(), String> {
    if shape != GENE_SHAPE || len != GENE_SHAPE.len() {
        return Err(format!(
            "the procedural model needs genes of shape [{}, 34, {}] ({} values), got [{}, 34, {}] with {} values",
            GENE_SHAPE.layers,
            GENE_SHAPE.width,
            GENE_SHAPE.len(),
            shape.layers,
            shape.width,
            len
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genetics::region::RegionGroup;
    use std::collections::HashSet;

    #[test]
    fn every_cell_drives_at_most_one_feature_and_slots_fit() {
        let mut seen = HashSet::new();
        for &f in Feature::ALL {
            for &(region, slot) in f.cells() {
                assert!(slot < GENE_SHAPE.width, "{f:?} uses slot {slot}");
                assert!(
                    seen.insert((f.layer(), region, slot)),
                    "cell {region}/{slot} of layer {} is used twice",
                    f.layer()
                );
            }
        }
    }

    #[test]
    fn every_region_group_and_the_background_drive_some_feature() {
        let driven: HashSet<Region> = Feature::ALL
            .iter()
            .flat_map(|f| f.cells().iter().map(|&(r, _)| r))
            .collect();
        for g in RegionGroup::ALL {
            for r in g.regions() {
                assert!(
                    driven.contains(r),
                    "region {r} of group {} drives nothing",
                    g.name()
                );
            }
        }
        assert!(driven.contains(&Region::Background));
    }

    #[test]
    fn colours_live_in_the_fine_layer() {
        for f in [
            Feature::SkinLightness,
            Feature::IrisDarkness,
            Feature::HairDarkness,
            Feature::LipRedness,
        ] {
            assert_eq!(f.layer(), FINE_LAYER);
        }
        assert_eq!(Feature::JawWidth.layer(), COARSE_LAYER);
    }

    #[test]
    fn decode_inverts_encode() {
        let mut p = FaceParams::neutral();
        for (i, &f) in Feature::ALL.iter().enumerate() {
            p.set(f, (i as f32 * 0.37).sin() * 2.0);
        }
        let genome = encode(p.latent()).unwrap();
        let back = decode(&GeneSample {
            shape: genome.shape,
            values: genome.mean.clone(),
        })
        .unwrap();
        for (a, b) in back.data.iter().zip(&p.latent().data) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let bad = GeneSample {
            shape: GeneShape {
                layers: 3,
                width: 4,
            },
            values: vec![0.0; 3 * 34 * 4],
        };
        assert!(decode(&bad).is_err());
        assert!(encode(&Latent::zeros(2, 3)).is_err());
    }
}
