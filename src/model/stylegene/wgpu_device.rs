//! wgpu adapters (cargo feature `wgpu`): the list that `famsim devices`
//! prints and `Wgpu(N)` indexes, and starting one without letting
//! burn-wgpu panic at the user.
//!
//! burn-wgpu names a device by its kind: `DiscreteGpu(k)` is the k-th
//! discrete GPU in the graphics API's adapter list, `Cpu` the first CPU
//! adapter (Mesa's lavapipe is one). famsim numbers the adapters in the order
//! of that same list, on the same graphics API (Vulkan on Linux and Windows,
//! Metal on macOS), so `Wgpu(N)` is line N of `famsim devices` and maps to
//! the burn device that selects the very same adapter.
//!
//! burn-wgpu panics when an adapter cannot be created, on its own device
//! thread. [`start`] therefore checks the list first and then runs one tiny
//! operation with those panics caught and silenced, so that a missing driver
//! or a broken adapter is a one-line input error (exit code 2).

use crate::error::{Error, Result};
use crate::model::backend::WgpuBackend;
use burn::tensor::Tensor;
use burn_wgpu::graphics::{AutoGraphicsApi, GraphicsApi};
use burn_wgpu::WgpuDevice;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

/// One adapter of the graphics API burn-wgpu uses on this platform.
#[derive(Clone, Debug)]
pub struct Adapter {
    /// The driver's name for it ("AMD Radeon RX 7900", "llvmpipe (LLVM 19…)").
    pub name: String,
    /// The graphics API: "Vulkan", "Metal", "DX12".
    pub backend: String,
    /// wgpu's device type: DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu, Other.
    pub kind: String,
    /// Driver name and version, when the driver reports them.
    pub driver: String,
    /// The largest buffer one shader may bind, in bytes: every tensor of a
    /// forward pass must fit in it (see `StyleGeneModel`'s batch limit).
    pub max_binding: u64,
    /// The burn device that selects this adapter; None where burn-wgpu has
    /// no name for it (a second CPU adapter, an adapter of type Other).
    device: Option<WgpuDevice>,
}

/// The adapters, in the order burn-wgpu enumerates them, or why none can be
/// listed (the driver panicked while loading).
pub fn adapters() -> std::result::Result<Vec<Adapter>, String> {
    quietly(enumerate).map_err(|why| format!("the wgpu driver could not be loaded ({why})"))
}

