//! Safetensors files of f32 tensors: famsim's native weight and gene-pool
//! format (`famsim weights import` writes them, the neural model loads them).
//!
//! The format is an 8-byte little-endian header length, a JSON header
//! `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`
//! and the raw little-endian data. It is read by the `safetensors` Python and
//! Rust packages, so imported weights stay inspectable.
//!
//! Why our own reader and writer instead of the `safetensors` crate: the crate
//! serialises from borrowed byte slices and deserialises from one buffer of
//! the whole file, so a multi-gigabyte gene pool would be held twice (as f32
//! and as bytes). Here each tensor streams to and from the file in small
//! chunks. The test suite checks the output against the `safetensors` crate.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Largest JSON header accepted (the format's own reference limit).
const MAX_HEADER: u64 = 100 << 20;

/// A tensor's place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorEntry {
    pub shape: Vec<usize>,
    /// Byte range relative to the start of the data section.
    pub begin: u64,
    pub end: u64,
}

/// An opened safetensors file: its header is parsed, tensor data is read on request.
pub struct TensorFile {
    path: PathBuf,
    file: BufReader<File>,
    data_start: u64,
    tensors: BTreeMap<String, TensorEntry>,
    metadata: BTreeMap<String, String>,
}

impl TensorFile {
    /// Opens and checks a file: every tensor must be F32 and lie inside the file.
    pub fn open(path: &Path) -> Result<TensorFile> {
        let bad = |msg: String| Error::input(format!("{}: {msg}", path.display()));
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut file = BufReader::new(file);
        let mut n = [0u8; 8];
        file.read_exact(&mut n)
            .map_err(|_| bad("too short to be a safetensors file (truncated?)".into()))?;
        let header_len = u64::from_le_bytes(n);
        if header_len > MAX_HEADER || 8 + header_len > len {
            return Err(bad(format!(
                "corrupt or truncated safetensors file (header of {header_len} bytes in a file of {len})"
            )));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header)
            .map_err(|e| bad(format!("cannot read the header: {e}")))?;
        let header: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&header)
            .map_err(|e| bad(format!("corrupt safetensors header: {e}")))?;
        let data_start = 8 + header_len;
        let data_len = len - data_start;
        let mut tensors = BTreeMap::new();
        let mut metadata = BTreeMap::new();
        for (name, info) in header {
            if name == "__metadata__" {
                if let Some(map) = info.as_object() {
                    for (k, v) in map {
                        metadata.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
                    }
                }
                continue;
            }
            let entry = parse_entry(&info).map_err(|why| bad(format!("tensor `{name}`: {why}")))?;
            if entry.end > data_len {
                return Err(bad(format!(
                    "tensor `{name}` ends at byte {} of a data section of {data_len} (truncated file?)",
                    entry.end
                )));
            }
            tensors.insert(name, entry);
        }
        Ok(TensorFile {
            path: path.to_path_buf(),
            file,
            data_start,
            tensors,
            metadata,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn tensors(&self) -> &BTreeMap<String, TensorEntry> {
        &self.tensors
    }

    /// File position of the data section (tensor ranges are relative to it).
    pub fn data_start(&self) -> u64 {
        self.data_start
    }

    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.shape.as_slice())
    }

    /// Reads one tensor's values, row-major.
    pub fn read(&mut self, name: &str) -> Result<Vec<f32>> {
        let (pos, count) = self.place(name)?;
        read_f32_at(self.file.get_ref(), pos, count).map_err(|e| self.read_error(name, e))
    }

    /// Several tensors, read at once on the thread pool (loading a network
    /// is otherwise one long chain of reads on one core). On failure, the
    /// first failing tensor in `names` order is reported.
    pub fn read_many(&self, names: &[String]) -> Result<Vec<Vec<f32>>> {
        use rayon::prelude::*;
        let places = names
            .iter()
            .map(|name| self.place(name))
            .collect::<Result<Vec<_>>>()?;
        let file = self.file.get_ref();
        let read: Vec<std::io::Result<Vec<f32>>> = places
            .into_par_iter()
            .map(|(pos, count)| read_f32_at(file, pos, count))
            .collect();
        read.into_iter()
            .zip(names)
            .map(|(values, name)| values.map_err(|e| self.read_error(name, e)))
            .collect()
    }

    /// File position and value count of tensor `name`.
    fn place(&self, name: &str) -> Result<(u64, usize)> {
        let entry = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::input(format!("{}: no tensor `{name}`", self.path.display())))?;
        let count = ((entry.end - entry.begin) / 4) as usize;
        Ok((self.data_start + entry.begin, count))
    }

    fn read_error(&self, name: &str, e: std::io::Error) -> Error {
        Error::input(format!(
            "{}: tensor `{name}`: {e} (truncated file?)",
            self.path.display()
        ))
    }
}

/// `count` little-endian f32 values at byte `pos` of `file`, read straight
/// into the result. Positioned reads, so threads can share the file.
pub fn read_f32_at(file: &File, pos: u64, count: usize) -> std::io::Result<Vec<f32>> {
    let mut values = vec![0.0f32; count];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut values);
    #[cfg(unix)]
    std::os::unix::fs::FileExt::read_exact_at(file, bytes, pos)?;
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < bytes.len() {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut bytes[done..],
                pos + done as u64,
            )?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
    }
    #[cfg(not(any(unix, windows)))]
    return Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!(
            "positioned reads ({} bytes at {pos}) need Unix or Windows",
            bytes.len()
        ),
    ));
    from_le_in_place(&mut values);
    Ok(values)
}

