//! StyleGAN2 synthesis speed on the CPU backend (and on CUDA with `--features cuda`).
//!
//! - `synthesis/tiny_32px_batch2`: the committed parity fixture.
//! - `synthesis/config_f_256px_batch1`: random weights with config-f's widths
//!   (512 up to 64 px, 256 at 128 px, 128 at 256 px), style dim 512, 8 mapping
//!   layers, built in memory and loaded through the same checkpoint code.
//!
//! - `throughput_<backend>/<size>px_batch<n>`: images per second at 256 and
//!   1024 px, batch 1 and 8, on every backend this build has (cpu; wgpu
//!   with `--features wgpu`; cuda with `--features cuda`), config-f widths.
//!   `FAMSIM_BENCH_SIZES=256` (a comma list) picks the sizes; on a wgpu
//!   adapter that runs on the CPU (Mesa's lavapipe) only 32 px is measured
//!   unless the variable asks for more, with a printed note: lavapipe
//!   checks correctness, and one 256 px image takes about 90 s there.
//!
//! Run: `cargo bench --bench generator`. Measured on the 2-core dev box
//! (Nov 2026, gemm path): tiny ≈ 1.7 ms, 256 px ≈ 0.43 s per image (it was
//! 14 s on burn-ndarray's own convolution).

use burn::tensor::{Tensor, TensorData};
use burn_ndarray::{NdArray, NdArrayDevice};
use criterion::{criterion_group, criterion_main, Criterion};
use famsim::model::backend::ModelBackend;
use famsim::model::stylegene::stylegan2::{Generator, NoiseMode};
use famsim::weights::Weights as Checkpoint;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::path::Path;
use std::time::Duration;

type B = NdArray<f32>;

/// Named tensors for an in-memory checkpoint.
struct Builder {
    rng: ChaCha8Rng,
    tensors: Vec<(String, TensorData)>,
}

impl Builder {
    fn random(&mut self, name: String, shape: Vec<usize>) {
        let n = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| self.rng.sample(StandardNormal)).collect();
        self.tensors.push((name, TensorData::new(values, shape)));
    }

    fn constant(&mut self, name: String, shape: Vec<usize>, value: f32) {
        let n = shape.iter().product();
        self.tensors
            .push((name, TensorData::new(vec![value; n], shape)));
    }

    fn modulated(&mut self, prefix: &str, style_dim: usize, i: usize, o: usize, k: usize) {
        self.random(format!("{prefix}.weight"), vec![1, o, i, k, k]);
        self.random(format!("{prefix}.modulation.weight"), vec![i, style_dim]);
        self.constant(format!("{prefix}.modulation.bias"), vec![i], 1.0);
    }

    fn styled(&mut self, prefix: &str, style_dim: usize, i: usize, o: usize) {
        self.modulated(&format!("{prefix}.conv"), style_dim, i, o, 3);
        self.constant(format!("{prefix}.noise.weight"), vec![1], 0.1);
        self.constant(format!("{prefix}.activate.bias"), vec![o], 0.0);
    }
}