fn enumerate() -> Vec<Adapter> {
    let backend = AutoGraphicsApi::backend();
    // The same instance and call as cubecl-wgpu's adapter selection.
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: backend.into(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let infos: Vec<_> = block_on(instance.enumerate_adapters(backend.into()))
        .into_iter()
        .map(|a| (a.get_info(), a.limits()))
        .collect();
    infos
        .iter()
        .enumerate()
        .map(|(i, (info, limits))| {
            // burn-wgpu picks the k-th adapter of a kind in this same order.
            let k = infos[..i]
                .iter()
                .filter(|(other, _)| other.device_type == info.device_type)
                .count();
            let device = match info.device_type {
                wgpu::DeviceType::DiscreteGpu => Some(WgpuDevice::DiscreteGpu(k)),
                wgpu::DeviceType::IntegratedGpu => Some(WgpuDevice::IntegratedGpu(k)),
                wgpu::DeviceType::VirtualGpu => Some(WgpuDevice::VirtualGpu(k)),
                wgpu::DeviceType::Cpu if k == 0 => Some(WgpuDevice::Cpu),
                _ => None,
            };
            let driver = [info.driver.as_str(), info.driver_info.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            Adapter {
                name: info.name.clone(),
                backend: api_name(info.backend).to_string(),
                kind: format!("{:?}", info.device_type),
                driver,
                max_binding: limits.max_storage_buffer_binding_size,
                device,
            }
        })
        .collect()
}

/// The graphics API as its makers spell it.
fn api_name(backend: wgpu::Backend) -> &'static str {
    match backend {
        wgpu::Backend::Vulkan => "Vulkan",
        wgpu::Backend::Metal => "Metal",
        wgpu::Backend::Dx12 => "DX12",
        wgpu::Backend::Gl => "OpenGL",
        wgpu::Backend::BrowserWebGpu => "WebGPU",
        other => other.to_str(),
    }
}

/// Adapter `index`, listed, selectable and started; the one-line input error
/// (exit code 2) that says why not otherwise.
pub fn start(index: usize) -> Result<(WgpuDevice, Adapter)> {
    let unusable = |why: String, instead: &str| {
        Error::input(format!(
            "device Wgpu({index}) is not usable: {why}; use device: {instead}"
        ))
    };
    let list = adapters().map_err(|why| unusable(why, "Cpu"))?;
    let api = api_name(AutoGraphicsApi::backend());
    let Some(adapter) = list.get(index) else {
        return Err(match list.len() {
            0 => unusable(
                format!(
                    "no {api} adapter found (install a {api} driver; on Debian and Ubuntu \
                     `mesa-vulkan-drivers` provides one that runs on the CPU)"
                ),
                "Cpu",
            ),
            1 => unusable(format!("this machine has one {api} adapter, Wgpu(0)"), "Cpu or Wgpu(0)"),
            n => unusable(
                format!(
                    "this machine has {n} {api} adapters, Wgpu(0) to Wgpu({}) (see `famsim devices`)",
                    n - 1
                ),
                "Cpu or Wgpu(0)",
            ),
        });
    };
    let unusable = |why: String| unusable(why, "Cpu");
    let Some(device) = adapter.device.clone() else {
        return Err(unusable(format!(
            "burn-wgpu cannot select adapter {index} ({}, type {}) by index",
            adapter.name, adapter.kind
        )));
    };
    static STARTED: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
    if !started.contains(&index) {
        // The first operation creates the wgpu device and burn's compute
        // server for it; a failure there panics on burn's device thread.
        let sum = quietly(|| {
            Tensor::<WgpuBackend, 1>::from_floats([1.0, 2.0], &device)
                .sum()
                .into_scalar()
        });
        match sum {
            Ok(3.0) => started.push(index),
            Ok(other) => {
                return Err(unusable(format!(
                    "adapter {} computed 1 + 2 = {other}",
                    adapter.name
                )))
            }
            Err(why) => {
                return Err(unusable(format!(
                    "adapter {} could not be started ({why})",
                    adapter.name
                )))
            }
        }
    }
    Ok((device, adapter.clone()))
}

/// Runs a future that wgpu completes at once on native platforms.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// Probes running now; while there are any, panics on the probing thread and
/// on burn's device threads are recorded instead of printed.
static PROBES: AtomicUsize = AtomicUsize::new(0);
/// The first silenced panic message of the current probe.
static SILENCED: Mutex<Option<String>> = Mutex::new(None);
thread_local! {
    static PROBING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, returning the first line of its panic (or of a panic on one of
/// burn's device threads meanwhile) instead of printing it. Other threads'
/// panics are printed as usual.
fn quietly<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // cubecl names its device threads "DSU-…" and "DSD-…".
            let ours = PROBES.load(Ordering::SeqCst) > 0
                && (PROBING.with(Cell::get)
                    || std::thread::current()
                        .name()
                        .is_some_and(|n| n.starts_with("DS")));
            if ours {
                let text = info.payload_as_str().unwrap_or("panic").to_string();
                let mut slot = SILENCED.lock().unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert(text);
            } else {
                previous(info);
            }
        }));
    });
    PROBES.fetch_add(1, Ordering::SeqCst);
    PROBING.with(|p| p.set(true));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    PROBING.with(|p| p.set(false));
    PROBES.fetch_sub(1, Ordering::SeqCst);
    let silenced = SILENCED.lock().unwrap_or_else(|e| e.into_inner()).take();
    out.map_err(|payload| {
        let text = silenced
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        one_line(&text)
    })
}

/// The first line of a message, at most 200 characters.
fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_quietly_is_a_one_line_message() {
        let err = quietly(|| -> u8 { panic!("no adapter\nsecond line") }).unwrap_err();
        assert_eq!(err, "no adapter");
        assert_eq!(quietly(|| 7).unwrap(), 7);
        let long = "x".repeat(500);
        assert_eq!(one_line(&long).chars().count(), 201);
    }
}
