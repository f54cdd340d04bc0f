//! dlib's face-descriptor network (`dlib_face_recognition_resnet_model_v1.dat`),
//! the `anet_type` of dlib's `examples/dnn_face_recognition_ex.cpp`, written
//! bottom-up as it runs:
//!
//! ```text
//! input_rgb_image_sized<150>          (pixel − mean colour) / 256
//! con<32,7,7,2,2> affine relu         150 → 72
//! max_pool<3,3,2,2>                   72 → 35
//! alevel4: ares<32> × 3               35
//! alevel3: ares_down<64>, ares<64> × 3     → 17
//! alevel2: ares_down<128>, ares<128> × 2   → 8
//! alevel1: ares_down<256>, ares<256> × 2   → 4
//! alevel0: ares_down<256>                  → 2
//! avg_pool_everything, fc_no_bias<128>     → the 128-D descriptor
//! ```
//!
//! where `block<N, stride>` = con<N,3,3,stride> affine relu con<N,3,3,1> affine,
//! `ares<N>` = relu(block<N,1>(x) + x) and `ares_down<N>` =
//! relu(block<N,2>(x) + avg_pool<2,2,2,2>(x)). dlib's `add_prev` adds tensors
//! of different sizes by zero-filling the smaller (the pooled input has fewer
//! channels than the block, and at 8 → 3 vs 4 pixels a row and column fewer):
//! [`add_prev`] does the same. Convolutions and pools have dlib's default
//! padding, none where the stride is 2, which the file records and the loader
//! checks.
//!
//! Weights come through a [`StateDict`] over the file (see
//! `weights::dlib_dnn` for the names), walking dlib's layer numbers from the
//! input (`layer<131>`) up to the fc (`layer<1>`); each layer's kind and
//! geometry are checked as dlib's C++ `deserialize` checks them against the
//! network type.

use crate::error::Result;
use crate::model::backend::ModelBackend;
use crate::weights::StateDict;
use burn::tensor::activation::relu;
use burn::tensor::module::{avg_pool2d, max_pool2d};
use burn::tensor::{Tensor, TensorData};

/// The side of the chips the network was locked to.
pub const CHIP_SIZE: usize = 150;
/// The descriptor's length.
pub const DESCRIPTOR_LEN: usize = 128;
/// Layers over the input (dlib's `layer<1>` … `layer<130>`).
const LAYERS: usize = 130;

/// `con` followed by its `affine` (dlib's frozen batch norm), each run as
/// dlib runs it (not folded into one, so the sums round as dlib's do).
#[derive(Debug, Clone)]
struct ConAffine<B: ModelBackend> {
    filters: Tensor<B, 4>,
    biases: Tensor<B, 1>,
    stride: usize,
    padding: usize,
    /// [1, N, 1, 1]
    gamma: Tensor<B, 4>,
    beta: Tensor<B, 4>,
}

impl<B: ModelBackend> ConAffine<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let y = B::strided_conv2d(
            x,
            self.filters.clone(),
            Some(self.biases.clone()),
            self.stride,
            self.padding,
        );
        y * self.gamma.clone() + self.beta.clone()
    }
}

/// dlib's `block<N, BN=affine, stride>`.
#[derive(Debug, Clone)]
struct Block<B: ModelBackend> {
    first: ConAffine<B>,
    second: ConAffine<B>,
}

impl<B: ModelBackend> Block<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.second.forward(relu(self.first.forward(x)))
    }
}

/// `ares<N>` (`down` false) or `ares_down<N>` (`down` true).
#[derive(Debug, Clone)]
struct Residual<B: ModelBackend> {
    block: Block<B>,
    down: bool,
}

impl<B: ModelBackend> Residual<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let y = self.block.forward(x.clone());
        let skip = if self.down {
            avg_pool2d(x, [2, 2], [2, 2], [0, 0], false, false)
        } else {
            x
        };
        relu(add_prev(skip, y))
    }
}

