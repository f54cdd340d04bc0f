//! W+ latents: the plain numbers every face model, file reader and the
//! engine pass around. A leaf module, so that `io` reads and writes them
//! without importing the model.

/// A W+ latent: `layers` style vectors of `width` numbers, row-major.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Latent {
    pub layers: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

impl Latent {
    pub fn zeros(layers: usize, width: usize) -> Latent {
        Latent {
            layers,
            width,
            data: vec![0.0; layers * width],
        }
    }

    /// Latents of `layers × width` values each, from a row-major batch
    /// `[count, layers, width]` (a trailing partial latent is dropped).
    pub fn split_batch(values: &[f32], layers: usize, width: usize) -> Vec<Latent> {
        values
            .chunks_exact(layers * width)
            .map(|c| Latent {
                layers,
                width,
                data: c.to_vec(),
            })
            .collect()
    }

    pub fn layer(&self, i: usize) -> &[f32] {
        &self.data[i * self.width..(i + 1) * self.width]
    }

    /// The method's last step for a child: every layer from `start` on (the
    /// fine layers, which carry colour and texture) becomes the average of the
    /// parents' layers.
    pub fn average_fine_layers(&mut self, father: &Latent, mother: &Latent, start: usize) {
        let from = start.min(self.layers) * self.width;
        for ((c, f), m) in self.data[from..]
            .iter_mut()
            .zip(&father.data[from..])
            .zip(&mother.data[from..])
        {
            *c = 0.5 * (f + m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fine_layers_average_the_parents_and_coarse_layers_stay() {
        let mut child = Latent {
            layers: 3,
            width: 2,
            data: vec![9.0; 6],
        };
        let f = Latent {
            layers: 3,
            width: 2,
            data: vec![1.0; 6],
        };
        let m = Latent {
            layers: 3,
            width: 2,
            data: vec![3.0; 6],
        };
        child.average_fine_layers(&f, &m, 1);
        assert_eq!(child.data, vec![9.0, 9.0, 2.0, 2.0, 2.0, 2.0]);
    }
}
