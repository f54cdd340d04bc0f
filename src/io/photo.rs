//! Reading face photos (PNG or JPEG) for the photo encoder, as 8-bit RGB.
//!
//! Any PNG colour type and depth is expanded to RGB8 (grey is repeated,
//! alpha dropped, 16-bit keeps its high byte); JPEGs are decoded to RGB
//! whatever their colour space. The format is told by the file's first bytes,
//! not its name.

use crate::error::{Error, Result};
use crate::image::Image;
use std::path::Path;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_SIGNATURE: &[u8] = &[0xFF, 0xD8, 0xFF];

/// Reads a PNG or JPEG photo as RGB8.
pub fn read_photo(path: &Path) -> Result<Image> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    // The png crate's default allocation limit (64 MiB) guards callers that
    // never look at the size first.
    decode_photo(path, &bytes, false)
}

/// Decodes the bytes of a PNG or JPEG photo (read from `path`, named in
/// errors) as RGB8. Unless `size_checked` (the caller looked at
/// [`photo_size`] and accepts it), the decoders' own guards stay on: a PNG
/// may allocate 64 MiB, a JPEG side may be 16384 pixels.
pub fn decode_photo(path: &Path, bytes: &[u8], size_checked: bool) -> Result<Image> {
    let at = |e: String| Error::input(format!("{}: {e}", path.display()));
    if bytes.starts_with(PNG_SIGNATURE) {
        let limit = if size_checked {
            usize::MAX
        } else {
            png::Limits::default().bytes
        };
        decode_png_any(bytes, limit).map_err(at)
    } else if bytes.starts_with(JPEG_SIGNATURE) {
        decode_jpeg(bytes, if size_checked { u16::MAX } else { 16384 }).map_err(at)
    } else {
        Err(at("not a PNG or JPEG image".into()))
    }
}

/// The stored width and height of a PNG or JPEG from its header alone,
/// without decoding the pixels (so an enormous photo can be refused, or
/// planned for, before it is in memory).
pub fn photo_size(path: &Path, bytes: &[u8]) -> Result<(u32, u32)> {
    let at = |e: String| Error::input(format!("{}: {e}", path.display()));
    if bytes.starts_with(PNG_SIGNATURE) {
        // The first chunk is IHDR, width and height its first 8 bytes.
        if bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
            return Err(at("broken PNG image: no IHDR header".into()));
        }
        let be =
            |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        Ok((be(16), be(20)))
    } else if bytes.starts_with(JPEG_SIGNATURE) {
        // JPEG's own limit (16-bit sides), not zune's default of 16384.
        let options = DecoderOptions::default()
            .set_max_width(u16::MAX as usize)
            .set_max_height(u16::MAX as usize);
        let mut decoder = JpegDecoder::new_with_options(bytes, options);
        decoder
            .decode_headers()
            .map_err(|e| at(format!("broken JPEG image: {e:?}")))?;
        let (w, h) = decoder
            .dimensions()
            .ok_or_else(|| at("broken JPEG image: no size".into()))?;
        Ok((w as u32, h as u32))
    } else {
        Err(at("not a PNG or JPEG image".into()))
    }
}

fn decode_png_any(bytes: &[u8], max_bytes: usize) -> std::result::Result<Image, String> {
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits { bytes: max_bytes },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("broken PNG image: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("broken PNG image: {e}"))?;
    buf.truncate(info.buffer_size());
    let channels = info.color_type.samples();
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha => {
            buf.chunks_exact(channels).flat_map(|p| [p[0]; 3]).collect()
        }
        png::ColorType::Indexed => return Err("palette PNG was not expanded".into()),
    };
    Ok(Image {
        width: info.width,
        height: info.height,
        rgb,
    })
}

fn decode_jpeg(bytes: &[u8], max_side: u16) -> std::result::Result<Image, String> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(max_side as usize)
        .set_max_height(max_side as usize);
    let mut decoder = JpegDecoder::new_with_options(bytes, options);
    let rgb = decoder
        .decode()
        .map_err(|e| format!("broken JPEG image: {e:?}"))?;
    let (width, height) = decoder.dimensions().ok_or("broken JPEG image: no size")?;
    if rgb.len() != width * height * 3 {
        return Err(format!(
            "JPEG decoded to {} bytes, expected {width}×{height} RGB",
            rgb.len()
        ));
    }
    Ok(Image {
        width: width as u32,
        height: height as u32,
        rgb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(color: png::ColorType, depth: png::BitDepth, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 2, 1);
            enc.set_color(color);
            enc.set_depth(depth);
            enc.write_header().unwrap().write_image_data(data).unwrap();
        }
        out
    }

    #[test]
    fn every_png_kind_becomes_rgb8() {
        let grey = png_bytes(png::ColorType::Grayscale, png::BitDepth::Eight, &[10, 200]);
        assert_eq!(
            decode_png_any(&grey, 1 << 20).unwrap().rgb,
            [10, 10, 10, 200, 200, 200]
        );
        let rgba = png_bytes(
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &[1, 2, 3, 255, 4, 5, 6, 0],
        );
        assert_eq!(
            decode_png_any(&rgba, 1 << 20).unwrap().rgb,
            [1, 2, 3, 4, 5, 6]
        );
        let deep = png_bytes(
            png::ColorType::Rgb,
            png::BitDepth::Sixteen,
            &[1, 99, 2, 99, 3, 99, 250, 0, 251, 0, 252, 0],
        );
        assert_eq!(
            decode_png_any(&deep, 1 << 20).unwrap().rgb,
            [1, 2, 3, 250, 251, 252]
        );
    }

    #[test]
    fn other_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("face.png");
        std::fs::write(&path, b"GIF89a not really").unwrap();
        let err = read_photo(&path).unwrap_err().to_string();
        assert!(err.contains("face.png: not a PNG or JPEG image"), "{err}");
        std::fs::write(&path, [0xFF, 0xD8, 0xFF, 0xE0, 0, 0]).unwrap();
        let err = read_photo(&path).unwrap_err().to_string();
        assert!(err.contains("broken JPEG image"), "{err}");
    }
}

#[cfg(test)]
mod fixture_tests {
    use super::*;

    /// The fixture JPEG decodes to what Pillow (libjpeg) makes of it, up to
    /// the rounding of the two decoders' inverse DCTs and colour conversion.
    #[test]
    fn a_jpeg_decodes_as_libjpeg_decodes_it() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e4e");
        let jpeg = read_photo(&dir.join("face.jpg")).unwrap();
        let expected = crate::io::safetensors::TensorFile::open(&dir.join("expected.safetensors"))
            .unwrap()
            .read_many(&["face.jpg.rgb".to_string()])
            .unwrap()
            .remove(0);
        assert_eq!((jpeg.width, jpeg.height), (64, 64));
        assert_eq!(jpeg.rgb.len(), expected.len());
        let worst = jpeg
            .rgb
            .iter()
            .zip(&expected)
            .map(|(a, b)| (*a as f32 - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 2.0, "differs from libjpeg by {worst} levels");
    }
}
