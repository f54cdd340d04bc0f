//! The preview of an alignment: the photo with the detection box, the 68
//! landmarks and the FFHQ quad drawn on it, to check by eye what was cropped.

use crate::align::ffhq::Source;
use crate::align::photo::box_shrink;
use crate::dlib::FaceBox;
use crate::error::{Error, Result};
use crate::image::Image;
use tiny_skia::{Color, Paint, PathBuilder, Pixmap, Stroke, Transform};

/// Previews larger than this (longest side, px) are drawn on a smaller copy.
const MAX_SIDE: u32 = 1024;

/// The photo with `face`, `landmarks` and `quad` (photo pixels) drawn; a
/// photo over `MAX_SIDE` is first shrunk by the whole factor that brings it
/// under (each pixel the mean of a block), so a huge photo is never copied.
pub fn draw<S: Source + ?Sized>(
    photo: &S,
    face: FaceBox,
    landmarks: &[[f64; 2]],
    quad: &[[f64; 2]; 4],
) -> Result<Image> {
    let (w, h) = photo.size();
    let side = w.max(h);
    let f = side.div_ceil(MAX_SIDE).max(1);
    let base = box_shrink(photo, f);
    let scale = 1.0 / f as f32;
    let mut pm = Pixmap::new(base.width, base.height)
        .ok_or_else(|| Error::internal("preview: empty image"))?;
    for (px, p) in pm
        .data_mut()
        .chunks_exact_mut(4)
        .zip(base.rgb.chunks_exact(3))
    {
        px.copy_from_slice(&[p[0], p[1], p[2], 255]);
    }
    let line = (side as f32 * scale / 300.0).max(1.0);
    let paint = |r, g, b| {
        let mut p = Paint::default();
        p.set_color(Color::from_rgba8(r, g, b, 255));
        p.anti_alias = true;
        p
    };
    let stroke = Stroke {
        width: line,
        ..Stroke::default()
    };
    let at = |x: f64, y: f64| ((x as f32 + 0.5) * scale, (y as f32 + 0.5) * scale);

    // The detection box (inclusive corners), blue.
    let mut pb = PathBuilder::new();
    let (l, t) = at(face.left as f64, face.top as f64);
    let (r, b) = at(face.right as f64, face.bottom as f64);
    pb.move_to(l, t);
    pb.line_to(r, t);
    pb.line_to(r, b);
    pb.line_to(l, b);
    pb.close();
    if let Some(path) = pb.finish() {
        pm.stroke_path(
            &path,
            &paint(40, 120, 255),
            &stroke,
            Transform::identity(),
            None,
        );
    }
    // The quad, green, with its top edge (the aligned image's top) thicker.
    let mut pb = PathBuilder::new();
    let corners: Vec<(f32, f32)> = quad.iter().map(|q| at(q[0] - 0.5, q[1] - 0.5)).collect();
    pb.move_to(corners[0].0, corners[0].1);
    for c in &corners[1..] {
        pb.line_to(c.0, c.1);
    }
    pb.close();
    if let Some(path) = pb.finish() {
        pm.stroke_path(
            &path,
            &paint(40, 220, 80),
            &stroke,
            Transform::identity(),
            None,
        );
    }
    let mut pb = PathBuilder::new();
    pb.move_to(corners[3].0, corners[3].1);
    pb.line_to(corners[0].0, corners[0].1);
    if let Some(path) = pb.finish() {
        let thick = Stroke {
            width: line * 3.0,
            ..Stroke::default()
        };
        pm.stroke_path(
            &path,
            &paint(40, 220, 80),
            &thick,
            Transform::identity(),
            None,
        );
    }
    // The landmarks, red dots.
    let mut pb = PathBuilder::new();
    for p in landmarks {
        let (x, y) = at(p[0], p[1]);
        pb.push_circle(x, y, line * 1.5);
    }
    if let Some(path) = pb.finish() {
        pm.fill_path(
            &path,
            &paint(255, 40, 40),
            tiny_skia::FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
    // Everything drawn is opaque, so the premultiplied bytes are the colours.
    Ok(Image {
        width: base.width,
        height: base.height,
        rgb: pm
            .data()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    })
}
