//! Where the neural model runs: burn-ndarray on the CPU (always built),
//! burn-cuda on an NVIDIA GPU (cargo feature `cuda`) or burn-wgpu on a
//! Vulkan (Metal on macOS) adapter (cargo feature `wgpu`). This is the device
//! list: a new backend (see `crate::model::backend`) is named here, in
//! [`parse_device`], [`run_on`], [`device_name`] and [`devices`], beside the
//! `DeviceSpec` variant.
//!
//! burn-cuda and burn-wgpu panic deep inside the backend when there is no
//! driver or no such device, so a `Cuda(i)` or `Wgpu(i)` request is checked
//! first (against the CUDA driver; against wgpu's adapter list, then with one
//! tiny operation whose panics are caught) and turned into a one-line input
//! error (exit code 2) instead.

use crate::error::{Error, Result};
use crate::model::backend::ModelBackend;
use crate::model_spec::DeviceSpec;

pub use crate::model::backend::CpuBackend;
#[cfg(feature = "cuda")]
pub use crate::model::backend::CudaBackend;
#[cfg(feature = "wgpu")]
pub use crate::model::backend::WgpuBackend;
#[cfg(feature = "cuda")]
pub use burn_cuda::CudaDevice;
#[cfg(feature = "wgpu")]
pub use burn_wgpu::WgpuDevice;

/// Work that runs on whichever backend a device uses (loading a model).
pub trait OnDevice {
    type Output;

    fn run<B: ModelBackend>(self, device: B::Device) -> Result<Self::Output>;
}

/// Runs `job` on the backend of `spec`, after checking that this build and
/// this machine can use the device.
pub fn run_on<T: OnDevice>(spec: DeviceSpec, job: T) -> Result<T::Output> {
    match spec {
        DeviceSpec::Cpu => job.run::<CpuBackend>(Default::default()),
        DeviceSpec::Cuda(index) => {
            check_cuda(index)?;
            run_on_cuda(index, job)
        }
        DeviceSpec::Wgpu(index) => run_on_wgpu(index, job),
    }
}

#[cfg(feature = "wgpu")]
fn run_on_wgpu<T: OnDevice>(index: usize, job: T) -> Result<T::Output> {
    job.run::<WgpuBackend>(wgpu_device(index)?)
}

#[cfg(not(feature = "wgpu"))]
fn run_on_wgpu<T: OnDevice>(index: usize, _job: T) -> Result<T::Output> {
    Err(Error::input(format!(
        "device Wgpu({index}) cannot run: this famsim was built without the `wgpu` feature; \
         rebuild with `cargo build --release --features wgpu`, or use device: Cpu"
    )))
}

/// The burn device of wgpu adapter `index` (line `index` of
/// `famsim devices`), started; a one-line input error when this machine
/// has no such adapter or it cannot start.
#[cfg(feature = "wgpu")]
pub fn wgpu_device(index: usize) -> Result<WgpuDevice> {
    super::wgpu_device::start(index).map(|(device, _)| device)
}

/// The largest buffer one shader on `spec` may bind, in bytes, where the
/// device has such a limit (wgpu adapters); None for the CPU and CUDA.
pub fn max_binding(spec: DeviceSpec) -> Option<u64> {
    match spec {
        #[cfg(feature = "wgpu")]
        DeviceSpec::Wgpu(index) => super::wgpu_device::start(index)
            .ok()
            .map(|(_, adapter)| adapter.max_binding),
        _ => None,
    }
}

#[cfg(feature = "cuda")]
fn run_on_cuda<T: OnDevice>(index: usize, job: T) -> Result<T::Output> {
    job.run::<CudaBackend>(CudaDevice::new(index))
}

/// The burn device of CUDA GPU `index`, after checking that it exists; a
/// one-line input error otherwise.
#[cfg(feature = "cuda")]
pub fn cuda_device(index: usize) -> Result<CudaDevice> {
    check_cuda(index).map(|()| CudaDevice::new(index))
}

#[cfg(not(feature = "cuda"))]
fn run_on_cuda<T: OnDevice>(index: usize, _job: T) -> Result<T::Output> {
    // check_cuda already refused; kept so both builds share one code path.
    check_cuda(index).map(|_| unreachable!("a build without `cuda` never accepts a GPU"))
}

