//! Where the neural model runs: burn-ndarray on the CPU (always built) or
//! burn-cuda on a GPU (cargo feature `cuda`). This is the device list: a new
//! backend (see `crate::model::backend`) is named here, in [`parse_device`],
//! [`run_on`] and [`device_name`], beside the `DeviceSpec` variant.
//!
//! burn-cuda panics deep inside the backend when there is no driver or no such
//! GPU, so a `Cuda(i)` request is checked against the driver first and turned
//! into a one-line input error (exit code 2) instead.

use crate::error::{Error, Result};
use crate::model::backend::ModelBackend;
use crate::model_spec::DeviceSpec;

pub use crate::model::backend::CpuBackend;
#[cfg(feature = "cuda")]
pub use crate::model::backend::CudaBackend;

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
    }
}

#[cfg(feature = "cuda")]
fn run_on_cuda<T: OnDevice>(index: usize, job: T) -> Result<T::Output> {
    job.run::<CudaBackend>(burn_cuda::CudaDevice::new(index))
}

#[cfg(not(feature = "cuda"))]
fn run_on_cuda<T: OnDevice>(index: usize, _job: T) -> Result<T::Output> {
    // check_cuda already refused; kept so both builds share one code path.
    check_cuda(index).map(|_| unreachable!("a build without `cuda` never accepts a GPU"))
}

/// Parses a `--device` flag: `cpu`, `cuda` (GPU 0) or `cuda:N`.
pub fn parse_device(text: &str) -> std::result::Result<DeviceSpec, String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "cpu" {
        return Ok(DeviceSpec::Cpu);
    }
    if t == "cuda" {
        return Ok(DeviceSpec::Cuda(0));
    }
    t.strip_prefix("cuda:")
        .and_then(|i| i.parse().ok())
        .map(DeviceSpec::Cuda)
        .ok_or_else(|| format!("unknown device `{text}`; use cpu, cuda or cuda:N"))
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

/// "cpu" / "cuda:0" for descriptions and manifests.
pub fn device_name(spec: DeviceSpec) -> String {
    match spec {
        DeviceSpec::Cpu => "cpu".into(),
        DeviceSpec::Cuda(i) => format!("cuda:{i}"),
    }
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
