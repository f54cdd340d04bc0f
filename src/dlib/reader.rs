//! A reader for dlib's own serialization format (`dlib/serialize.h`), the
//! format of every `.dat` model dlib publishes: the 68-point shape predictor,
//! the CNN face detector and the face-descriptor network.
//!
//! The stream is a sequence of typed values with no tags, so the caller says
//! what it expects next and names it; every error then tells the file, the
//! byte offset and the value that was being read. The primitives:
//! - integers: one control byte (low nibble = number of little-endian
//!   magnitude bytes that follow, bit 7 = negative), then the bytes;
//! - floats: an integer mantissa and an integer exponent
//!   (value = mantissa · 2^exponent; exponents 32000–32003 mean ±∞ and NaN);
//! - strings and `std::vector`s: a length, then the items;
//! - matrices: `-rows`, `-cols` (negated in the current format), then the
//!   items row by row.
//!
//! dlib's `dnn` networks (the CNN detector, the face descriptor) are written
//! with these same primitives plus layer-name strings and raw little-endian
//! float tensors ([`DlibReader::raw_f32`]), so their loaders can be built on
//! this reader.

use crate::error::{Error, Result};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The bzip2 stream signature: dlib's published models are `.dat.bz2`.
const BZIP2_MAGIC: &[u8] = b"BZh";

/// dlib writes these exponents for the float values that have no mantissa.
const EXP_INF: i64 = 32000;
const EXP_NINF: i64 = 32001;
const EXP_SNAN: i64 = 32002;
const EXP_QNAN: i64 = 32003;

/// Reads dlib-serialized values from a file (plain or bzip2-compressed) or any
/// byte stream, keeping the offset for error messages.
pub struct DlibReader<R: Read> {
    inner: R,
    source: PathBuf,
    compressed: bool,
    offset: u64,
}

impl DlibReader<Box<dyn Read>> {
    /// Opens a `.dat` file, or a bzip2-compressed one (told by its first
    /// bytes, not its name), and streams it without unpacking it to disk.
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut magic = [0u8; 3];
        let mut got = 0;
        while got < magic.len() {
            match file.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        if got == 0 {
            return Err(Error::input(format!(
                "{}: empty file, not a dlib model",
                path.display()
            )));
        }
        let head = std::io::Cursor::new(magic[..got].to_vec());
        let stream = head.chain(file);
        let compressed = magic[..got] == *BZIP2_MAGIC;
        let inner: Box<dyn Read> = if compressed {
            Box::new(BufReader::with_capacity(
                1 << 16,
                bzip2::read::BzDecoder::new(stream),
            ))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, stream))
        };
        Ok(DlibReader {
            inner,
            source: path.to_path_buf(),
            compressed,
            offset: 0,
        })
    }
}

impl<R: Read> DlibReader<R> {
    /// Reads from an already open stream; `source` names it in errors.
    pub fn new(inner: R, source: impl Into<PathBuf>) -> Self {
        DlibReader {
            inner,
            source: source.into(),
            compressed: false,
            offset: 0,
        }
    }

    /// Bytes consumed so far (of the decompressed stream for `.bz2`).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// An input error naming the file, the offset and what was being read.
    pub fn error(&self, what: &str, problem: impl std::fmt::Display) -> Error {
        let place = if self.compressed {
            "byte of the decompressed stream"
        } else {
            "byte"
        };
        Error::input(format!(
            "{}: {place} {}: reading {what}: {problem}",
            self.source.display(),
            self.offset
        ))
    }

