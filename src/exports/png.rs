//! PNG encoding of famsim's RGB images (the `png` crate; no timestamps or
//! other metadata, so the same pixels always give the same bytes).

use crate::error::{Error, Result};
use crate::image::Image;
use std::path::Path;

/// Encodes an RGB8 image as PNG bytes.
pub fn encode_png(image: &Image) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, image.width, image.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc
            .write_header()
            .map_err(|e| Error::internal(format!("PNG header: {e}")))?;
        writer
            .write_image_data(&image.rgb)
            .map_err(|e| Error::internal(format!("PNG data: {e}")))?;
    }
    Ok(out)
}

/// Writes `image` as a PNG at `path`, atomically (folders are created).
pub fn write_png(path: &Path, image: &Image) -> Result<()> {
    crate::io::atomic::write_atomic(path, &encode_png(image)?)
}

/// Decodes a PNG written by [`encode_png`] (RGB8 or RGBA8) back into an image.
pub fn decode_png(bytes: &[u8]) -> Result<Image> {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder
        .read_info()
        .map_err(|e| Error::input(format!("not a PNG image: {e}")))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| Error::input(format!("broken PNG image: {e}")))?;
    buf.truncate(info.buffer_size());
    let rgb = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => buf,
        (png::ColorType::Rgba, png::BitDepth::Eight) => buf
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        (c, d) => return Err(Error::input(format!("unsupported PNG format {c:?} {d:?}"))),
    };
    Ok(Image {
        width: info.width,
        height: info.height,
        rgb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_pixels() {
        let img = Image {
            width: 3,
            height: 2,
            rgb: (0..18).map(|i| i * 13).collect(),
        };
        let bytes = encode_png(&img).unwrap();
        assert_eq!(decode_png(&bytes).unwrap(), img);
        assert_eq!(encode_png(&img).unwrap(), bytes);
    }
}
