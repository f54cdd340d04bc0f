//! Parity of famsim's FairFace network (src/model/fairface.rs) with
//! torchvision's `resnet34(num_classes=18)`, on a random-weight checkpoint
//! that has exactly the official file's key names and shapes
//! (`tools/fixtures/fairface_fixture.py`).
//!
//! Why this fixture is honest although a full ResNet-34 is 85 MB: every
//! tensor in `fairface_views.pt` is a strided view into a small random
//! storage of its own, which `torch.save` keeps as storage + strides, so the
//! file is 0.4 MB while torchvision loads it as the full-size network and
//! famsim reads it through its ordinary PyTorch reader (legacy format, as the
//! 2019 checkpoint is). The strides differ per axis (1, 2, 3, 5 from the
//! last axis), so a transposed kernel or a swapped in/out axis reads other
//! values and fails. The photos are real aligned crops (scikit-image's
//! astronaut through the FFHQ alignment fixtures), checked by their pixels'
//! SHA-256; the input preprocessing (nearest resize to 224 and the two
//! normalisations) is part of what is compared, as the official
//! `predict_race` does it. torchvision ran in float64.

use famsim::attributes::{Ancestry, AttributeScores};
use famsim::model::backend::{CpuBackend, ModelBackend};
use famsim::model::fairface::FairFace;
use famsim::weights::Weights;
use std::path::{Path, PathBuf};

mod common;

/// Logits of magnitude up to 17: float32 accumulated over ResNet-34's 36
/// layers stays well inside this; a wrong stride, padding, pooling or
/// normalisation constant moves them by far more.
const TOLERANCE: f32 = 1e-4;
/// CUDA: not measured (no GPU where this was written); the same bound.
#[cfg(feature = "cuda")]
const CUDA_TOLERANCE: f32 = 1e-4;
/// wgpu: the same bound; measured on Mesa's lavapipe (CI's adapter) on
/// 2026-11-30: 1.5e-5 (the CPU backend: 5.2e-6, the burn-generic layers on
/// burn-ndarray: 7.6e-6). Not tightened to that because it also serves
/// Metal, AMD, Intel and NVIDIA adapters, which round differently.
#[cfg(feature = "wgpu")]
const WGPU_TOLERANCE: f32 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    common::fixture("fairface").join(name)
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn photo(name: &str, sha: &str) -> famsim::model::Image {
    let image = famsim::io::photo::read_photo(&common::fixture("photo").join(name)).unwrap();
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&image.rgb)),
        sha,
        "{name}: not the pixels the fixture was made from"
    );
    image
}

