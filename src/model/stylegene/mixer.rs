//! StyleGene's two gene mappings, MLP-Mixers over 34·N region tokens:
//! - [`GeneEncoder`] (`w2sub34`, the latent-based gene encoder, LGE):
//!   W+ `[B, N, W]` → per-region Gaussian (mean, log-variance) `[B, N, 34, W]`;
//! - [`GeneDecoder`] (`sub2w`, the gene decoder): genes `[B, N, 34, W]` → W+ `[B, N, W]`.
//!
//! Tokens are ordered `n·34 + r` (W+ layer n, region r), which is what a
//! plain reshape between `[B, N, 34, W]` and `[B, 34·N, W]` gives, so the
//! output layout is the method's `[N, 34, W]` per person.
//!
//! A mixer block is two pre-LayerNorm residual MLPs: token mixing (a 1×1
//! Conv1d whose channels are the 34·N tokens, i.e. a dense layer across
//! tokens, applied to each of the W features) then channel mixing (a dense
//! layer across the W features of each token); GELU is the exact erf form,
//! LayerNorm eps 1e-5, and the training-time dropout is absent.
//!
//! Weights come from the official `stylegene_N18.ckpt` (its `state_dict`
//! holds `w2sub34.*` and `sub2w.*`). Field comments give the checkpoint key
//! of each part. N, W, the number of blocks and every hidden size are read
//! from the tensor shapes, so smaller checkpoints load through the same code.
//! Loading is strict, like PyTorch's `load_state_dict`: a missing, misshapen
//! or unexpected tensor is an input error naming the tensor.

use crate::error::{Error, Result};
use crate::genetics::genome::{GeneSample, GeneShape, Genome};
use crate::genetics::region::REGION_COUNT;
use crate::model::backend::ModelBackend;
use crate::model::Latent;
use crate::weights::{StateDict, Weights};
use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use std::path::Path;

/// PyTorch's LayerNorm default, used by every norm in both mappings.
const LAYER_NORM_EPS: f64 = 1e-5;

/// For errors about the checkpoint's layout.
const STYLEGENE_LAYOUT: &str = "StyleGene's";
const STYLEGENE_FILE: &str = "a StyleGene checkpoint such as stylegene_N18.ckpt";

/// Number of consecutive mixer blocks `<prefix><first>`, `<prefix><first+1>`, ….
fn count_blocks<B: Backend>(w: &StateDict<'_, B>, prefix: &str, first: usize) -> usize {
    w.count(first, |i| format!("{prefix}{i}.0.fn.0.weight"))
}

/// A dense layer, `x · Wᵀ + b`. The weight is stored transposed (`[in, out]`)
/// at load time so that forward passes are a plain matmul.
#[derive(Module, Debug)]
pub struct Dense<B: Backend> {
    weight_t: Param<Tensor<B, 2>>,
    bias: Param<Tensor<B, 1>>,
}

impl<B: ModelBackend> Dense<B> {
    /// `[rows, in]` → `[rows, out]`.
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        B::dense(x, self.weight_t.val(), self.bias.val())
    }

    /// Applies the layer along the last axis of `[a, b, in]`.
    fn forward_last(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [a, b, c] = x.dims();
        let y = self.forward(x.reshape([a * b, c]));
        let out = y.dims()[1];
        y.reshape([a, b, out])
    }
}

/// LayerNorm over the last axis with a learned scale and shift.
#[derive(Module, Debug)]
pub struct LayerNorm<B: Backend> {
    weight: Param<Tensor<B, 1>>,
    bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> LayerNorm<B> {
    fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let (var, mean) = x.clone().var_mean_bias(D - 1);
        let x = (x - mean) / (var + LAYER_NORM_EPS).sqrt();
        x * self.weight.val().unsqueeze::<D>() + self.bias.val().unsqueeze::<D>()
    }
}

/// One MLP-Mixer block (checkpoint prefix `<block>`).
#[derive(Module, Debug)]
pub struct MixerBlock<B: Backend> {
    /// `<block>.0.norm`: LayerNorm(W) before token mixing.
    token_norm: LayerNorm<B>,
    /// `<block>.0.fn.0`: Conv1d(34N → hidden, kernel 1), i.e. dense across tokens.
    token_expand: Dense<B>,
    /// `<block>.0.fn.3`: Conv1d(hidden → 34N, kernel 1).
    token_contract: Dense<B>,
    /// `<block>.1.norm`: LayerNorm(W) before channel mixing.
    channel_norm: LayerNorm<B>,
    /// `<block>.1.fn.0`: Linear(W → hidden).
    channel_expand: Dense<B>,
    /// `<block>.1.fn.3`: Linear(hidden → W).
    channel_contract: Dense<B>,
}

