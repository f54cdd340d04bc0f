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
use std::fmt::Display;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The bzip2 stream signature: dlib's published models are `.dat.bz2`.
const BZIP2_MAGIC: &[u8] = b"BZh";

/// dlib writes these exponents for the float values that have no mantissa.
const EXP_INF: i64 = 32000;
const EXP_NINF: i64 = 32001;
const EXP_SNAN: i64 = 32002;
const EXP_QNAN: i64 = 32003;

/// The reader's own buffer. The 68-point model is 16 million floats of two
/// or three bytes each; decoding them from a buffer the reader owns, instead
/// of a `Read` call (a virtual one, through `Box<dyn Read>`) per byte, is
/// what makes loading it take a fraction of a second.
const BUFFER: usize = 1 << 20;
/// The longest integer dlib writes: a control byte and 8 magnitude bytes.
const MAX_INT: usize = 9;

/// Why a primitive could not be read, before it is put into words with the
/// name of the value (so the hot loop builds no strings).
enum Fault {
    /// The stream ended inside the value.
    Truncated,
    /// A read failed (a corrupt bzip2 block surfaces here).
    Io(std::io::Error),
    /// A control byte that is not an integer of at most `max` bytes.
    Control { byte: u8, max: u8 },
}

/// Why a float could not be read.
enum FloatFault {
    Mantissa(Fault),
    Exponent(Fault),
    Overflow,
}

/// Reads dlib-serialized values from a file (plain or bzip2-compressed) or any
/// byte stream, keeping the offset for error messages.
pub struct DlibReader<R: Read> {
    inner: R,
    source: PathBuf,
    compressed: bool,
    buf: Box<[u8]>,
    /// `buf[pos..end]` is read from `inner` but not yet consumed.
    pos: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
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
        // The reader buffers itself, so neither stream gets a BufReader
        // (bzip2's decoder has its own for the compressed bytes).
        let inner: Box<dyn Read> = if compressed {
            Box::new(bzip2::read::BzDecoder::new(stream))
        } else {
            Box::new(stream)
        };
        let mut reader = DlibReader::new(inner, path);
        reader.compressed = compressed;
        Ok(reader)
    }
}

impl<R: Read> DlibReader<R> {
    /// Reads from an already open stream; `source` names it in errors.
    pub fn new(inner: R, source: impl Into<PathBuf>) -> Self {
        DlibReader {
            inner,
            source: source.into(),
            compressed: false,
            buf: vec![0u8; BUFFER].into_boxed_slice(),
            pos: 0,
            end: 0,
            base: 0,
        }
    }

    /// Bytes consumed so far (of the decompressed stream for `.bz2`).
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// An input error naming the file, the offset and what was being read.
    pub fn error(&self, what: impl Display, problem: impl Display) -> Error {
        let place = if self.compressed {
            "byte of the decompressed stream"
        } else {
            "byte"
        };
        Error::input(format!(
            "{}: {place} {}: reading {what}: {problem}",
            self.source.display(),
            self.offset()
        ))
    }

    fn fault(&self, what: impl Display, fault: Fault) -> Error {
        match fault {
            Fault::Truncated => self.error(what, "file ends early (truncated?)"),
            Fault::Io(e) => self.error(what, e),
            Fault::Control { byte, max } => self.error(
                what,
                format!(
                    "byte 0x{byte:02x} is not an integer of at most {max} bytes (not a dlib file, or a different layout)"
                ),
            ),
        }
    }