/// The check against torchvision's numbers, run on every backend below.
fn logits_match_torchvision<B: ModelBackend>(device: &B::Device, tolerance: f32) {
    let weights = Weights::pytorch(fixture("fairface_views.pt")).unwrap();
    let net = FairFace::<B>::from_weights(&weights, device).unwrap();
    assert_eq!(net.blocks(), vec![3, 4, 6, 3], "ResNet-34's blocks");
    let cases = expected();
    let cases = cases["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    let photos: Vec<_> = cases
        .iter()
        .map(|c| {
            photo(
                c["photo"].as_str().unwrap(),
                c["rgb_sha256"].as_str().unwrap(),
            )
        })
        .collect();
    // One batch: each photo's logits must not depend on its neighbours.
    let got = net.logits(&photos.iter().collect::<Vec<_>>()).unwrap();
    let mut worst = 0.0f32;
    for (case, got) in cases.iter().zip(&got) {
        let want: Vec<f32> = case["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        for (g, w) in got.iter().zip(&want) {
            worst = worst.max((g - w).abs());
        }
        // The predicted labels are torchvision's too.
        let want: [f32; 18] = want.try_into().unwrap();
        let (a, b) = (
            AttributeScores::from_logits(got),
            AttributeScores::from_logits(&want),
        );
        assert_eq!(
            (a.ancestry().0, a.sex().0, a.age().0),
            (b.ancestry().0, b.sex().0, b.age().0)
        );
    }
    eprintln!("largest logit difference from torchvision: {worst:e}");
    assert!(
        worst <= tolerance,
        "largest logit difference {worst} > {tolerance}"
    );
    // The fixture is no degenerate case: the heads disagree among themselves.
    let s = AttributeScores::from_logits(&got[0]);
    assert_eq!(s.ancestry().0, Ancestry::Indian);
}

/// The parity test for `$backend` on the device `$device` gives (None:
/// skipped, see `common::gpu_or_skip`), in module `$name`.
/// For a GPU, `$scenario_device` is its spelling in a scenario, and
/// `famsim check` predicts photo founders there as on the CPU.
macro_rules! parity_tests {
    ($name:ident, $backend:ty, $tolerance:expr, $device:expr $(, $scenario_device:expr)?) => {
        mod $name {
            fn device() -> Option<<$backend as burn::tensor::backend::BackendTypes>::Device> {
                $device
            }

            #[test]
            fn logits_match_torchvision() {
                if let Some(device) = device() {
                    super::logits_match_torchvision::<$backend>(&device, $tolerance);
                }
            }

            $(
                #[test]
                fn photo_founders_are_predicted_on_the_device() {
                    if device().is_some() {
                        super::photo_founders_on_device($scenario_device);
                    }
                }
            )?
        }
    };
}

parity_tests!(
    cpu,
    famsim::model::backend::CpuBackend,
    super::TOLERANCE,
    Some(Default::default())
);
// The burn-generic layers (what CUDA and wgpu run) on burn-ndarray.
parity_tests!(
    burn_generic,
    famsim::model::backend::ReferenceCpuBackend,
    super::TOLERANCE,
    Some(Default::default())
);
// On a GPU machine: tools/cuda_check.sh.
#[cfg(feature = "cuda")]
parity_tests!(
    cuda,
    famsim::model::backend::CudaBackend,
    super::CUDA_TOLERANCE,
    super::common::cuda_device(),
    "Cuda(0)"
);
// cargo test --features wgpu --test fairface_parity wgpu:: (CI: on lavapipe).
#[cfg(feature = "wgpu")]
parity_tests!(
    wgpu,
    famsim::model::backend::WgpuBackend,
    super::WGPU_TOLERANCE,
    super::common::wgpu_device(),
    "Wgpu(0)"
);

/// `famsim check` of a scenario whose founders are aligned photos that
/// leave their race and age out, on `device` ("Wgpu(0)"): FairFace runs
/// there (no note that it fell back to the CPU) and predicts what it
/// predicts on the CPU, to the two decimals shown.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn photo_founders_on_device(device: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (e4e, fairface) = (common::fixture("e4e/e4e.pt"), fixture("fairface_views.pt"));
    common::import_tiny_weights(
        dir,
        "weights",
        &[
            "--e4e",
            e4e.to_str().unwrap(),
            "--fairface",
            fairface.to_str().unwrap(),
        ],
    );
    let crop = "aligned_astronaut_crop.png";
    std::fs::copy(common::fixture("photo").join(crop), dir.join(crop)).unwrap();
    let check = |device: &str| {
        let scenario = format!(
            r#"(
    name: "Photo founders",
    seed: 1,
    model: StyleGene(weights: "weights", device: {device}),
    image_size: 64,
    people: [
        (id: "dad", sex: Male, genes: AlignedPhoto("aligned_astronaut_crop.png")),
        (id: "mum", sex: Female, age: "30-39", genes: AlignedPhoto("aligned_astronaut_crop.png")),
    ],
)
"#
        );
        let file = dir.join(format!("{}.ron", device.replace(['(', ')'], "")));
        std::fs::write(&file, scenario).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_famsim"))
            .args(["check", file.to_str().unwrap()])
            .current_dir(dir)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(out.status.success(), "check on {device}: {stderr}");
        assert!(!stderr.contains("note:"), "check on {device}: {stderr}");
        stdout
            .split("predicted from photos (FairFace):")
            .nth(1)
            .and_then(|rest| rest.split("\nwarnings:").next())
            .unwrap_or_else(|| panic!("check on {device}: no predictions in {stdout}"))
            .to_owned()
    };
    let (on_cpu, on_device) = (check("Cpu"), check(device));
    assert!(on_cpu.contains("ancestry  Indian 1.00"), "{on_cpu}");
    assert_eq!(on_device, on_cpu);
}