impl<B: ModelBackend> MixerBlock<B> {
    /// `[B, tokens, W]` → same shape.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        // Token mixing: move tokens to the last axis, mix them, move back.
        let y = self.token_norm.forward(x.clone()).swap_dims(1, 2);
        let y = self.token_expand.forward_last(y);
        let y = self.token_contract.forward_last(B::gelu_erf(y));
        let x = x + y.swap_dims(1, 2);
        // Channel mixing within each token.
        let y = self
            .channel_expand
            .forward_last(self.channel_norm.forward(x.clone()));
        x + self.channel_contract.forward_last(B::gelu_erf(y))
    }
}

/// One output head of the encoder (`mu_fc` or `var_fc`): blocks, LayerNorm, tanh.
#[derive(Module, Debug)]
pub struct GeneHead<B: Backend> {
    /// `<head>.0` … `<head>.{depth-1}`.
    blocks: Vec<MixerBlock<B>>,
    /// `<head>.{depth}`: LayerNorm(W); `<head>.{depth+1}` is the tanh.
    norm: LayerNorm<B>,
}

impl<B: ModelBackend> GeneHead<B> {
    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        self.norm.forward(x).tanh()
    }
}

/// StyleGene's latent-based gene encoder (`w2sub34`).
#[derive(Module, Debug)]
pub struct GeneEncoder<B: Backend> {
    /// `layer.1`: Linear(N → 34N) along the W+ layer axis (`layer.0` and
    /// `layer.2` are the parameter-free transposes around it).
    layers_to_tokens: Dense<B>,
    /// `layer.3` … `layer.{2+depth}` (8 blocks in the official file).
    blocks: Vec<MixerBlock<B>>,
    /// `layer.{3+depth}`: LayerNorm(W).
    norm: LayerNorm<B>,
    /// `mu_fc`: the mean head.
    mean_head: GeneHead<B>,
    /// `var_fc`: the log-variance head.
    logvar_head: GeneHead<B>,
    n_layers: usize,
    width: usize,
}

impl<B: ModelBackend> GeneEncoder<B> {
    /// Loads `w2sub34.*` from a StyleGene checkpoint.
    pub fn load(path: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        Self::from_weights(&Weights::open(path)?, device)
    }

    /// Loads `w2sub34.*` from an opened checkpoint or its native copy.
    pub fn from_weights(weights: &Weights, device: &B::Device) -> Result<Self> {
        let w = StateDict::new(weights, "w2sub34", STYLEGENE_LAYOUT, STYLEGENE_FILE, device)?;
        let [tokens, n_layers] = w.shape_of::<2>("layer.1.weight", "[34·N, N]")?;
        if n_layers == 0 || tokens != REGION_COUNT * n_layers {
            return Err(w.wrong_shape(
                "layer.1.weight",
                &format!("[{}, {n_layers}] (34·N, N)", REGION_COUNT * n_layers),
                &[tokens, n_layers],
            ));
        }
        let depth = count_blocks(&w, "layer.", 3);
        let norm_name = format!("layer.{}", 3 + depth);
        let [width] = w.shape_of::<1>(&format!("{norm_name}.weight"), "[W]")?;
        let layers_to_tokens = w.dense("layer.1", n_layers, tokens)?;
        let blocks = (0..depth)
            .map(|i| w.block(&format!("layer.{}", 3 + i), tokens, width))
            .collect::<Result<Vec<_>>>()?;
        let norm = w.norm(&norm_name, width)?;
        let mean_head = w.head("mu_fc", tokens, width)?;
        let logvar_head = w.head("var_fc", tokens, width)?;
        w.finish()?;
        Ok(GeneEncoder {
            layers_to_tokens,
            blocks,
            norm,
            mean_head,
            logvar_head,
            n_layers,
            width,
        })
    }