/// A random-weight checkpoint in the official layout: `widths[0]` at 4×4,
/// then one width per upsampling block.
fn random_checkpoint(style_dim: usize, mapping_layers: usize, widths: &[usize]) -> Checkpoint {
    let mut b = Builder {
        rng: ChaCha8Rng::seed_from_u64(1),
        tensors: Vec::new(),
    };
    for i in 1..=mapping_layers {
        b.random(
            format!("g_ema.style.{i}.weight"),
            vec![style_dim, style_dim],
        );
        b.constant(format!("g_ema.style.{i}.bias"), vec![style_dim], 0.0);
    }
    b.random("latent_avg".into(), vec![style_dim]);
    b.random("g_ema.input.input".into(), vec![1, widths[0], 4, 4]);
    b.styled("g_ema.conv1", style_dim, widths[0], widths[0]);
    b.modulated("g_ema.to_rgb1.conv", style_dim, widths[0], 3, 1);
    b.constant("g_ema.to_rgb1.bias".into(), vec![1, 3, 1, 1], 0.0);
    // The [1, 3, 3, 1] FIR kernel, normalised and ×4 for 2× upsampling.
    let fir: Vec<f32> = [1.0f32, 3.0, 3.0, 1.0]
        .iter()
        .flat_map(|a| [1.0f32, 3.0, 3.0, 1.0].map(|c| a * c * 4.0 / 64.0))
        .collect();
    for (k, pair) in widths.windows(2).enumerate() {
        let (i, o) = (pair[0], pair[1]);
        b.styled(&format!("g_ema.convs.{}", 2 * k), style_dim, i, o);
        b.styled(&format!("g_ema.convs.{}", 2 * k + 1), style_dim, o, o);
        b.modulated(&format!("g_ema.to_rgbs.{k}.conv"), style_dim, o, 3, 1);
        b.constant(format!("g_ema.to_rgbs.{k}.bias"), vec![1, 3, 1, 1], 0.0);
        for name in [
            format!("g_ema.convs.{}.conv.blur.kernel", 2 * k),
            format!("g_ema.to_rgbs.{k}.upsample.kernel"),
        ] {
            b.tensors.push((name, TensorData::new(fir.clone(), [4, 4])));
        }
    }
    for j in 0..2 * (widths.len() - 1) + 1 {
        let side = 1usize << ((j + 5) / 2);
        b.random(format!("g_ema.noises.noise_{j}"), vec![1, 1, side, side]);
    }
    Checkpoint::from_data("random config-f weights", b.tensors)
}

/// Config-f's widths from 4 px up to 1024 px (a prefix gives smaller sizes).
const CONFIG_F: [usize; 9] = [512, 512, 512, 512, 512, 256, 128, 64, 32];

fn wplus<G: ModelBackend>(g: &Generator<G>, batch: usize, device: &G::Device) -> Tensor<G, 3> {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let n = batch * g.n_latent() * g.style_dim();
    let values: Vec<f32> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
    Tensor::from_data(
        TensorData::new(values, [batch, g.n_latent(), g.style_dim()]),
        device,
    )
}

fn bench(c: &mut Criterion) {
    let device = NdArrayDevice::Cpu;
    let mut group = c.benchmark_group("synthesis");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));

    let tiny_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stylegan2/tiny.pt");
    let tiny = Generator::<B>::load(&tiny_path, &device).expect("tiny fixture loads");
    let w = wplus(&tiny, 2, &device);
    group.bench_function("tiny_32px_batch2", |b| {
        b.iter(|| tiny.synthesis(w.clone(), NoiseMode::Stored).unwrap())
    });

    let ckpt = random_checkpoint(512, 8, &CONFIG_F[..7]);
    let big = Generator::<B>::from_weights(&ckpt, &device).expect("random config-f loads");
    assert_eq!(big.resolution(), 256);
    let w = wplus(&big, 1, &device);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("config_f_256px_batch1", |b| {
        b.iter(|| big.synthesis(w.clone(), NoiseMode::Stored).unwrap())
    });
    group.finish();
}

/// Throughput at full size on the GPU: `cargo bench --features cuda --bench
/// generator -- cuda` (tools/bench_vs_torch.py --throughput runs it next to
/// PyTorch eager on the same machine).
#[cfg(feature = "cuda")]
fn bench_cuda(c: &mut Criterion) {
    use burn::tensor::backend::Backend;
    use famsim::model::stylegene::device::CudaBackend as C;
    let device = Default::default();
    let ckpt = random_checkpoint(512, 8, &CONFIG_F);
    let g = Generator::<C>::from_weights(&ckpt, &device).expect("random config-f loads");
    assert_eq!(g.resolution(), 1024);
    const BATCH: usize = 8;
    let w = wplus(&g, BATCH, &device);
    let mut group = c.benchmark_group("synthesis_cuda");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(3))
        .measurement_time(Duration::from_secs(10))
        .throughput(criterion::Throughput::Elements(BATCH as u64));
    group.bench_function("config_f_1024px_batch8", |b| {
        b.iter(|| {
            let images = g.synthesis(w.clone(), NoiseMode::Stored).unwrap();
            C::sync(&device).expect("the GPU finishes");
            images
        })
    });
    group.finish();
}