fn load_error(path: &Path) -> famsim::Error {
    let weights = Weights::pytorch(path).unwrap();
    FairFace::<CpuBackend>::from_weights(&weights, &Default::default()).unwrap_err()
}

#[test]
fn a_head_of_the_wrong_width_is_named() {
    let err = load_error(&fixture("fairface_bad_head.pt"));
    assert_eq!(err.exit_code(), 2);
    let text = err.to_string();
    assert!(
        text.contains("fairface_bad_head.pt")
            && text.contains("tensor `fc.weight` has shape [7, 512], expected [18, 512]"),
        "{text}"
    );
}

/// Dropping or reshaping one tensor of the real layout names it; so does
/// a tensor the network does not have.
#[test]
fn a_missing_misshapen_or_extra_tensor_is_named() {
    let full = Weights::pytorch(fixture("fairface_views.pt")).unwrap();
    let names: Vec<String> = full
        .names()
        .into_iter()
        .filter(|n| full.info(n).unwrap().float)
        .map(str::to_owned)
        .collect();
    assert_eq!(names.len(), 182, "resnet34's float tensors");
    type Edit<'a> = &'a dyn Fn(&str, Vec<usize>) -> Vec<(String, Vec<usize>)>;
    let build = |edit: Edit| {
        let tensors = names.iter().flat_map(|n| edit(n, full.shape(n).unwrap()));
        let tensors = tensors.map(|(name, shape)| {
            let len = shape.iter().product();
            let values = if name.ends_with("running_var") {
                vec![1.0; len]
            } else {
                vec![0.01; len]
            };
            (name, burn::tensor::TensorData::new(values, shape))
        });
        let weights = Weights::from_data("edited.pt", tensors.collect::<Vec<_>>());
        FairFace::<CpuBackend>::from_weights(&weights, &Default::default())
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(build(&|n, s| vec![(n.to_owned(), s)]), None);
    let missing = build(&|n, s| match n {
        "layer3.4.bn2.running_var" => vec![],
        _ => vec![(n.to_owned(), s)],
    });
    assert_eq!(
        missing.as_deref(),
        Some("edited.pt: missing tensor `layer3.4.bn2.running_var` (expected shape [256])")
    );
    let misshapen = build(&|n, s| match n {
        "layer2.0.downsample.0.weight" => vec![(n.to_owned(), vec![128, 64, 3, 3])],
        _ => vec![(n.to_owned(), s)],
    });
    assert_eq!(
        misshapen.as_deref(),
        Some(
            "edited.pt: tensor `layer2.0.downsample.0.weight` has shape [128, 64, 3, 3], \
             expected [128, 64, 1, 1]"
        )
    );
    // A downsample where torchvision's block keeps the shape.
    let extra = build(&|n, s| match n {
        "layer1.1.conv1.weight" => vec![
            (n.to_owned(), s),
            (
                "layer1.1.downsample.0.weight".to_owned(),
                vec![64, 64, 1, 1],
            ),
        ],
        _ => vec![(n.to_owned(), s)],
    });
    assert_eq!(
        extra.as_deref(),
        Some(
            "edited.pt: unexpected tensor `layer1.1.downsample.0.weight`: the checkpoint's \
             layout differs from torchvision's resnet34 with an 18-way fc (FairFace's)"
        )
    );
}
