//! NumPy `.npy` arrays of f32: W+ latents, genomes and decoded latents for the
//! research commands, so that famsim's inputs and outputs go straight into
//! and out of Python (`np.load` / `np.save`).
//!
//! Reading accepts float32 and float64 (stored as f32), C order only (NumPy's
//! default; a Fortran-order array would be silently transposed otherwise).
//! Writing is always little-endian float32, C order, written under a
//! temporary name and renamed so an interrupted write leaves no half file.

use crate::error::{Error, Result};
use crate::latent::Latent;
use npyz::WriterBuilder;
use std::path::Path;

/// A dense f32 array with its shape.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl NpyArray {
    /// "[1, 18, 512]" for messages.
    pub fn shape_text(&self) -> String {
        shape_text(&self.shape)
    }
}

/// "[1, 18, 512]".
pub fn shape_text(shape: &[usize]) -> String {
    format!(
        "[{}]",
        shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Reads a float32 or float64 `.npy` file.
pub fn read(path: &Path) -> Result<NpyArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |what: String| Error::input(format!("{}: {what}", path.display()));
    let file = npyz::NpyFile::new(&bytes[..])
        .map_err(|e| bad(format!("not a readable .npy file ({e})")))?;
    if file.order() == npyz::Order::Fortran {
        return Err(bad(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray".into(),
        ));
    }
    let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
    let dtype = file.dtype().descr();
    let data: Vec<f32> = match dtype
        .trim_matches('\'')
        .trim_start_matches(['<', '>', '=', '|'])
    {
        "f4" => file.into_vec::<f32>(),
        "f8" => file
            .into_vec::<f64>()
            .map(|v| v.into_iter().map(|x| x as f32).collect()),
        _ => {
            return Err(bad(format!(
                "holds {dtype} values; famsim needs float32 (or float64)"
            )))
        }
    }
    .map_err(|e| bad(format!("truncated or corrupt data ({e})")))?;
    if data.len() != shape.iter().product::<usize>() {
        return Err(bad(format!(
            "shape {} needs {} values but the file holds {}",
            shape_text(&shape),
            shape.iter().product::<usize>(),
            data.len()
        )));
    }
    if let Some(i) = data.iter().position(|x| !x.is_finite()) {
        return Err(bad(format!("value {i} is not finite ({})", data[i])));
    }
    Ok(NpyArray { shape, data })
}

/// Writes `data` as a little-endian float32 array of `shape`.
pub fn write(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    if shape.iter().product::<usize>() != data.len() {
        return Err(Error::internal(format!(
            "writing {}: shape {} does not hold {} values",
            path.display(),
            shape_text(shape),
            data.len()
        )));
    }
    let mut bytes = Vec::with_capacity(data.len() * 4 + 128);
    {
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let mut w = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut bytes)
            .begin_nd()
            .map_err(|e| Error::internal(format!("npy header: {e}")))?;
        w.extend(data.iter().copied())
            .map_err(|e| Error::internal(format!("npy data: {e}")))?;
        w.finish()
            .map_err(|e| Error::internal(format!("npy data: {e}")))?;
    }
    crate::io::atomic::write_atomic(path, &bytes)
}

/// Reads W+ latents of `width` numbers per layer: `[N, W]` is one latent,
/// `[B, N, W]` is B of them (the official demo saves `[1, N, W]`).
/// `layers`, when given, is the N the model needs.
pub fn read_latents(path: &Path, layers: Option<usize>, width: usize) -> Result<Vec<Latent>> {
    let array = read(path)?;
    let (count, n) = match array.shape[..] {
        [n, w] if w == width => (1, n),
        [b, n, w] if w == width => (b, n),
        _ => {
            return Err(Error::input(format!(
                "{}: a W+ latent must be [N, {width}] or [B, N, {width}], got {}",
                path.display(),
                array.shape_text()
            )))
        }
    };
    if let Some(want) = layers {
        if n != want {
            return Err(Error::input(format!(
                "{}: the model needs {want} W+ layers ([{want}, {width}] or [1, {want}, {width}]), got {}",
                path.display(),
                array.shape_text()
            )));
        }
    }
    if count == 0 || n == 0 {
        return Err(Error::input(format!(
            "{}: empty latent array {}",
            path.display(),
            array.shape_text()
        )));
    }
    Ok(Latent::split_batch(&array.data, n, width))
}

/// Reads exactly one latent (`[N, W]` or `[1, N, W]`).
pub fn read_latent(path: &Path, layers: Option<usize>, width: usize) -> Result<Latent> {
    let mut all = read_latents(path, layers, width)?;
    if all.len() != 1 {
        return Err(Error::input(format!(
            "{}: holds {} latents; give one ([N, {width}] or [1, N, {width}])",
            path.display(),
            all.len()
        )));
    }
    Ok(all.remove(0))
}

/// Writes one latent as `[1, N, W]`, the layout the official demo uses.
pub fn write_latent(path: &Path, latent: &Latent) -> Result<()> {
    write(path, &[1, latent.layers, latent.width], &latent.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_both_latent_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.npy");
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect();
        write(&p, &[1, 3, 4], &data).unwrap();
        let back = read(&p).unwrap();
        assert_eq!(back.shape, vec![1, 3, 4]);
        assert_eq!(back.data, data);
        let l = read_latent(&p, Some(3), 4).unwrap();
        assert_eq!((l.layers, l.width), (3, 4));
        assert_eq!(l.data, data);

        write(&p, &[3, 4], &data).unwrap();
        assert_eq!(read_latent(&p, None, 4).unwrap().data, data);
        write(&p, &[2, 3, 2], &data).unwrap();
        let err = read_latent(&p, None, 4).unwrap_err().to_string();
        assert!(
            err.contains("[N, 4] or [B, N, 4]") && err.contains("[2, 3, 2]"),
            "{err}"
        );
        write(&p, &[4, 3], &data).unwrap();
        let err = read_latent(&p, Some(3), 3).unwrap_err().to_string();
        assert!(err.contains("needs 3 W+ layers"), "{err}");
    }

    #[test]
    fn bad_files_are_input_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("junk.npy");
        std::fs::write(&p, b"not numpy at all").unwrap();
        let err = read(&p).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("junk.npy"), "{err}");

        write(&p, &[2, 8], &[1.0; 16]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 5]).unwrap();
        let err = read(&p).unwrap_err().to_string();
        assert!(err.contains("junk.npy"), "{err}");
    }
}