    /// Number of W+ layers N.
    pub fn n_layers(&self) -> usize {
        self.n_layers
    }

    /// Width W of a W+ layer (512 in the official model).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of mixer blocks before the heads (8 in the official model).
    pub fn depth(&self) -> usize {
        self.blocks.len()
    }

    /// W+ `[B, N, W]` → (mean, log-variance), each `[B, N, 34, W]`.
    ///
    /// Panics if the input is not `[_, n_layers(), width()]`.
    pub fn forward(&self, w_plus: Tensor<B, 3>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let [batch, n, width] = w_plus.dims();
        assert_eq!(
            (n, width),
            (self.n_layers, self.width),
            "GeneEncoder input must be [B, {}, {}]",
            self.n_layers,
            self.width
        );
        // [B, N, W] → [B, W, N] → dense N→34N → [B, 34N, W].
        let x = self.layers_to_tokens.forward_last(w_plus.swap_dims(1, 2));
        let x = x.swap_dims(1, 2);
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        let features = self.norm.forward(x);
        let shape = [batch, n, REGION_COUNT, width];
        (
            self.mean_head.forward(features.clone()).reshape(shape),
            self.logvar_head.forward(features).reshape(shape),
        )
    }

    /// Shape of the genomes this encoder produces.
    pub fn gene_shape(&self) -> GeneShape {
        GeneShape {
            layers: self.n_layers,
            width: self.width,
        }
    }

    /// Batched latents → genomes (one forward pass), for `FaceModel::encode`.
    pub fn encode(&self, latents: &[Latent]) -> Result<Vec<Genome>> {
        if latents.is_empty() {
            return Ok(Vec::new());
        }
        let mut data = Vec::with_capacity(latents.len() * self.n_layers * self.width);
        for (i, latent) in latents.iter().enumerate() {
            if (latent.layers, latent.width) != (self.n_layers, self.width)
                || latent.data.len() != latent.layers * latent.width
            {
                return Err(Error::input(format!(
                    "latent {i} is [{}, {}] but the gene encoder expects [{}, {}]",
                    latent.layers, latent.width, self.n_layers, self.width
                )));
            }
            data.extend_from_slice(&latent.data);
        }
        let device = self.norm.weight.val().device();
        let input = Tensor::from_data(
            TensorData::new(data, [latents.len(), self.n_layers, self.width]),
            &device,
        );
        let (mean, logvar) = self.forward(input);
        let shape = self.gene_shape();
        let means = split_rows(mean.into_data(), shape.len())?;
        let logvars = split_rows(logvar.into_data(), shape.len())?;
        means
            .into_iter()
            .zip(logvars)
            .map(|(m, v)| Genome::from_parts(shape, m, v).map_err(Error::internal))
            .collect()
    }
}

/// StyleGene's gene decoder (`sub2w`).
#[derive(Module, Debug)]
pub struct GeneDecoder<B: Backend> {
    /// `layer.1` … `layer.{depth}` (6 blocks in the official file; `layer.0`
    /// is the parameter-free merge of the layer and region axes).
    blocks: Vec<MixerBlock<B>>,
    /// `layer.{depth+1}`: LayerNorm(W); `layer.{depth+2}` transposes.
    norm: LayerNorm<B>,
    /// `layer.{depth+3}`: Linear(34N → 34N) along the token axis.
    token_dense: Dense<B>,
    /// `layer.{depth+4}`: LayerNorm(34N); `layer.{depth+5}` is a GELU.
    token_norm: LayerNorm<B>,
    /// `layer.{depth+6}`: Linear(34N → N); `layer.{depth+7}` transposes back.
    tokens_to_layers: Dense<B>,
    n_layers: usize,
    width: usize,
}

impl<B: ModelBackend> GeneDecoder<B> {
    /// Loads `sub2w.*` from a StyleGene checkpoint.
    pub fn load(path: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        Self::from_weights(&Weights::open(path)?, device)
    }