/// dlib's `add_prev`: the sum over the larger of each dimension, the
/// smaller tensor counting as zero outside itself.
fn add_prev<B: ModelBackend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 4> {
    let (da, db) = (a.dims(), b.dims());
    if da == db {
        return a + b;
    }
    let out: [usize; 4] = std::array::from_fn(|i| da[i].max(db[i]));
    let widen = |t: Tensor<B, 4>, d: [usize; 4]| {
        if d == out {
            t
        } else {
            Tensor::zeros(out, &t.device()).slice_assign([0..d[0], 0..d[1], 0..d[2], 0..d[3]], t)
        }
    };
    widen(a, da) + widen(b, db)
}

/// The descriptor network.
#[derive(Debug, Clone)]
pub struct DescriptorNet<B: ModelBackend> {
    /// The mean colour, [1, 3, 1, 1].
    avg: Tensor<B, 4>,
    stem: ConAffine<B>,
    residuals: Vec<Residual<B>>,
    /// [256, 128]
    fc: Tensor<B, 2>,
    fc_bias: Tensor<B, 1>,
    device: B::Device,
}

/// Walks dlib's layer numbers downwards from the input, checking each
/// layer's kind and geometry as it goes.
struct Walk<'a, 'b, B: ModelBackend> {
    sd: &'b StateDict<'a, B>,
    /// The next layer to read (dlib's `layer<index>`).
    index: usize,
}

impl<'a, B: ModelBackend> Walk<'a, '_, B> {
    fn next(&mut self) -> StateDict<'a, B> {
        let layer = self.sd.pp(&format!("layer{}", self.index));
        self.index -= 1;
        layer
    }

    /// A layer without parameters: relu, add_prev or a tag/skip.
    fn marker(&mut self, kind: &str) -> Result<()> {
        self.next().values(kind, &[0]).map(|_| ())
    }

    /// Checks the geometry of the layer just taken with [`Walk::next`].
    fn geometry(&self, sd: &StateDict<'a, B>, name: &str, expected: &[usize]) -> Result<()> {
        let found: Vec<usize> = sd
            .values(name, &[expected.len()])?
            .iter()
            .map(|&v| v as usize)
            .collect();
        if found != expected {
            return Err(sd.err(format!(
                "layer<{}>'s {name} is {found:?}; dlib's face-descriptor network has {expected:?}",
                self.index + 1
            )));
        }
        Ok(())
    }

    /// `con<filters, k, k, stride, stride>` then `affine`.
    fn con_affine(
        &mut self,
        in_ch: usize,
        filters: usize,
        kernel: usize,
        stride: usize,
    ) -> Result<ConAffine<B>> {
        let con = self.next();
        let con = con.pp("con");
        // dlib's default padding: none when strided, else half the kernel.
        let padding = if stride == 1 { kernel / 2 } else { 0 };
        self.geometry(&con, "geometry", &[stride, stride, padding, padding])?;
        let weight = con.tensor("filters", [filters, in_ch, kernel, kernel])?;
        let biases = con.tensor("biases", [filters])?;
        let affine = self.next();
        let affine = affine.pp("affine");
        let gamma = affine
            .tensor::<1>("gamma", [filters])?
            .reshape([1, filters, 1, 1]);
        let beta = affine
            .tensor::<1>("beta", [filters])?
            .reshape([1, filters, 1, 1]);
        Ok(ConAffine {
            filters: weight,
            biases,
            stride,
            padding,
            gamma,
            beta,
        })
    }

    /// `block<N, affine, stride>` over `tag1`.
    fn block(&mut self, in_ch: usize, n: usize, stride: usize) -> Result<Block<B>> {
        let first = self.con_affine(in_ch, n, 3, stride)?;
        self.marker("relu")?;
        let second = self.con_affine(n, n, 3, 1)?;
        Ok(Block { first, second })
    }

    /// `ares<N>`: tag1, block, add_prev1, relu.
    fn ares(&mut self, n: usize) -> Result<Residual<B>> {
        self.marker("tag_or_skip")?;
        let block = self.block(n, n, 1)?;
        self.marker("add_prev")?;
        self.marker("relu")?;
        Ok(Residual { block, down: false })
    }

    /// `ares_down<N>`: tag1, block (stride 2), tag2, skip1,
    /// avg_pool<2,2,2,2>, add_prev2, relu.
    fn ares_down(&mut self, in_ch: usize, n: usize) -> Result<Residual<B>> {
        self.marker("tag_or_skip")?;
        let block = self.block(in_ch, n, 2)?;
        self.marker("tag_or_skip")?;
        self.marker("tag_or_skip")?;
        let pool = self.next();
        self.geometry(&pool, "avg_pool.window", &[2, 2, 2, 2, 0, 0])?;
        self.marker("add_prev")?;
        self.marker("relu")?;
        Ok(Residual { block, down: true })
    }
}