/// The sizes `FAMSIM_BENCH_SIZES` asks for (a comma list), or `default`.
fn bench_sizes(default: &[usize]) -> Vec<usize> {
    match std::env::var("FAMSIM_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                let size = s
                    .trim()
                    .parse()
                    .expect("FAMSIM_BENCH_SIZES: sizes like 256,1024");
                assert!(
                    [8, 16, 32, 64, 128, 256, 512, 1024].contains(&size),
                    "FAMSIM_BENCH_SIZES: {size} is not a power of two from 8 to 1024"
                );
                size
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

/// Images per second through the synthesis network on `device`, at each
/// size and batch 1 and 8, waiting for the device to finish every pass.
fn throughput<G: ModelBackend>(
    c: &mut Criterion,
    backend: &str,
    device: G::Device,
    sizes: &[usize],
) {
    let mut group = c.benchmark_group(format!("throughput_{backend}"));
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    for &size in sizes {
        let blocks = size.ilog2() as usize - 1;
        let ckpt = random_checkpoint(512, 8, &CONFIG_F[..blocks]);
        let g = Generator::<G>::from_weights(&ckpt, &device).expect("random config-f loads");
        assert_eq!(g.resolution(), size);
        for batch in [1, 8] {
            let w = wplus(&g, batch, &device);
            group.throughput(criterion::Throughput::Elements(batch as u64));
            group.bench_function(format!("{size}px_batch{batch}"), |b| {
                b.iter(|| {
                    let images = g.synthesis(w.clone(), NoiseMode::Stored).unwrap();
                    G::sync(&device).expect("the device finishes");
                    images
                })
            });
        }
    }
    group.finish();
}

fn bench_throughput(c: &mut Criterion) {
    use famsim::model::stylegene::device::CpuBackend;
    throughput::<CpuBackend>(c, "cpu", Default::default(), &bench_sizes(&[256, 1024]));
    #[cfg(feature = "wgpu")]
    {
        use famsim::model::stylegene::device::{devices, wgpu_device, WgpuBackend};
        use famsim::model_spec::DeviceSpec;
        match wgpu_device(0) {
            Ok(device) => {
                let (listed, _) = devices();
                let adapter = listed.iter().find(|d| d.spec == DeviceSpec::Wgpu(0));
                let what = adapter.map_or("?", |d| d.description.as_str());
                let on_cpu = what.contains("Cpu adapter");
                if on_cpu && std::env::var("FAMSIM_BENCH_SIZES").is_err() {
                    eprintln!(
                        "note: wgpu adapter 0 ({what}) runs on the CPU, where one 256 px image \
                         takes about 90 s: measuring 32 px only, a correctness run of this bench \
                         rather than a speed figure (FAMSIM_BENCH_SIZES=256,1024 to measure those)"
                    );
                }
                let sizes = bench_sizes(if on_cpu { &[32] } else { &[256, 1024] });
                throughput::<WgpuBackend>(c, "wgpu", device, &sizes);
            }
            Err(e) => eprintln!("note: no wgpu throughput: {e}"),
        }
    }
    #[cfg(feature = "cuda")]
    match famsim::model::stylegene::device::cuda_device(0) {
        Ok(device) => throughput::<famsim::model::stylegene::device::CudaBackend>(
            c,
            "cuda",
            device,
            &bench_sizes(&[256, 1024]),
        ),
        Err(e) => eprintln!("note: no CUDA throughput: {e}"),
    }
}

#[cfg(not(feature = "cuda"))]
criterion_group!(benches, bench, bench_throughput);
#[cfg(feature = "cuda")]
criterion_group!(benches, bench, bench_cuda, bench_throughput);
criterion_main!(benches);
