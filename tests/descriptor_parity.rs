//! dlib's face descriptor: the network file, the chip and the descriptor
//! against dlib's Python binding (fixtures from tools/fixtures/descriptor_fixture.py).

mod common;

use famsim::dlib::dnn::{DnnFile, Layer};

#[test]
fn the_descriptor_network_file_reads_to_its_end() {
    let Some(path) = common::descriptor_model() else {
        return;
    };
    let file = DnnFile::load(&path).unwrap();
    // dnn_face_recognition_ex.cpp's anet_type: 29 convolutions, each with its
    // affine, 14 residual additions, 130 layers over the input.
    let count = |kind: &str| file.layers.iter().filter(|l| l.kind() == kind).count();
    assert_eq!(file.layers.len(), 130);
    assert_eq!(
        (count("con"), count("affine"), count("add_prev")),
        (29, 29, 14)
    );
    match &file.layers[0] {
        Layer::Fc(fc) => {
            assert_eq!((fc.num_inputs, fc.num_outputs), (256, 128));
            assert!(fc.biases.is_empty(), "fc_no_bias");
        }
        other => panic!("layer<1> is {}", other.kind()),
    }
    match &file.layers[129] {
        Layer::Con(c) => assert_eq!(
            (
                c.num_filters,
                c.in_channels,
                c.rows,
                c.stride_y,
                c.padding_y
            ),
            (32, 3, 7, 2, 0)
        ),
        other => panic!("layer<130> is {}", other.kind()),
    }
    assert_eq!(file.input.size, Some((150, 150)));
    assert_eq!(
        (
            file.input.avg_red,
            file.input.avg_green,
            file.input.avg_blue
        ),
        (122.782, 117.001, 104.298)
    );
}

#[test]
fn a_truncated_network_file_names_the_layer_and_the_offset() {
    let Some(path) = common::descriptor_model() else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.dat");
    // Half the file: the stream ends inside some convolution's parameters.
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = DnnFile::load(&cut).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.exit_code(), 2, "{msg}");
    assert!(msg.contains("cut.dat"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
    assert!(msg.contains("(con_4) params"), "{msg}");
    assert!(msg.contains(&format!("byte {}", bytes.len() / 2)), "{msg}");
    let layer = msg.split("layer<").nth(1).and_then(|s| s.split('>').next());
    assert!(layer.is_some_and(|n| n.parse::<usize>().is_ok()), "{msg}");

    // A layer name famsim does not know is named too.
    let mut odd = bytes.clone();
    let at = odd.windows(7).position(|w| w == b"affine_").unwrap();
    odd[at..at + 7].copy_from_slice(b"affinX_");
    std::fs::write(&cut, &odd).unwrap();
    let msg = DnnFile::load(&cut).unwrap_err().to_string();
    assert!(msg.contains("`affinX_` is not one famsim reads"), "{msg}");
    // The offset is where the name ends.
    assert!(msg.contains(&format!("byte {}:", at + 7)), "{msg}");
}

use famsim::describe::{chip, Describer, DescriberFiles, FaceDescriber, CHIP_PADDING};
use famsim::dlib::FaceBox;
use famsim::model::backend::ModelBackend;
use std::path::{Path, PathBuf};

/// The largest per-channel difference allowed between famsim's chip and
/// dlib's: measured 0 on every fixture (the pyramid level, the bilinear
/// sampling and the truncations are dlib's, step for step). A last-bit
/// difference in the affine map (famsim's closed form where dlib solves by
/// SVD) could one day move a truncation by one level; that would show here.
const CHIP_TOLERANCE: u8 = 0;
/// The descriptor parity the issue asks for (Euclidean), on every backend.
/// Measured on 2026-11-30: at most 8.7e-7 on the CPU backend, 7.8e-7 on the
/// burn-generic layers (burn-ndarray), 1.2e-6 on wgpu on Mesa's lavapipe.
const DESCRIPTOR_TOLERANCE: f32 = 1e-3;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

struct Photo {
    name: String,
    image: famsim::image::Image,
    face: FaceBox,
    landmarks: Vec<[i64; 2]>,
    chip: famsim::image::Image,
    descriptor: Vec<f32>,
}

fn photos() -> Vec<Photo> {
    let dir = fixtures();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("descriptor/descriptor.json")).unwrap())
            .unwrap();
    json["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["photo"].as_str().unwrap().to_string();
            let b: Vec<i64> = serde_json::from_value(p["box"].clone()).unwrap();
            Photo {
                image: famsim::io::photo::read_photo(&dir.join(&name)).unwrap(),
                face: FaceBox {
                    left: b[0],
                    top: b[1],
                    right: b[2],
                    bottom: b[3],
                },
                landmarks: serde_json::from_value(p["landmarks5"].clone()).unwrap(),
                chip: famsim::io::photo::read_photo(
                    &dir.join("descriptor").join(p["chip"].as_str().unwrap()),
                )
                .unwrap(),
                descriptor: serde_json::from_value(p["descriptor"].clone()).unwrap(),
                name,
            }
        })
        .collect()
}