impl<B: ModelBackend> DescriptorNet<B> {
    /// Loads the network from a state dict over the whole file
    /// (`Weights::dlib_dnn`), strictly: every tensor must be used.
    pub fn load(sd: StateDict<'_, B>) -> Result<Self> {
        let device = sd.device.clone();
        let input = sd.pp(&format!("layer{}.input_rgb_image", LAYERS + 1));
        let avg = input.tensor::<1>("avg", [3])?.reshape([1, 3, 1, 1]);
        let size = input.values("size", &[2])?;
        if size != [CHIP_SIZE as f32; 2] {
            return Err(input.err(format!(
                "the input layer takes {size:?} images; dlib's face descriptor takes {CHIP_SIZE}×{CHIP_SIZE}"
            )));
        }
        let mut walk = Walk {
            sd: &sd,
            index: LAYERS,
        };
        let stem = walk.con_affine(3, 32, 7, 2)?;
        walk.marker("relu")?;
        let pool = walk.next();
        walk.geometry(&pool, "max_pool.window", &[3, 3, 2, 2, 0, 0])?;

        let mut residuals = Vec::new();
        // alevel4 … alevel0, bottom-up.
        for _ in 0..3 {
            residuals.push(walk.ares(32)?);
        }
        residuals.push(walk.ares_down(32, 64)?);
        for _ in 0..3 {
            residuals.push(walk.ares(64)?);
        }
        residuals.push(walk.ares_down(64, 128)?);
        for _ in 0..2 {
            residuals.push(walk.ares(128)?);
        }
        residuals.push(walk.ares_down(128, 256)?);
        for _ in 0..2 {
            residuals.push(walk.ares(256)?);
        }
        residuals.push(walk.ares_down(256, 256)?);

        // avg_pool_everything: a window of 0×0 means the whole image.
        let pool = walk.next();
        walk.geometry(&pool, "avg_pool.window", &[0, 0, 1, 1, 0, 0])?;
        let fc = walk.next();
        let fc = fc.pp("fc");
        let weights = fc.tensor("weights", [256, DESCRIPTOR_LEN])?;
        debug_assert_eq!(walk.index, 0);
        sd.pp("layer0").values("loss_metric", &[2])?;
        sd.finish()?;
        Ok(DescriptorNet {
            avg,
            stem,
            residuals,
            fc: weights,
            fc_bias: Tensor::zeros([DESCRIPTOR_LEN], &device),
            device,
        })
    }

    /// The network's input for chips of 150×150 RGB8 pixels (row-major, as
    /// [`crate::image::Image`] holds them): dlib's `input_rgb_image`,
    /// (pixel − mean colour) / 256, planar.
    pub fn input(&self, chips: &[&[u8]]) -> Tensor<B, 4> {
        let plane = CHIP_SIZE * CHIP_SIZE;
        let mut values = vec![0.0f32; chips.len() * 3 * plane];
        for (chip, out) in chips.iter().zip(values.chunks_exact_mut(3 * plane)) {
            for (i, px) in chip.chunks_exact(3).enumerate() {
                for c in 0..3 {
                    out[c * plane + i] = px[c] as f32;
                }
            }
        }
        let x = Tensor::<B, 4>::from_data(
            TensorData::new(values, [chips.len(), 3, CHIP_SIZE, CHIP_SIZE]),
            &self.device,
        );
        (x - self.avg.clone()).div_scalar(256.0)
    }

    /// Descriptors of a batch: [batch, 3, 150, 150] → [batch, 128].
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = relu(self.stem.forward(x));
        let mut x = max_pool2d(x, [3, 3], [2, 2], [0, 0], [1, 1], false);
        for r in &self.residuals {
            x = r.forward(x);
        }
        let [batch, channels, h, w] = x.dims();
        let pooled = x
            .reshape([batch, channels, h * w])
            .mean_dim(2)
            .reshape([batch, channels]);
        B::dense(pooled, self.fc.clone(), self.fc_bias.clone())
    }
}
