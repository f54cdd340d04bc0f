//! e4e photo-encoder speed on the CPU backend: one photo → W+.
//!
//! - `photo_encoder/tiny_64px`: the committed parity fixture.
//! - `photo_encoder/ir_se50_256px_n14`: random weights at e4e's real size
//!   (IR-SE-50: 3, 4, 14, 3 units of 64, 128, 256, 512 channels; 256 px
//!   photos; 14 style blocks of width 512, as for a 256 px generator),
//!   written to a temporary native file and loaded through the model's own
//!   loader.
//!
//! Run: `cargo bench --bench photo_encoder`. Measured on the 2-core dev box
//! (Nov 2026, im2col + gemm path): tiny ≈ 4.3 ms, IR-SE-50 at 256 px
//! ≈ 0.75 s per photo. `tools/bench_vs_torch.py --e4e` compares
//! `famsim invert` with PyTorch on the same checkpoint.

use burn::tensor::{Tensor, TensorData};
use burn_ndarray::NdArray;
use criterion::{criterion_group, criterion_main, Criterion};
use famsim::io::safetensors::{self as st, TensorToWrite};
use famsim::model::stylegene::e4e::PhotoEncoder;
use famsim::weights::Weights;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::path::Path;
use std::time::Duration;

type B = NdArray<f32>;

/// Random tensors under e4e's names, scaled so activations stay moderate.
struct Builder {
    rng: ChaCha8Rng,
    tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl Builder {
    fn filled(&mut self, name: String, shape: Vec<usize>, value: f32) {
        let n = shape.iter().product();
        self.tensors.push((name, shape, vec![value; n]));
    }

    fn random(&mut self, name: String, shape: Vec<usize>, scale: f32) {
        let n = shape.iter().product();
        let values = (0..n)
            .map(|_| scale * self.rng.sample::<f32, _>(StandardNormal))
            .collect();
        self.tensors.push((name, shape, values));
    }

    fn conv(&mut self, name: &str, i: usize, o: usize, k: usize, bias: bool) {
        let he = (2.0 / (i * k * k) as f32).sqrt();
        self.random(format!("{name}.weight"), vec![o, i, k, k], he);
        if bias {
            self.filled(format!("{name}.bias"), vec![o], 0.0);
        }
    }

    fn batch_norm(&mut self, name: &str, c: usize, gain: f32) {
        self.filled(format!("{name}.weight"), vec![c], gain);
        self.filled(format!("{name}.bias"), vec![c], 0.0);
        self.filled(format!("{name}.running_mean"), vec![c], 0.0);
        self.filled(format!("{name}.running_var"), vec![c], 1.0);
    }

    fn unit(&mut self, name: &str, i: usize, d: usize) {
        if i != d {
            self.conv(&format!("{name}.shortcut_layer.0"), i, d, 1, false);
            self.batch_norm(&format!("{name}.shortcut_layer.1"), d, 1.0);
        }
        self.batch_norm(&format!("{name}.res_layer.0"), i, 1.0);
        self.conv(&format!("{name}.res_layer.1"), i, d, 3, false);
        self.filled(format!("{name}.res_layer.2.weight"), vec![d], 0.25);
        self.conv(&format!("{name}.res_layer.3"), d, d, 3, false);
        self.batch_norm(&format!("{name}.res_layer.4"), d, 0.1);
        self.conv(&format!("{name}.res_layer.5.fc1"), d, d / 16, 1, false);
        self.conv(&format!("{name}.res_layer.5.fc2"), d / 16, d, 1, false);
    }
}

/// Writes a random IR-SE-50 e4e encoder for `n_latent` W+ layers of width 512.
fn write_random_e4e(path: &Path, n_latent: usize) {
    let mut b = Builder {
        rng: ChaCha8Rng::seed_from_u64(7),
        tensors: Vec::new(),
    };
    b.conv("encoder.input_layer.0", 3, 64, 3, false);
    b.batch_norm("encoder.input_layer.1", 64, 1.0);
    b.filled("encoder.input_layer.2.weight".into(), vec![64], 0.25);
    let mut unit = 0;
    for (i, d, units) in [(64, 64, 3), (64, 128, 4), (128, 256, 14), (256, 512, 3)] {
        for u in 0..units {
            b.unit(
                &format!("encoder.body.{unit}"),
                if u == 0 { i } else { d },
                d,
            );
            unit += 1;
        }
    }
    for s in 0..n_latent {
        // 16 px c3 → 4 convs; the middle and fine styles read 32 and 64 px.
        let convs = 4 + usize::from(s >= 3) + usize::from(s >= 7);
        for k in 0..convs {
            b.conv(
                &format!("encoder.styles.{s}.convs.{}", 2 * k),
                512,
                512,
                3,
                true,
            );
        }
        b.random(
            format!("encoder.styles.{s}.linear.weight"),
            vec![512, 512],
            0.2,
        );
        b.filled(format!("encoder.styles.{s}.linear.bias"), vec![512], 0.0);
    }
    b.conv("encoder.latlayer1", 256, 512, 1, true);
    b.conv("encoder.latlayer2", 128, 512, 1, true);
    b.filled("latent_avg".into(), vec![512], 0.0);
    let tensors = b
        .tensors
        .iter()
        .map(|(name, shape, values)| TensorToWrite::borrowed(name.clone(), shape.clone(), values))
        .collect();
    st::write(path, tensors, &Default::default()).expect("write the random encoder");
}

fn photo(side: usize) -> Tensor<B, 4> {
    let values: Vec<f32> = (0..3 * side * side)
        .map(|i| ((i * 37 % 255) as f32 / 127.5) - 1.0)
        .collect();
    Tensor::from_data(
        TensorData::new(values, [1, 3, side, side]),
        &Default::default(),
    )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("photo_encoder");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e4e/e4e.pt");
    let file = Weights::open(&fixture).expect("the e4e fixture");
    let tiny = PhotoEncoder::<B>::from_weights(&file, &Default::default()).unwrap();
    let input = photo(tiny.input_size());
    group.bench_function("tiny_64px", |b| b.iter(|| tiny.forward(input.clone())));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo_encoder.safetensors");
    write_random_e4e(&path, 14);
    let file = Weights::safetensors(&path).unwrap();
    let full = PhotoEncoder::<B>::from_weights(&file, &Default::default()).unwrap();
    assert_eq!(full.input_size(), 256);
    let input = photo(256);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("ir_se50_256px_n14", |b| {
        b.iter(|| full.forward(input.clone()).into_data())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