fn files() -> Option<DescriberFiles> {
    Some(DescriberFiles {
        descriptor: common::descriptor_model()?,
        landmarks5: common::landmarks5_model()?,
        detector: common::seeta_model(),
    })
}

fn euclidean(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// famsim's chip, from the fixture's landmarks, is dlib's chip. obama.png's
/// face needs one level of dlib's pyramid, astronaut_crop's chip runs off the
/// photo, lfw_0's is enlarged from 25 pixels.
#[test]
fn chips_match_dlib_get_face_chip() {
    let mut worst = 0u8;
    for p in photos() {
        let landmarks: Vec<[i64; 2]> = p.landmarks.clone();
        let details = chip::face_chip_details(&landmarks, 150, CHIP_PADDING).unwrap();
        let ours = chip::extract_chip(&p.image, &details).unwrap();
        assert_eq!((ours.width, ours.height), (150, 150), "{}", p.name);
        let diff = ours
            .rgb
            .iter()
            .zip(&p.chip.rgb)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        let differing = ours
            .rgb
            .iter()
            .zip(&p.chip.rgb)
            .filter(|(a, b)| a != b)
            .count();
        eprintln!(
            "{}: chip max diff {diff}, {differing} values differ",
            p.name
        );
        worst = worst.max(diff);
    }
    assert!(
        u32::from(worst) <= u32::from(CHIP_TOLERANCE),
        "chip differs by {worst}"
    );
}

fn descriptors_match_dlib<B: ModelBackend>(device: &B::Device) {
    let Some(files) = files() else {
        return;
    };
    let describer = Describer::<B>::load_on(&files, device).unwrap();
    for p in photos() {
        let aligned = describer.align(&p.image, p.face).unwrap();
        assert_eq!(
            aligned.landmarks.to_vec(),
            p.landmarks,
            "{}: landmarks",
            p.name
        );
        let ours = describer.describe_face(&p.image, p.face).unwrap();
        let d = euclidean(ours.as_slice(), &p.descriptor);
        // The network alone, on dlib's own chip.
        let on_chip = describer.describe_chips(&[&p.chip]).unwrap()[0];
        let d_chip = euclidean(on_chip.as_slice(), &p.descriptor);
        eprintln!("{}: distance {d:.2e} (on dlib's chip {d_chip:.2e})", p.name);
        assert!(
            d_chip <= DESCRIPTOR_TOLERANCE,
            "{}: network {d_chip}",
            p.name
        );
        assert!(d <= DESCRIPTOR_TOLERANCE, "{}: descriptor {d}", p.name);
    }
}

/// The parity test for `$backend` on the device `$device` gives (None:
/// skipped, see `common::gpu_or_skip`), in module `$name`; for a GPU, also
/// `famsim eval --device $flag` against the CPU run.
macro_rules! parity_tests {
    ($name:ident, $backend:ty, $device:expr $(, $flag:expr)?) => {
        mod $name {
            fn device() -> Option<<$backend as burn::tensor::backend::BackendTypes>::Device> {
                $device
            }

            #[test]
            fn descriptors_match_dlib() {
                if let Some(device) = device() {
                    super::descriptors_match_dlib::<$backend>(&device);
                }
            }

            $(
                #[test]
                fn eval_on_the_device_matches_the_cpu() {
                    if device().is_some() {
                        super::eval_on_device_matches_the_cpu($flag);
                    }
                }
            )?
        }
    };
}

parity_tests!(
    cpu,
    famsim::model::backend::CpuBackend,
    Some(Default::default())
);
// The burn-generic layers (what CUDA and wgpu run) on burn-ndarray.
parity_tests!(
    burn_reference,
    famsim::model::backend::ReferenceCpuBackend,
    Some(Default::default())
);
// On a GPU machine: tools/cuda_check.sh (not run yet: no GPU where this was
// written; the same 1e-3 bound applies).
#[cfg(feature = "cuda")]
parity_tests!(
    cuda,
    famsim::model::backend::CudaBackend,
    super::common::cuda_device(),
    "cuda:0"
);
// cargo test --features wgpu --test descriptor_parity wgpu (CI: on lavapipe).
#[cfg(feature = "wgpu")]
parity_tests!(
    wgpu,
    famsim::model::backend::WgpuBackend,
    super::common::wgpu_device(),
    "wgpu:0"
);

/// The whole pipeline with famsim's own detector: SeetaFace's box differs
/// from dlib's HOG box, the 5-point cascade converges to nearby points, and
/// the descriptor stays well inside dlib's same-person threshold of 0.6.
#[test]
fn describe_finds_the_face_and_lands_near_dlib() {
    let Some(files) = files() else {
        return;
    };
    let describer = FaceDescriber::load(&files).unwrap();
    let photos: Vec<Photo> = photos()
        .into_iter()
        .filter(|p| p.image.width >= 100)
        .collect();
    let images: Vec<_> = photos.iter().map(|p| p.image.clone()).collect();
    let found = describer.describe_batch(&images).unwrap();
    for (p, d) in photos.iter().zip(&found) {
        let d = d.unwrap_or_else(|| panic!("{}: no face found", p.name));
        let dist = euclidean(d.as_slice(), &p.descriptor);
        eprintln!("{}: SeetaFace box → distance {dist:.3} from dlib's", p.name);
        // Measured at most 0.056 on these photos.
        assert!(dist < 0.1, "{}: {dist}", p.name);
    }
    // Different people are further apart than the same person twice.
    let (obama, obama2, biden) = (found[0].unwrap(), found[1].unwrap(), found[2].unwrap());
    assert!(
        obama.euclidean(&obama2) < 0.6,
        "{}",
        obama.euclidean(&obama2)
    );
    assert!(obama.euclidean(&biden) > 0.6, "{}", obama.euclidean(&biden));
    assert!(obama.cosine(&obama2) > obama.cosine(&biden));
    // A photo without a face gives None, not an error.
    let blank = famsim::image::Image {
        width: 200,
        height: 200,
        rgb: vec![128; 200 * 200 * 3],
    };
    assert!(describer.describe(&blank).unwrap().is_none());
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

#[test]
fn imported_descriptor_models_serve_the_describer() {
    let Some(files) = files() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("weights");
    let o = common::import_tiny_networks(
        &weights,
        &[
            os("--descriptor"),
            files.descriptor.as_os_str(),
            os("--landmarks5"),
            files.landmarks5.as_os_str(),
            os("--detector"),
            files.detector.as_os_str(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info = common::famsim_ok(&["weights", "info", weights.to_str().unwrap()]);
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains(
            "face descriptor: dlib ResNet, 128-D, dlib_face_recognition_resnet_model_v1.dat"
        ),
        "{info}"
    );
    assert!(
        info.contains("descriptor landmarks: dlib 5 points, shape_predictor_5_face_landmarks.dat"),
        "{info}"
    );
    // The copies are byte for byte the sources, and describe the same.
    let imported = DescriberFiles::in_weights_dir(&weights).unwrap();
    assert_eq!(
        std::fs::read(&imported.descriptor).unwrap(),
        std::fs::read(&files.descriptor).unwrap()
    );
    let p = &photos()[0];
    let a = FaceDescriber::load(&imported)
        .unwrap()
        .describe_face(&p.image, p.face)
        .unwrap();
    let b = FaceDescriber::load(&files)
        .unwrap()
        .describe_face(&p.image, p.face)
        .unwrap();
    assert_eq!(a, b);

    // A re-import without them removes them, and the describer says which flag.
    let o = common::import_tiny_networks(&weights, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!weights
        .join("dlib_face_recognition_resnet_model_v1.dat")
        .exists());
    let err = DescriberFiles::in_weights_dir(&weights).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("--descriptor FILE"), "{err}");
    let info = common::famsim_ok(&["weights", "info", weights.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&info.stdout)
        .contains("face descriptor: none (face descriptors need `weights import --descriptor`)"));
}

#[test]
fn a_wrong_descriptor_model_is_not_imported() {
    let Some(files) = files() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("weights");
    // Each file given for the other's flag, and a truncated network.
    let cut = dir.path().join("cut_descriptor.dat");
    let bytes = std::fs::read(&files.descriptor).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    for (flag, file, says) in [
        (
            "--descriptor",
            &files.landmarks5,
            "shape_predictor_5_face_landmarks.dat",
        ),
        (
            "--landmarks5",
            &files.descriptor,
            "dlib_face_recognition_resnet_model_v1.dat",
        ),
        ("--descriptor", &cut, "truncated"),
    ] {
        let o = common::import_tiny_networks(&out, &[os(flag), file.as_os_str()]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(says), "{flag}: {stderr}");
        assert!(!out.exists(), "{flag}: something was written");
    }
}

#[test]
fn the_describer_is_shareable_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<FaceDescriber>();
}

/// A Families-in-the-Wild folder of the fixtures' real photos (two
/// families, one face each), in `dir/fiw`.
fn fiw_folder(dir: &Path) -> PathBuf {
    let fiw = dir.join("fiw");
    let families = [
        ("F0001", ["descriptor/obama.png", "descriptor/obama2.png"]),
        (
            "F0002",
            ["descriptor/biden.png", "photo/astronaut_crop.png"],
        ),
    ];
    for (fid, photos) in families {
        for (i, photo) in photos.iter().enumerate() {
            let member = dir.join("fiw").join(fid).join(format!("MID{}", i + 1));
            std::fs::create_dir_all(&member).unwrap();
            std::fs::copy(fixtures().join(photo), member.join("P00001_face0.png")).unwrap();
        }
        std::fs::write(
            fiw.join(fid).join("mid.csv"),
            "MID,1,2,Name,Gender\n1,0,4,a,m\n2,1,0,b,f\n",
        )
        .unwrap();
    }
    fiw
}

/// `famsim eval` over `fiw` with the face network; `extra` flags after.
fn eval_cli(
    fiw: &Path,
    out: &Path,
    files: &DescriberFiles,
    extra: &[&str],
) -> std::process::Output {
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let mut args = vec![
        "eval".to_owned(),
        s(fiw),
        "--out".into(),
        s(out),
        "--descriptor".into(),
        s(&files.descriptor),
        "--landmarks5".into(),
        s(&files.landmarks5),
        "--detector".into(),
        s(&files.detector),
        "--quiet".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    common::famsim(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .output()
        .unwrap()
}

/// `famsim eval --device FLAG` describes the faces on that device: every
/// figure within the descriptor bound of the CPU run's, the report naming
/// the device, and its own cache (the CPU's descriptors are not reused).
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn eval_on_device_matches_the_cpu(flag: &str) {
    let Some(files) = files() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let fiw = fiw_folder(tmp.path());
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().unwrap();
    let run = |out: &str, extra: &[&str]| {
        let out = tmp.path().join(out);
        let o = eval_cli(&fiw, &out, &files, &[&["--cache", cache], extra].concat());
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "eval {extra:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        (stdout, metrics)
    };
    let (_, cpu) = run("cpu", &[]);
    let (said, gpu) = run("gpu", &["--device", flag]);
    assert!(
        said.contains("images: 4 described, 0 from the cache"),
        "{said}"
    );
    let network = gpu["folders"][0]["faces"]["network"].as_str().unwrap();
    assert!(network.ends_with(&format!(", on {flag}")), "{network}");
    assert_eq!(cpu["folders"][0]["faces"]["people_with_face"], 4);
    let mut worst = 0.0f64;
    close(&cpu, &gpu, &format!(", on {flag}"), "", &mut worst);
    eprintln!("eval on {flag}: largest figure difference from the CPU run {worst:e}");
}

/// `a` and `b` have the same shape, numbers within the descriptor bound
/// (the largest difference goes to `worst`) and the same strings, but for
/// `on_device` (", on wgpu:0") after the face network's name in `b`.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn close(a: &serde_json::Value, b: &serde_json::Value, on_device: &str, at: &str, worst: &mut f64) {
    use serde_json::Value;
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            let named = "dlib 5-point chip";
            assert_eq!(x, &y.replace(&format!("{named}{on_device}"), named), "{at}");
        }
        (Value::Number(x), Value::Number(y)) => {
            let d = (x.as_f64().unwrap() - y.as_f64().unwrap()).abs();
            *worst = worst.max(d);
            assert!(d <= f64::from(DESCRIPTOR_TOLERANCE), "{at}: {x} vs {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                close(x, y, on_device, &format!("{at}[{i}]"), worst);
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, x) in x {
                close(x, &y[k], on_device, &format!("{at}.{k}"), worst);
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

/// A device that cannot run (no such adapter, or a build without the
/// feature) stops `famsim eval` with one line and exit code 2, before any
/// image is read.
#[test]
fn eval_on_an_unusable_device_is_a_one_line_error() {
    let Some(files) = files() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let fiw = fiw_folder(tmp.path());
    let out = tmp.path().join("report");
    let o = eval_cli(&fiw, &out, &files, &["--device", "wgpu:4096"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: device Wgpu(4096)"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!out.exists(), "a report was written");
}