/// Parses a `--device` flag: `cpu`, `cuda` (GPU 0), `cuda:N`, `wgpu`
/// (adapter 0) or `wgpu:N`.
pub fn parse_device(text: &str) -> std::result::Result<DeviceSpec, String> {
    let t = text.trim().to_ascii_lowercase();
    let indexed = |name: &str| -> Option<usize> {
        let rest = t.strip_prefix(name)?;
        if rest.is_empty() {
            return Some(0);
        }
        rest.strip_prefix(':')?.parse().ok()
    };
    if t == "cpu" {
        Ok(DeviceSpec::Cpu)
    } else if let Some(i) = indexed("cuda") {
        Ok(DeviceSpec::Cuda(i))
    } else if let Some(i) = indexed("wgpu") {
        Ok(DeviceSpec::Wgpu(i))
    } else {
        Err(format!(
            "unknown device `{text}`; use cpu, cuda, cuda:N, wgpu or wgpu:N (`famsim devices` lists them)"
        ))
    }
}

/// Checks that GPU `index` can be used by this build on this machine.
#[cfg(not(feature = "cuda"))]
pub fn check_cuda(index: usize) -> Result<()> {
    Err(Error::input(format!(
        "device Cuda({index}) needs famsim built with the `cuda` feature \
         (cargo build --release --features cuda); this build runs on Cpu only"
    )))
}

/// Checks that GPU `index` can be used by this build on this machine.
#[cfg(feature = "cuda")]
pub fn check_cuda(index: usize) -> Result<()> {
    use cudarc::driver::result;
    // The driver calls below do not panic, but the library loading behind
    // them may on an exotic setup; a panic here must still become an error.
    let probe = std::panic::catch_unwind(|| -> std::result::Result<usize, String> {
        // SAFETY: only tries to dlopen libcuda; nothing is called from it yet.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err("no CUDA driver (libcuda) found".into());
        }
        result::init().map_err(|e| format!("the CUDA driver failed to start ({e:?})"))?;
        let count = result::device::get_count()
            .map_err(|e| format!("the CUDA driver cannot count GPUs ({e:?})"))?;
        Ok(count.max(0) as usize)
    });
    let count = match probe {
        Ok(Ok(count)) => count,
        Ok(Err(why)) => {
            return Err(Error::input(format!(
                "device Cuda({index}) is not usable: {why}; use device: Cpu"
            )))
        }
        Err(_) => {
            return Err(Error::input(format!(
                "device Cuda({index}) is not usable: the CUDA driver could not be loaded; use device: Cpu"
            )))
        }
    };
    if index >= count {
        return Err(Error::input(format!(
            "device Cuda({index}) is not usable: this machine has {count} CUDA GPU(s); use device: Cpu{}",
            if count > 0 { " or Cuda(0)" } else { "" }
        )));
    }
    Ok(())
}

/// "cpu" / "cuda:0" / "wgpu:0" for descriptions and manifests: the
/// `--device` spelling.
pub fn device_name(spec: DeviceSpec) -> String {
    match spec {
        DeviceSpec::Cpu => "cpu".into(),
        DeviceSpec::Cuda(i) => format!("cuda:{i}"),
        DeviceSpec::Wgpu(i) => format!("wgpu:{i}"),
    }
}

/// One device `famsim devices` lists.
#[derive(Clone, Debug)]
pub struct Listed {
    pub spec: DeviceSpec,
    /// What it is: name, graphics API, kind.
    pub description: String,
}

/// Every device this build can run on, on this machine, and a note for each
/// kind it cannot list (not built, no driver).
pub fn devices() -> (Vec<Listed>, Vec<String>) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut listed = vec![Listed {
        spec: DeviceSpec::Cpu,
        description: format!("the CPU, {threads} threads (famsim's gemm kernels)"),
    }];
    let mut notes = Vec::new();
    match cuda_devices() {
        Ok(names) => listed.extend(names.into_iter().enumerate().map(|(i, name)| Listed {
            spec: DeviceSpec::Cuda(i),
            description: format!("{name} (CUDA)"),
        })),
        Err(why) => notes.push(format!("cuda: {why}")),
    }
    match wgpu_devices() {
        Ok(list) if !list.is_empty() => listed.extend(list),
        Ok(_) => notes.push("wgpu: no adapter found".into()),
        Err(why) => notes.push(format!("wgpu: {why}")),
    }
    (listed, notes)
}