    /// Loads `sub2w.*` from an opened checkpoint or its native copy.
    pub fn from_weights(weights: &Weights, device: &B::Device) -> Result<Self> {
        let w = StateDict::new(weights, "sub2w", STYLEGENE_LAYOUT, STYLEGENE_FILE, device)?;
        let depth = count_blocks(&w, "layer.", 1);
        let norm_name = format!("layer.{}", depth + 1);
        let dense_name = format!("layer.{}", depth + 3);
        let token_norm_name = format!("layer.{}", depth + 4);
        let out_name = format!("layer.{}", depth + 6);
        let [width] = w.shape_of::<1>(&format!("{norm_name}.weight"), "[W]")?;
        let [n_layers, tokens] = w.shape_of::<2>(&format!("{out_name}.weight"), "[N, 34·N]")?;
        if n_layers == 0 || tokens != REGION_COUNT * n_layers {
            return Err(w.wrong_shape(
                &format!("{out_name}.weight"),
                &format!("[{n_layers}, {}] (N, 34·N)", REGION_COUNT * n_layers),
                &[n_layers, tokens],
            ));
        }
        let blocks = (0..depth)
            .map(|i| w.block(&format!("layer.{}", 1 + i), tokens, width))
            .collect::<Result<Vec<_>>>()?;
        let norm = w.norm(&norm_name, width)?;
        let token_dense = w.dense(&dense_name, tokens, tokens)?;
        let token_norm = w.norm(&token_norm_name, tokens)?;
        let tokens_to_layers = w.dense(&out_name, tokens, n_layers)?;
        w.finish()?;
        Ok(GeneDecoder {
            blocks,
            norm,
            token_dense,
            token_norm,
            tokens_to_layers,
            n_layers,
            width,
        })
    }

    /// Number of W+ layers N.
    pub fn n_layers(&self) -> usize {
        self.n_layers
    }

    /// Width W of a W+ layer (512 in the official model).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of mixer blocks (6 in the official model).
    pub fn depth(&self) -> usize {
        self.blocks.len()
    }

    /// Genes `[B, N, 34, W]` → W+ `[B, N, W]`.
    ///
    /// Panics if the input is not `[_, n_layers(), 34, width()]`.
    pub fn forward(&self, genes: Tensor<B, 4>) -> Tensor<B, 3> {
        let [batch, n, regions, width] = genes.dims();
        assert_eq!(
            (n, regions, width),
            (self.n_layers, REGION_COUNT, self.width),
            "GeneDecoder input must be [B, {}, 34, {}]",
            self.n_layers,
            self.width
        );
        let x = genes.reshape([batch, n * regions, width]);
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        // [B, 34N, W] → [B, W, 34N]: the tail works along the token axis.
        let x = self.norm.forward(x).swap_dims(1, 2);
        let x = B::gelu_erf(self.token_norm.forward(self.token_dense.forward_last(x)));
        self.tokens_to_layers.forward_last(x).swap_dims(1, 2)
    }

    /// Shape of the genes this decoder consumes.
    pub fn gene_shape(&self) -> GeneShape {
        GeneShape {
            layers: self.n_layers,
            width: self.width,
        }
    }

    /// Batched concrete genes → W+ latents (one forward pass), for `FaceModel::decode`.
    pub fn decode(&self, genes: &[GeneSample]) -> Result<Vec<Latent>> {
        if genes.is_empty() {
            return Ok(Vec::new());
        }
        let shape = self.gene_shape();
        let mut data = Vec::with_capacity(genes.len() * shape.len());
        for (i, gene) in genes.iter().enumerate() {
            if gene.shape != shape || gene.values.len() != shape.len() {
                return Err(Error::input(format!(
                    "gene sample {i} is [{}, 34, {}] but the gene decoder expects [{}, 34, {}]",
                    gene.shape.layers, gene.shape.width, self.n_layers, self.width
                )));
            }
            data.extend_from_slice(&gene.values);
        }
        let device = self.norm.weight.val().device();
        let input = Tensor::from_data(
            TensorData::new(data, [genes.len(), self.n_layers, REGION_COUNT, self.width]),
            &device,
        );
        let rows = split_rows(self.forward(input).into_data(), self.n_layers * self.width)?;
        Ok(rows
            .into_iter()
            .map(|data| Latent {
                layers: self.n_layers,
                width: self.width,
                data,
            })
            .collect())
    }
}

/// Splits a batch's values into one `Vec` per person.
fn split_rows(data: TensorData, row: usize) -> Result<Vec<Vec<f32>>> {
    let values: Vec<f32> = data
        .into_vec()
        .map_err(|e| Error::internal(format!("reading a gene-mapping output: {e:?}")))?;
    Ok(values.chunks_exact(row).map(<[f32]>::to_vec).collect())
}