/// Little-endian f32 values read as raw bytes → native values (weight files
/// are little-endian; a no-op on little-endian machines).
pub fn from_le_in_place(values: &mut [f32]) {
    values
        .iter_mut()
        .for_each(|v| *v = f32::from_bits(u32::from_le(v.to_bits())));
}

fn parse_entry(info: &serde_json::Value) -> std::result::Result<TensorEntry, String> {
    let dtype = info["dtype"].as_str().unwrap_or("?");
    if dtype != "F32" {
        return Err(format!("dtype {dtype}, famsim stores F32"));
    }
    let shape: Vec<usize> = info["shape"]
        .as_array()
        .ok_or("no shape")?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize).ok_or("bad shape"))
        .collect::<std::result::Result<_, _>>()?;
    let offsets = info["data_offsets"].as_array().ok_or("no data_offsets")?;
    let (begin, end) = match offsets.as_slice() {
        [b, e] => (
            b.as_u64().ok_or("bad data_offsets")?,
            e.as_u64().ok_or("bad data_offsets")?,
        ),
        _ => return Err("bad data_offsets".into()),
    };
    let numel = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or("shape overflows")?;
    if end < begin || end - begin != numel * 4 {
        return Err(format!(
            "byte range {begin}..{end} does not hold a {shape:?} F32 tensor"
        ));
    }
    Ok(TensorEntry { shape, begin, end })
}

/// A tensor to write: name, shape and a producer of its values. Values are
/// produced when the writer reaches the tensor, so only one is in memory
/// beyond what the caller already holds.
pub struct TensorToWrite<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Box<dyn FnOnce() -> Result<std::borrow::Cow<'a, [f32]>> + 'a>,
}

impl<'a> TensorToWrite<'a> {
    /// A tensor whose values the caller already holds.
    pub fn borrowed(name: impl Into<String>, shape: Vec<usize>, values: &'a [f32]) -> Self {
        TensorToWrite {
            name: name.into(),
            shape,
            values: Box::new(move || Ok(std::borrow::Cow::Borrowed(values))),
        }
    }
}

/// Writes tensors (in the given order) and string metadata to `path`,
/// through a temporary file renamed at the end.
pub fn write(
    path: &Path,
    tensors: Vec<TensorToWrite<'_>>,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert(
            "__metadata__".into(),
            serde_json::to_value(metadata).unwrap(),
        );
    }
    let mut offset = 0u64;
    for t in &tensors {
        let bytes = t.shape.iter().product::<usize>() as u64 * 4;
        if header.contains_key(&t.name) {
            return Err(Error::internal(format!(
                "tensor `{}` written twice",
                t.name
            )));
        }
        header.insert(
            t.name.clone(),
            serde_json::json!({"dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    let mut header = serde_json::to_vec(&header).map_err(|e| Error::internal(e.to_string()))?;
    // The format pads the header with spaces to 8 bytes so data is aligned.
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    {
        let mut w = BufWriter::new(tmp.as_file());
        let io = |e| Error::io(path, e);
        w.write_all(&(header.len() as u64).to_le_bytes())
            .map_err(io)?;
        w.write_all(&header).map_err(io)?;
        for t in tensors {
            let want = t.shape.iter().product::<usize>();
            let name = t.name;
            let values = (t.values)()?;
            if values.len() != want {
                return Err(Error::internal(format!(
                    "tensor `{name}` of shape {:?} got {} values",
                    t.shape,
                    values.len()
                )));
            }
            for chunk in values.chunks(1 << 14) {
                let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
                w.write_all(&bytes).map_err(io)?;
            }
        }
        w.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_readable_by_the_safetensors_crate() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.safetensors");
        let a: Vec<f32> = (0..6).map(|i| i as f32 - 2.5).collect();
        let b = vec![7.0f32];
        let mut meta = BTreeMap::new();
        meta.insert("what".to_string(), "test".to_string());
        write(
            &p,
            vec![
                TensorToWrite::borrowed("a.weight", vec![2, 3], &a),
                TensorToWrite::borrowed("b", vec![1], &b),
            ],
            &meta,
        )
        .unwrap();

        let mut f = TensorFile::open(&p).unwrap();
        assert_eq!(f.shape("a.weight"), Some(&[2usize, 3][..]));
        assert_eq!(f.read("a.weight").unwrap(), a);
        assert_eq!(f.read("b").unwrap(), b);
        assert_eq!(f.metadata()["what"], "test");

        let bytes = std::fs::read(&p).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let view = st.tensor("a.weight").unwrap();
        assert_eq!(view.shape(), &[2, 3]);
        assert_eq!(view.dtype(), safetensors::Dtype::F32);
        assert_eq!(&view.data()[..4], &a[0].to_le_bytes());
    }

    #[test]
    fn truncated_and_corrupt_files_are_input_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.safetensors");
        let a = vec![1.0f32; 64];
        write(
            &p,
            vec![TensorToWrite::borrowed("a", vec![8, 8], &a)],
            &BTreeMap::new(),
        )
        .unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 4]).unwrap();
        let err = TensorFile::open(&p).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("tensor `a` ends at byte 256"),
            "{err}"
        );
        std::fs::write(&p, b"garbage!garbage!").unwrap();
        let err = TensorFile::open(&p).err().unwrap().to_string();
        assert!(err.contains("corrupt or truncated safetensors"), "{err}");
    }
}