#[cfg(feature = "wgpu")]
fn wgpu_devices() -> std::result::Result<Vec<Listed>, String> {
    let list = super::wgpu_device::adapters()?;
    Ok(list
        .into_iter()
        .enumerate()
        .map(|(i, a)| Listed {
            spec: DeviceSpec::Wgpu(i),
            description: format!(
                "{}: {}, {} adapter{}, buffers up to {} MiB",
                a.name,
                a.backend,
                a.kind,
                if a.driver.is_empty() {
                    String::new()
                } else {
                    format!(", driver {}", a.driver)
                },
                a.max_binding >> 20
            ),
        })
        .collect())
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_devices() -> std::result::Result<Vec<Listed>, String> {
    Err("not in this build (rebuild with --features wgpu)".into())
}

#[cfg(not(feature = "cuda"))]
fn cuda_devices() -> std::result::Result<Vec<String>, String> {
    Err("not in this build (rebuild with --features cuda)".into())
}

/// The CUDA GPUs' names, in driver order.
#[cfg(feature = "cuda")]
fn cuda_devices() -> std::result::Result<Vec<String>, String> {
    use cudarc::driver::result;
    let probe = std::panic::catch_unwind(|| -> std::result::Result<Vec<String>, String> {
        // SAFETY: only tries to dlopen libcuda; nothing is called from it yet.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err("no CUDA driver (libcuda) found".into());
        }
        result::init().map_err(|e| format!("the CUDA driver failed to start ({e:?})"))?;
        let count = result::device::get_count()
            .map_err(|e| format!("the CUDA driver cannot count GPUs ({e:?})"))?;
        (0..count)
            .map(|i| {
                let dev = result::device::get(i).map_err(|e| format!("GPU {i}: {e:?}"))?;
                result::device::get_name(dev).map_err(|e| format!("GPU {i}: {e:?}"))
            })
            .collect()
    });
    probe.unwrap_or_else(|_| Err("the CUDA driver could not be loaded".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_flags() {
        assert_eq!(parse_device("cpu"), Ok(DeviceSpec::Cpu));
        assert_eq!(parse_device("CUDA"), Ok(DeviceSpec::Cuda(0)));
        assert_eq!(parse_device("cuda:3"), Ok(DeviceSpec::Cuda(3)));
        assert!(parse_device("gpu").is_err());
        assert!(parse_device("cuda:x").is_err());
        assert_eq!(parse_device("wgpu"), Ok(DeviceSpec::Wgpu(0)));
        assert_eq!(parse_device("WGPU:2"), Ok(DeviceSpec::Wgpu(2)));
        assert!(parse_device("wgpu2").is_err());
        assert!(parse_device("wgpu:").is_err());
        assert_eq!(device_name(DeviceSpec::Wgpu(2)), "wgpu:2");
    }

    /// Without the feature the request is refused with one line; with it, an
    /// adapter index far beyond any machine's is refused the same way.
    #[test]
    fn unusable_wgpu_is_a_one_line_input_error() {
        struct Nothing;
        impl OnDevice for Nothing {
            type Output = ();
            fn run<B: ModelBackend>(self, _: B::Device) -> Result<()> {
                panic!("must not run on an unusable device")
            }
        }
        let err = run_on(DeviceSpec::Wgpu(4096), Nothing).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        assert!(msg.starts_with("device Wgpu(4096)"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        if cfg!(not(feature = "wgpu")) {
            assert!(msg.contains("--features wgpu"), "{msg}");
        }
    }

    #[test]
    fn the_cpu_is_always_listed_first() {
        let (listed, notes) = devices();
        assert_eq!(listed[0].spec, DeviceSpec::Cpu);
        if cfg!(not(feature = "wgpu")) {
            assert!(notes
                .iter()
                .any(|n| n.starts_with("wgpu: not in this build")));
        }
        if cfg!(not(feature = "cuda")) {
            assert!(notes
                .iter()
                .any(|n| n.starts_with("cuda: not in this build")));
        }
    }

    /// Without the feature the request is refused with one line; with it, a
    /// GPU index far beyond any machine's is refused the same way.
    #[test]
    fn unusable_cuda_is_a_one_line_input_error() {
        let err = check_cuda(4096).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        assert!(msg.starts_with("device Cuda(4096)"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