/// Both mappings of one checkpoint.
#[derive(Module, Debug)]
pub struct StyleGeneMappings<B: Backend> {
    pub encoder: GeneEncoder<B>,
    pub decoder: GeneDecoder<B>,
}

impl<B: ModelBackend> StyleGeneMappings<B> {
    /// Reads `stylegene_N18.ckpt` (or a smaller checkpoint of the same layout)
    /// once and loads both mappings, which must agree on N and W.
    pub fn load(path: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        let weights = Weights::open(path)?;
        let encoder = GeneEncoder::from_weights(&weights, device)?;
        let decoder = GeneDecoder::from_weights(&weights, device)?;
        if (encoder.n_layers, encoder.width) != (decoder.n_layers, decoder.width) {
            return Err(weights.error(format!(
                "the encoder maps [{}, {}] latents but the decoder [{}, {}]",
                encoder.n_layers, encoder.width, decoder.n_layers, decoder.width
            )));
        }
        Ok(StyleGeneMappings { encoder, decoder })
    }
}

/// The mixers' layer readers.
impl<B: Backend> StateDict<'_, B> {
    /// A Linear(in → out) stored as `weight [out, in]`, `bias [out]`.
    fn dense(&self, name: &str, inputs: usize, outputs: usize) -> Result<Dense<B>> {
        let weight = self.tensor(&format!("{name}.weight"), [outputs, inputs])?;
        self.dense_from(name, weight, outputs)
    }

    /// A Conv1d(in → out, kernel 1) stored as `weight [out, in, 1]`, `bias [out]`.
    fn conv1x1(&self, name: &str, inputs: usize, outputs: usize) -> Result<Dense<B>> {
        // Built as [out, in] directly: reshaping a loaded tensor copies it.
        let values = self.values(&format!("{name}.weight"), &[outputs, inputs, 1])?;
        let weight = Tensor::from_data(TensorData::new(values, [outputs, inputs]), self.device);
        self.dense_from(name, weight, outputs)
    }

    fn dense_from(&self, name: &str, weight: Tensor<B, 2>, outputs: usize) -> Result<Dense<B>> {
        let bias = self.tensor(&format!("{name}.bias"), [outputs])?;
        Ok(Dense {
            weight_t: Param::from_tensor(weight.transpose()),
            bias: Param::from_tensor(bias),
        })
    }

    fn norm(&self, name: &str, width: usize) -> Result<LayerNorm<B>> {
        Ok(LayerNorm {
            weight: Param::from_tensor(self.tensor(&format!("{name}.weight"), [width])?),
            bias: Param::from_tensor(self.tensor(&format!("{name}.bias"), [width])?),
        })
    }

    fn block(&self, name: &str, tokens: usize, width: usize) -> Result<MixerBlock<B>> {
        let [token_hidden, _, _] =
            self.shape_of::<3>(&format!("{name}.0.fn.0.weight"), "[hidden, 34·N, 1]")?;
        let [channel_hidden, _] = self.shape_of::<2>(
            &format!("{name}.1.fn.0.weight"),
            &format!("[hidden, {width}]"),
        )?;
        Ok(MixerBlock {
            token_norm: self.norm(&format!("{name}.0.norm"), width)?,
            token_expand: self.conv1x1(&format!("{name}.0.fn.0"), tokens, token_hidden)?,
            token_contract: self.conv1x1(&format!("{name}.0.fn.3"), token_hidden, tokens)?,
            channel_norm: self.norm(&format!("{name}.1.norm"), width)?,
            channel_expand: self.dense(&format!("{name}.1.fn.0"), width, channel_hidden)?,
            channel_contract: self.dense(&format!("{name}.1.fn.3"), channel_hidden, width)?,
        })
    }

    fn head(&self, name: &str, tokens: usize, width: usize) -> Result<GeneHead<B>> {
        let depth = count_blocks(self, &format!("{name}."), 0);
        let blocks = (0..depth)
            .map(|i| self.block(&format!("{name}.{i}"), tokens, width))
            .collect::<Result<Vec<_>>>()?;
        Ok(GeneHead {
            blocks,
            norm: self.norm(&format!("{name}.{depth}"), width)?,
        })
    }
}
