//! A person's genome: a Gaussian (mean, log-variance) per face region.
//!
//! Layout follows the method's tensors, `[layers, 34, width]` row-major, so a
//! neural genome is exactly the `[N, 34, 512]` pair the StyleGene networks use
//! and a procedural genome is the same structure at a small size.

use super::region::{Region, REGION_COUNT};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// The size of a genome: `layers` W+ layers, 34 regions, `width` numbers each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GeneShape {
    pub layers: usize,
    pub width: usize,
}

impl GeneShape {
    /// The official StyleGene size at 1024 px: 18 layers × 34 regions × 512.
    pub const STYLEGENE_1024: GeneShape = GeneShape {
        layers: 18,
        width: 512,
    };

    /// Number of f32 values in one of mean / log-variance.
    pub fn len(&self) -> usize {
        self.layers * REGION_COUNT * self.width
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Offset of (layer, region) in the flat tensor.
    pub fn offset(&self, layer: usize, region: Region) -> usize {
        (layer * REGION_COUNT + region.index()) * self.width
    }
}

/// Mean and log-variance of every region's gene distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Genome {
    pub shape: GeneShape,
    pub mean: Vec<f32>,
    pub logvar: Vec<f32>,
}

impl Genome {
    /// A genome of zeros (mean 0, variance 1) of the given shape.
    pub fn zeros(shape: GeneShape) -> Genome {
        Genome {
            shape,
            mean: vec![0.0; shape.len()],
            logvar: vec![0.0; shape.len()],
        }
    }

    /// Builds a genome from flat tensors, checking their lengths.
    pub fn from_parts(
        shape: GeneShape,
        mean: Vec<f32>,
        logvar: Vec<f32>,
    ) -> Result<Genome, String> {
        if mean.len() != shape.len() || logvar.len() != shape.len() {
            return Err(format!(
                "genome of shape [{}, 34, {}] needs {} values, got mean {} and logvar {}",
                shape.layers,
                shape.width,
                shape.len(),
                mean.len(),
                logvar.len()
            ));
        }
        Ok(Genome {
            shape,
            mean,
            logvar,
        })
    }

    /// Copies region `region`'s parameters (every layer) from `other`.
    pub fn copy_region_from(&mut self, other: &Genome, region: Region) {
        self.map_region(region, |_, i| (other.mean[i], other.logvar[i]));
    }

    /// Sets `region` (every layer) to the weighted sum of three genomes'
    /// parameters: `w_a·a + w_b·b + w_c·c`, for mean and log-variance alike.
    pub fn blend_region(
        &mut self,
        region: Region,
        (a, w_a): (&Genome, f32),
        (b, w_b): (&Genome, f32),
        (c, w_c): (&Genome, f32),
    ) {
        self.map_region(region, |_, i| {
            (
                w_a * a.mean[i] + w_b * b.mean[i] + w_c * c.mean[i],
                w_a * a.logvar[i] + w_b * b.logvar[i] + w_c * c.logvar[i],
            )
        });
    }

    /// Visits every value index of `region` and stores the returned (mean, logvar).
    fn map_region(&mut self, region: Region, mut f: impl FnMut(usize, usize) -> (f32, f32)) {
        for layer in 0..self.shape.layers {
            let start = self.shape.offset(layer, region);
            for i in start..start + self.shape.width {
                let (m, v) = f(layer, i);
                self.mean[i] = m;
                self.logvar[i] = v;
            }
        }
    }

    /// Draws a concrete gene: `mean + exp(logvar / 2) · ε`, ε ~ N(0, 1), in tensor order.
    pub fn sample(&self, rng: &mut impl Rng) -> GeneSample {
        let values = self
            .mean
            .iter()
            .zip(&self.logvar)
            .map(|(&m, &lv)| {
                let eps: f32 = rng.sample(StandardNormal);
                m + (lv * 0.5).exp() * eps
            })
            .collect();
        GeneSample {
            shape: self.shape,
            values,
        }
    }
}

/// A concrete gene drawn from a [`Genome`]: what the gene decoder turns into a latent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneSample {
    pub shape: GeneShape,
    pub values: Vec<f32>,
}

impl GeneSample {
    /// The values of one region in one layer.
    pub fn region(&self, layer: usize, region: Region) -> &[f32] {
        let start = self.shape.offset(layer, region);
        &self.values[start..start + self.shape.width]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn sampling_with_very_negative_logvar_returns_the_mean() {
        let shape = GeneShape {
            layers: 2,
            width: 3,
        };
        let mut g = Genome::zeros(shape);
        g.mean
            .iter_mut()
            .enumerate()
            .for_each(|(i, m)| *m = i as f32);
        g.logvar.fill(-60.0);
        let s = g.sample(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
        for (a, b) in s.values.iter().zip(&g.mean) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn blend_touches_only_its_region() {
        let shape = GeneShape {
            layers: 2,
            width: 2,
        };
        let ones = Genome {
            shape,
            mean: vec![1.0; shape.len()],
            logvar: vec![1.0; shape.len()],
        };
        let mut g = Genome::zeros(shape);
        g.blend_region(Region::Nose, (&ones, 0.25), (&ones, 0.25), (&ones, 0.5));
        for layer in 0..2 {
            for r in Region::ALL {
                let o = shape.offset(layer, r);
                let want = if r == Region::Nose { 1.0 } else { 0.0 };
                assert_eq!(g.mean[o], want);
                assert_eq!(g.logvar[o + 1], want);
            }
        }
    }
}