    /// Reads more of the stream after the unconsumed bytes; false at its end.
    #[cold]
    fn refill(&mut self) -> std::result::Result<bool, Fault> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Fault::Io(e)),
            }
        }
    }

    /// Makes `n` (at most [`MAX_INT`]) bytes available unless the stream
    /// ends first; the caller checks how many there are.
    #[inline]
    fn want(&mut self, n: usize) -> std::result::Result<(), Fault> {
        while self.end - self.pos < n {
            if !self.refill()? {
                break;
            }
        }
        Ok(())
    }

    fn bytes(&mut self, out: &mut [u8], what: impl Display) -> Result<()> {
        let mut got = 0;
        loop {
            let n = (self.end - self.pos).min(out.len() - got);
            out[got..got + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            got += n;
            if got == out.len() {
                return Ok(());
            }
            match self.refill() {
                Ok(true) => {}
                Ok(false) => return Err(self.fault(what, Fault::Truncated)),
                Err(f) => return Err(self.fault(what, f)),
            }
        }
    }

    /// One integer in dlib's compact form: sign and magnitude, at most
    /// `max` magnitude bytes (the size of the C++ type it was written from).
    /// A bad control byte is not consumed, so the error points at it.
    #[inline]
    fn int_raw(&mut self, max: u8) -> std::result::Result<(bool, u64), Fault> {
        if self.end - self.pos < MAX_INT {
            self.want(MAX_INT)?;
        }
        let avail = &self.buf[self.pos..self.end];
        let Some(&control) = avail.first() else {
            return Err(Fault::Truncated);
        };
        let size = control & 0x0F;
        // dlib writes zero as one zero byte, so a size of 0 never occurs.
        if control & 0x70 != 0 || size == 0 || size > max {
            return Err(Fault::Control { byte: control, max });
        }
        let size = size as usize;
        if avail.len() <= size {
            self.pos = self.end;
            return Err(Fault::Truncated);
        }
        let mut magnitude = [0u8; 8];
        magnitude[..size].copy_from_slice(&avail[1..=size]);
        self.pos += 1 + size;
        Ok((control & 0x80 != 0, u64::from_le_bytes(magnitude)))
    }

    fn int_parts(&mut self, what: impl Display, max: u8) -> Result<(bool, u64)> {
        self.int_raw(max).map_err(|f| self.fault(what, f))
    }

    /// A signed integer (`int`, `long`, `int64`).
    pub fn i64(&mut self, what: impl Display) -> Result<i64> {
        let (negative, magnitude) = self.int_parts(&what, 8)?;
        let value = i64::try_from(magnitude).map_err(|_| self.error(&what, "integer overflows"))?;
        Ok(if negative { -value } else { value })
    }

    /// An unsigned integer (`unsigned long`, `size_t`): a sign is an error.
    pub fn u64(&mut self, what: impl Display) -> Result<u64> {
        let (negative, magnitude) = self.int_parts(&what, 8)?;
        if negative {
            return Err(self.error(what, "negative value for an unsigned integer"));
        }
        Ok(magnitude)
    }

    /// An unsigned integer used as an index or count, checked against `limit`
    /// so that a corrupt file cannot ask for an absurd allocation.
    pub fn index(&mut self, what: impl Display, limit: u64) -> Result<usize> {
        let value = self.u64(&what)?;
        if value > limit {
            return Err(self.error(what, format!("{value} is larger than {limit}")));
        }
        Ok(value as usize)
    }

    /// A float as dlib wrote it, or why not.
    #[inline]
    fn f64_raw(&mut self) -> std::result::Result<f64, FloatFault> {
        let (negative, magnitude) = self.int_raw(8).map_err(FloatFault::Mantissa)?;
        let (exp_negative, exp) = self.int_raw(2).map_err(FloatFault::Exponent)?;
        let Ok(mantissa) = i64::try_from(magnitude) else {
            return Err(FloatFault::Overflow);
        };
        let mantissa = if negative { -mantissa } else { mantissa };
        let exponent = if exp_negative {
            -(exp as i64)
        } else {
            exp as i64
        };
        Ok(match exponent {
            EXP_INF => f64::INFINITY,
            EXP_NINF => f64::NEG_INFINITY,
            EXP_SNAN | EXP_QNAN => f64::NAN,
            // dlib's float_details: value = mantissa · 2^exponent. Within
            // this range the product of the (integer) mantissa and an
            // exact power of two is never subnormal nor infinite, so it is
            // exactly ldexp's result, without ldexp's cost per value.
            -1022..=960 => mantissa as f64 * f64::from_bits(((exponent + 1023) as u64) << 52),
            _ => libm::ldexp(mantissa as f64, exponent as i32),
        })
    }

    /// A floating-point value as a double.
    pub fn f64(&mut self, what: impl Display) -> Result<f64> {
        self.f64_raw().map_err(|e| self.float_error(what, e))
    }

    /// Puts a failed float read into words.
    #[cold]
    fn float_error(&self, what: impl Display, fault: FloatFault) -> Error {
        match fault {
            FloatFault::Overflow => self.error(what, "mantissa overflows"),
            // dlib's pre-2013 ASCII floats start with a digit or sign, which
            // fails the control-byte check: say so rather than "not an integer".
            FloatFault::Mantissa(Fault::Control { .. }) => self.error(
                what,
                "not a binary dlib float (old ASCII format is not supported)",
            ),
            FloatFault::Mantissa(f) | FloatFault::Exponent(f) => self.fault(what, f),
        }
    }

    /// A `float`. dlib stores a float's 24-bit mantissa, so the double is exact
    /// and the narrowing loses nothing.
    pub fn f32(&mut self, what: impl Display) -> Result<f32> {
        Ok(self.f64(what)? as f32)
    }

    /// A `std::string`.
    pub fn string(&mut self, what: impl Display) -> Result<String> {
        let len = self.index(&what, 1 << 20)?;
        let mut buf = vec![0u8; len];
        self.bytes(&mut buf, &what)?;
        String::from_utf8(buf).map_err(|_| self.error(what, "string is not UTF-8"))
    }

    /// The bytes of a string whose length was already read (a caller that
    /// had to look at the length to tell a string from a number, as dlib's
    /// `dnn` input layer requires).
    pub fn string_of_len(&mut self, len: u64, what: impl Display) -> Result<String> {
        if len > 1 << 20 {
            return Err(self.error(what, format!("string length {len} is absurd")));
        }
        let mut buf = vec![0u8; len as usize];
        self.bytes(&mut buf, &what)?;
        String::from_utf8(buf).map_err(|_| self.error(what, "string is not UTF-8"))
    }

    /// A `bool`: dlib writes the character `'1'` or `'0'`.
    pub fn bool(&mut self, what: impl Display) -> Result<bool> {
        if self.pos == self.end {
            if let Err(f) = self.want(1) {
                return Err(self.fault(what, f));
            }
        }
        let Some(&b) = self.buf[self.pos..self.end].first() else {
            return Err(self.fault(what, Fault::Truncated));
        };
        match b {
            b'1' | b'0' => {
                self.pos += 1;
                Ok(b == b'1')
            }
            other => Err(self.error(
                what,
                format!("byte 0x{other:02x} is not a bool ('0' or '1')"),
            )),
        }
    }

    /// A `std::vector<T>`: its length (at most `limit`), then each item read by `item`.
    pub fn vec<T>(
        &mut self,
        what: impl Display,
        limit: u64,
        mut item: impl FnMut(&mut Self, usize) -> Result<T>,
    ) -> Result<Vec<T>> {
        let len = self.index(format_args!("{what} (length)"), limit)?;
        let mut out = Vec::with_capacity(len);
        for i in 0..len {
            out.push(item(self, i)?);
        }
        Ok(out)
    }

    /// A `dlib::matrix<float>`: rows, columns, then the values row-major.
    pub fn matrix_f32(&mut self, what: impl Display) -> Result<Matrix> {
        let mut data = Vec::new();
        let (rows, cols) = self.matrix_f32_into(&what, &mut data)?;
        Ok(Matrix { rows, cols, data })
    }

    /// A `dlib::matrix<float>` appended to `out` (no vector of its own, for
    /// the many small matrices of a shape predictor's leaves); returns its
    /// rows and columns.
    pub fn matrix_f32_into(
        &mut self,
        what: impl Display,
        out: &mut Vec<f32>,
    ) -> Result<(usize, usize)> {
        let rows = self.i64(format_args!("{what} (rows)"))?;
        let cols = self.i64(format_args!("{what} (columns)"))?;
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
        out.reserve(rows * cols);
        for _ in 0..rows * cols {
            // `f32` without its `what` argument per value: the leaves of the
            // 68-point model are 16 million of them.
            match self.f64_raw() {
                Ok(v) => out.push(v as f32),
                Err(e) => return Err(self.float_error(what, e)),
            }
        }
        Ok((rows, cols))
    }

    /// `count` raw little-endian `f32`s, the way dlib's `tensor` (serialization
    /// version 2) writes its data after its dimensions.
    pub fn raw_f32(&mut self, what: impl Display, count: usize) -> Result<Vec<f32>> {
        let mut buf = vec![0u8; count * 4];
        self.bytes(&mut buf, what)?;
        Ok(buf
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// Checks that the stream is over: trailing bytes mean the layout read
    /// was not the layout written.
    pub fn expect_end(&mut self, what: impl Display) -> Result<()> {
        if self.pos == self.end {
            if let Err(f) = self.want(1) {
                return Err(self.fault(what, f));
            }
        }
        if self.pos < self.end {
            return Err(self.error(what, "unexpected bytes after the end of the model"));
        }
        Ok(())
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
