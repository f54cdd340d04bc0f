//! StyleGAN2 synthesis speed on the CPU backend (burn-ndarray).
//!
//! - `synthesis/tiny_32px_batch2`: the committed parity fixture.
//! - `synthesis/config_f_256px_batch1`: random weights with config-f's widths
//!   (512 up to 64 px, 256 at 128 px, 128 at 256 px), style dim 512, 8 mapping
//!   layers, built in memory and loaded through the same checkpoint code.
//!
//! Run: `cargo bench --bench generator`.

use burn::tensor::{Tensor, TensorData};
use burn_ndarray::{NdArray, NdArrayDevice};
use criterion::{criterion_group, criterion_main, Criterion};
use famsim::model::stylegene::checkpoint::Checkpoint;
use famsim::model::stylegene::stylegan2::{Generator, NoiseMode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::path::Path;
use std::time::Duration;

type B = NdArray<f32>;

/// A random-weight checkpoint in the official layout: `widths[0]` at 4×4,
/// then one width per upsampling block.
fn random_checkpoint(style_dim: usize, mapping_layers: usize, widths: &[usize]) -> Checkpoint {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut tensors: Vec<(String, TensorData)> = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, rng: &mut ChaCha8Rng| {
        let n = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        tensors.push((name, TensorData::new(values, shape)));
    };
    for i in 1..=mapping_layers {
        add(format!("g_ema.style.{i}.weight"), vec![style_dim, style_dim], &mut rng);
        add(format!("g_ema.style.{i}.bias"), vec![style_dim], &mut rng);
    }
    add("latent_avg".into(), vec![style_dim], &mut rng);
    add("g_ema.input.input".into(), vec![1, widths[0], 4, 4], &mut rng);
    let mut modulated = |prefix: String, i: usize, o: usize, k: usize, rng: &mut ChaCha8Rng| {
        add(format!("{prefix}.weight"), vec![1, o, i, k, k], rng);
        add(format!("{prefix}.modulation.weight"), vec![i, style_dim], rng);
        add(format!("{prefix}.modulation.bias"), vec![i], rng);
    };
    modulated("g_ema.conv1.conv".into(), widths[0], widths[0], 3, &mut rng);
    modulated("g_ema.to_rgb1.conv".into(), widths[0], 3, 1, &mut rng);
    for (b, pair) in widths.windows(2).enumerate() {
        let (i, o) = (pair[0], pair[1]);
        modulated(format!("g_ema.convs.{}.conv", 2 * b), i, o, 3, &mut rng);
        modulated(format!("g_ema.convs.{}.conv", 2 * b + 1), o, o, 3, &mut rng);
        modulated(format!("g_ema.to_rgbs.{b}.conv"), o, 3, 1, &mut rng);
    }
    let mut add = |name: String, shape: Vec<usize>, value: f32| {
        let n: usize = shape.iter().product();
        tensors.push((name, TensorData::new(vec![value; n], shape)));
    };
    let styled = std::iter::once(("g_ema.conv1".to_string(), widths[0])).chain(
        widths[1..]
            .iter()
            .enumerate()
            .flat_map(|(b, &w)| [(format!("g_ema.convs.{}", 2 * b), w), (format!("g_ema.convs.{}", 2 * b + 1), w)]),
    );
    for (prefix, w) in styled {
        add(format!("{prefix}.noise.weight"), vec![1], 0.1);
        add(format!("{prefix}.activate.bias"), vec![w], 0.0);
    }
    add("g_ema.to_rgb1.bias".into(), vec![1, 3, 1, 1], 0.0);
    let fir: Vec<f32> = [1.0f32, 3.0, 3.0, 1.0]
        .iter()
        .flat_map(|a| [1.0f32, 3.0, 3.0, 1.0].map(|b| a * b * 4.0 / 64.0))
        .collect();
    for b in 0..widths.len() - 1 {
        add(format!("g_ema.to_rgbs.{b}.bias"), vec![1, 3, 1, 1], 0.0);
        for name in [format!("g_ema.convs.{}.conv.blur.kernel", 2 * b), format!("g_ema.to_rgbs.{b}.upsample.kernel")] {
            tensors.push((name, TensorData::new(fir.clone(), [4, 4])));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for j in 0..2 * (widths.len() - 1) + 1 {
        let side = 1usize << ((j + 5) / 2);
        let values: Vec<f32> = (0..side * side).map(|_| rng.sample(StandardNormal)).collect();
        tensors.push((format!("g_ema.noises.noise_{j}"), TensorData::new(values, [1, 1, side, side])));
    }
    Checkpoint::from_data("random config-f 256px", tensors)
}

fn wplus(g: &Generator<B>, batch: usize) -> Tensor<B, 3> {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let n = batch * g.n_latent() * g.style_dim();
    let values: Vec<f32> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
    Tensor::from_data(
        TensorData::new(values, [batch, g.n_latent(), g.style_dim()]),
        &NdArrayDevice::Cpu,
    )
}

fn bench(c: &mut Criterion) {
    let device = NdArrayDevice::Cpu;
    let mut group = c.benchmark_group("synthesis");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));

    let tiny_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stylegan2/tiny.pt");
    let tiny = Generator::<B>::load(&tiny_path, &device).expect("tiny fixture loads");
    let w = wplus(&tiny, 2);
    group.bench_function("tiny_32px_batch2", |b| {
        b.iter(|| tiny.synthesis(w.clone(), NoiseMode::Stored).unwrap())
    });

    let ckpt = random_checkpoint(512, 8, &[512, 512, 512, 512, 512, 256, 128]);
    let big = Generator::<B>::from_checkpoint(&ckpt, &device).expect("random config-f loads");
    assert_eq!(big.resolution(), 256);
    let w = wplus(&big, 1);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("config_f_256px_batch1", |b| {
        b.iter(|| big.synthesis(w.clone(), NoiseMode::Stored).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