    fn bytes(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => {
                    self.offset += got as u64;
                    return Err(self.error(what, "file ends early (truncated?)"));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.offset += got as u64;
                    // A corrupt bzip2 block surfaces here as an I/O error.
                    return Err(self.error(what, e));
                }
            }
        }
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// One integer in dlib's compact form: sign and magnitude, at most
    /// `max_bytes` magnitude bytes (the size of the C++ type it was written from).
    fn int_parts(&mut self, what: &str, max_bytes: u8) -> Result<(bool, u64)> {
        let mut control = [0u8; 1];
        self.bytes(&mut control, what)?;
        let size = control[0] & 0x0F;
        let negative = control[0] & 0x80 != 0;
        // dlib writes zero as one zero byte, so a size of 0 never occurs.
        if control[0] & 0x70 != 0 || size == 0 || size > max_bytes {
            self.offset -= 1;
            return Err(self.error(
                what,
                format!(
                    "byte 0x{:02x} is not an integer of at most {max_bytes} bytes (not a dlib file, or a different layout)",
                    control[0]
                ),
            ));
        }
        let mut buf = [0u8; 8];
        self.bytes(&mut buf[..size as usize], what)?;
        Ok((negative, u64::from_le_bytes(buf)))
    }

    /// A signed integer (`int`, `long`, `int64`).
    pub fn i64(&mut self, what: &str) -> Result<i64> {
        let (negative, magnitude) = self.int_parts(what, 8)?;
        let value = i64::try_from(magnitude).map_err(|_| self.error(what, "integer overflows"))?;
        Ok(if negative { -value } else { value })
    }

    /// An unsigned integer (`unsigned long`, `size_t`): a sign is an error.
    pub fn u64(&mut self, what: &str) -> Result<u64> {
        let (negative, magnitude) = self.int_parts(what, 8)?;
        if negative {
            return Err(self.error(what, "negative value for an unsigned integer"));
        }
        Ok(magnitude)
    }

    /// An unsigned integer used as an index or count, checked against `limit`
    /// so that a corrupt file cannot ask for an absurd allocation.
    pub fn index(&mut self, what: &str, limit: u64) -> Result<usize> {
        let value = self.u64(what)?;
        if value > limit {
            return Err(self.error(what, format!("{value} is larger than {limit}")));
        }
        Ok(value as usize)
    }

    /// A floating-point value as a double.
    pub fn f64(&mut self, what: &str) -> Result<f64> {
        let start = self.offset;
        let (negative, magnitude) = self.int_parts(what, 8).map_err(|e| {
            // dlib's pre-2013 ASCII floats start with a digit or sign, which
            // fails the control-byte check: say so rather than "not an integer".
            if self.offset == start {
                self.error(
                    what,
                    "not a binary dlib float (old ASCII format is not supported)",
                )
            } else {
                e
            }
        })?;
        let mantissa =
            i64::try_from(magnitude).map_err(|_| self.error(what, "mantissa overflows"))?;
        let mantissa = if negative { -mantissa } else { mantissa };
        let (negative, magnitude) = self.int_parts(what, 2)?;
        let exponent = if negative {
            -(magnitude as i64)
        } else {
            magnitude as i64
        };
        Ok(match exponent {
            EXP_INF => f64::INFINITY,
            EXP_NINF => f64::NEG_INFINITY,
            EXP_SNAN | EXP_QNAN => f64::NAN,
            // dlib's float_details: value = mantissa · 2^exponent.
            _ => libm::ldexp(mantissa as f64, exponent as i32),
        })
    }

    /// A `float`. dlib stores a float's 24-bit mantissa, so the double is exact
    /// and the narrowing loses nothing.
    pub fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(self.f64(what)? as f32)
    }

    /// A `std::string`.
    pub fn string(&mut self, what: &str) -> Result<String> {
        let len = self.index(what, 1 << 20)?;
        let mut buf = vec![0u8; len];
        self.bytes(&mut buf, what)?;
        String::from_utf8(buf).map_err(|_| self.error(what, "string is not UTF-8"))
    }

    /// The bytes of a string whose length was already read (a caller that
    /// had to look at the length to tell a string from a number, as dlib's
    /// `dnn` input layer requires).
    pub fn string_of_len(&mut self, len: u64, what: &str) -> Result<String> {
        if len > 1 << 20 {
            return Err(self.error(what, format!("string length {len} is absurd")));
        }
        let mut buf = vec![0u8; len as usize];
        self.bytes(&mut buf, what)?;
        String::from_utf8(buf).map_err(|_| self.error(what, "string is not UTF-8"))
    }

    /// A `bool`: dlib writes the character `'1'` or `'0'`.
    pub fn bool(&mut self, what: &str) -> Result<bool> {
        let mut b = [0u8; 1];
        self.bytes(&mut b, what)?;
        match b[0] {
            b'1' => Ok(true),
            b'0' => Ok(false),
            other => {
                self.offset -= 1;
                Err(self.error(
                    what,
                    format!("byte 0x{other:02x} is not a bool ('0' or '1')"),
                ))
            }
        }
    }

    /// A `std::vector<T>`: its length (at most `limit`), then each item read by `item`.
    pub fn vec<T>(
        &mut self,
        what: &str,
        limit: u64,
        mut item: impl FnMut(&mut Self, usize) -> Result<T>,
    ) -> Result<Vec<T>> {
        let len = self.index(&format!("{what} (length)"), limit)?;
        let mut out = Vec::with_capacity(len);
        for i in 0..len {
            out.push(item(self, i)?);
        }
        Ok(out)
    }

    /// A `dlib::matrix<float>`: rows, columns, then the values row-major.
    pub fn matrix_f32(&mut self, what: &str) -> Result<Matrix> {
        let rows = self.i64(&format!("{what} (rows)"))?;
        let cols = self.i64(&format!("{what} (columns)"))?;
        // The current format writes the sizes negated; the old one wrote
        // them positive and in the other order.
        let (rows, cols) = if rows < 0 || cols < 0 {
            (-rows, -cols)
        } else {
            (cols, rows)
        };
        if rows < 0 || cols < 0 || rows.saturating_mul(cols) > 1 << 28 {
            return Err(self.error(what, format!("impossible matrix size {rows}×{cols}")));
        }
        let (rows, cols) = (rows as usize, cols as usize);
        let mut data = Vec::with_capacity(rows * cols);
        for _ in 0..rows * cols {
            data.push(self.f32(what)?);
        }
        Ok(Matrix { rows, cols, data })
    }

    /// `count` raw little-endian `f32`s, the way dlib's `tensor` (serialization
    /// version 2) writes its data after its dimensions.
    pub fn raw_f32(&mut self, what: &str, count: usize) -> Result<Vec<f32>> {
        let mut buf = vec![0u8; count * 4];
        self.bytes(&mut buf, what)?;
        Ok(buf
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// Checks that the stream is over: trailing bytes mean the layout read
    /// was not the layout written.
    pub fn expect_end(&mut self, what: &str) -> Result<()> {
        let mut one = [0u8; 1];
        loop {
            match self.inner.read(&mut one) {
                Ok(0) => return Ok(()),
                Ok(_) => {
                    return Err(self.error(what, "unexpected bytes after the end of the model"))
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(what, e)),
            }
        }
    }
}

/// A dense `dlib::matrix<float>`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes an integer the way dlib's `serialize` does, for the tests.
    fn int(v: i64) -> Vec<u8> {
        let neg = v < 0;
        let mut m = v.unsigned_abs();
        // dlib always writes at least one magnitude byte, even for zero.
        let mut bytes = vec![(m & 0xFF) as u8];
        m >>= 8;
        while m != 0 {
            bytes.push((m & 0xFF) as u8);
            m >>= 8;
        }
        let mut out = vec![bytes.len() as u8 | if neg { 0x80 } else { 0 }];
        out.extend(bytes);
        out
    }

    fn reader(bytes: Vec<u8>) -> DlibReader<std::io::Cursor<Vec<u8>>> {
        DlibReader::new(std::io::Cursor::new(bytes), "test.dat")
    }

    #[test]
    fn integers_round_trip() {
        let values = [0i64, 1, -1, 255, 256, -65536, i64::MAX, -i64::MAX];
        let bytes: Vec<u8> = values.iter().flat_map(|&v| int(v)).collect();
        let mut r = reader(bytes);
        for v in values {
            assert_eq!(r.i64("x").unwrap(), v);
        }
        r.expect_end("end").unwrap();
    }

    #[test]
    fn floats_are_mantissa_times_power_of_two() {
        // 0.75 = 3 · 2^-2; -5 = -5 · 2^0; +inf.
        let mut bytes = vec![];
        for (m, e) in [(3, -2), (-5, 0), (0, 32000)] {
            bytes.extend(int(m));
            bytes.extend(int(e));
        }
        let mut r = reader(bytes);
        assert_eq!(r.f32("a").unwrap(), 0.75);
        assert_eq!(r.f32("b").unwrap(), -5.0);
        assert_eq!(r.f64("c").unwrap(), f64::INFINITY);
    }

    #[test]
    fn matrix_sizes_are_negated_in_the_current_format() {
        let mut bytes = int(-2);
        bytes.extend(int(-1));
        for v in [1, 2] {
            bytes.extend(int(v));
            bytes.extend(int(0));
        }
        let m = reader(bytes).matrix_f32("m").unwrap();
        assert_eq!((m.rows, m.cols, m.data), (2, 1, vec![1.0, 2.0]));
    }

    #[test]
    fn truncation_names_the_source_and_the_value() {
        let mut bytes = int(-3);
        bytes.extend(int(-1));
        bytes.extend(int(7));
        let err = reader(bytes).matrix_f32("initial shape").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("test.dat"), "{msg}");
        assert!(msg.contains("initial shape"), "{msg}");
        assert!(msg.contains("truncated"), "{msg}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn raw_tensor_data_is_little_endian_f32() {
        let mut bytes = int(2);
        bytes.extend(1.5f32.to_le_bytes());
        bytes.extend((-0.25f32).to_le_bytes());
        let mut r = reader(bytes);
        assert_eq!(r.i64("version").unwrap(), 2);
        assert_eq!(r.raw_f32("tensor", 2).unwrap(), vec![1.5, -0.25]);
        let err = r.raw_f32("tensor", 1).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn ascii_floats_are_refused_clearly() {
        let err = reader(b"1.5 ".to_vec())
            .f32("thresh")
            .unwrap_err()
            .to_string();
        assert!(err.contains("old ASCII"), "{err}");
    }

    #[test]
    fn oversized_lengths_are_refused_before_allocating() {
        let err = reader(int(1 << 40))
            .vec("forests", 1000, |r, _| r.u64("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("larger than 1000"), "{err}");
    }
}
