//! Draws a [`Look`] as an anti-aliased frontal portrait with tiny-skia.
//!
//! Everything is laid out on a unit canvas and scaled to the image size by one
//! transform, so a face looks the same at 64 and at 1024 pixels. Nothing here
//! is random: the same look gives the same bytes.

use super::look::{smoothstep, Look, Rgb};
use crate::model::Image;
use std::f32::consts::PI;
use tiny_skia::{
    Color, FillRule, GradientStop, LineCap, LineJoin, LinearGradient, Mask, Paint, Path,
    PathBuilder, Pixmap, Point, RadialGradient, Rect, Shader, SpreadMode, Stroke, Transform,
};

type Pt = (f32, f32);

/// A pixmap with a unit-canvas transform.
struct Canvas {
    pm: Pixmap,
    ts: Transform,
}

fn colour(c: Rgb, alpha: f32) -> Color {
    let c = c.clamped();
    // Looks are built from finite latents, so this never falls back in practice.
    Color::from_rgba(c.0, c.1, c.2, alpha.clamp(0.0, 1.0)).unwrap_or(Color::BLACK)
}

fn stop(pos: f32, c: Rgb, alpha: f32) -> GradientStop {
    GradientStop::new(pos, colour(c, alpha))
}

impl Canvas {
    fn new(size: u32) -> Canvas {
        Canvas {
            pm: Pixmap::new(size, size).expect("size checked by the model"),
            ts: Transform::from_scale(size as f32, size as f32),
        }
    }

    fn fill_shader(&mut self, path: &Path, shader: Shader<'static>, mask: Option<&Mask>) {
        let paint = Paint {
            shader,
            anti_alias: true,
            ..Paint::default()
        };
        self.pm
            .fill_path(path, &paint, FillRule::Winding, self.ts, mask);
    }

    fn fill(&mut self, path: &Path, c: Rgb, alpha: f32) {
        self.fill_masked(path, c, alpha, None);
    }

    fn fill_masked(&mut self, path: &Path, c: Rgb, alpha: f32, mask: Option<&Mask>) {
        if alpha <= 0.002 {
            return;
        }
        self.fill_shader(path, Shader::SolidColor(colour(c, alpha)), mask);
    }

    fn stroke(&mut self, path: &Path, c: Rgb, alpha: f32, width: f32) {
        self.stroke_masked(path, c, alpha, width, None);
    }

    fn stroke_masked(&mut self, path: &Path, c: Rgb, alpha: f32, width: f32, mask: Option<&Mask>) {
        if alpha <= 0.002 || width <= 0.0 {
            return;
        }
        let paint = Paint {
            shader: Shader::SolidColor(colour(c, alpha)),
            anti_alias: true,
            ..Paint::default()
        };
        let stroke = Stroke {
            width,
            line_cap: LineCap::Round,
            line_join: LineJoin::Round,
            ..Stroke::default()
        };
        self.pm.stroke_path(path, &paint, &stroke, self.ts, mask);
    }

    fn mask(&self, path: &Path) -> Mask {
        let mut m = Mask::new(self.pm.width(), self.pm.height()).expect("non-empty canvas");
        m.fill_path(path, FillRule::Winding, true, self.ts);
        m
    }

    /// A soft round spot: `c` at `alpha` in the middle fading to nothing.
    fn glow(&mut self, centre: Pt, rx: f32, ry: f32, c: Rgb, alpha: f32) {
        if alpha <= 0.002 || rx <= 0.0 || ry <= 0.0 {
            return;
        }
        let Some(path) = ellipse(centre, rx, ry) else {
            return;
        };
        let shader = RadialGradient::new(
            Point::from_xy(0.0, 0.0),
            Point::from_xy(0.0, 0.0),
            1.0,
            vec![stop(0.0, c, alpha), stop(1.0, c, 0.0)],
            SpreadMode::Pad,
            Transform::from_row(rx, 0.0, 0.0, ry, centre.0, centre.1),
        );
        if let Some(shader) = shader {
            self.fill_shader(&path, shader, None);
        }
    }
}

fn ellipse(c: Pt, rx: f32, ry: f32) -> Option<Path> {
    PathBuilder::from_oval(Rect::from_ltrb(c.0 - rx, c.1 - ry, c.0 + rx, c.1 + ry)?)
}

/// A polyline through `pts`, closed if asked.
fn poly(pts: &[Pt], close: bool) -> Option<Path> {
    let mut pb = PathBuilder::new();
    let (first, rest) = pts.split_first()?;
    pb.move_to(first.0, first.1);
    for p in rest {
        pb.line_to(p.0, p.1);
    }
    if close {
        pb.close();
    }
    pb.finish()
}

/// A smooth curve through `pts` (Catmull-Rom as cubic Béziers).
fn smooth(pts: &[Pt], close: bool) -> Option<Path> {
    let n = pts.len();
    if n < 3 {
        return poly(pts, close);
    }
    let at = |i: isize| -> Pt {
        if close {
            pts[i.rem_euclid(n as isize) as usize]
        } else {
            pts[i.clamp(0, n as isize - 1) as usize]
        }
    };
    let mut pb = PathBuilder::new();
    pb.move_to(pts[0].0, pts[0].1);
    let segments = if close { n } else { n - 1 };
    for i in 0..segments as isize {
        let (p0, p1, p2, p3) = (at(i - 1), at(i), at(i + 1), at(i + 2));
        pb.cubic_to(
            p1.0 + (p2.0 - p0.0) / 6.0,
            p1.1 + (p2.1 - p0.1) / 6.0,
            p2.0 - (p3.0 - p1.0) / 6.0,
            p2.1 - (p3.1 - p1.1) / 6.0,
            p2.0,
            p2.1,
        );
    }
    if close {
        pb.close();
    }
    pb.finish()
}

/// A quadratic curve from `a` to `b` bent through `mid` at its middle.
fn bend(a: Pt, mid: Pt, b: Pt) -> Option<Path> {
    let c = (
        2.0 * mid.0 - (a.0 + b.0) / 2.0,
        2.0 * mid.1 - (a.1 + b.1) / 2.0,
    );
    let mut pb = PathBuilder::new();
    pb.move_to(a.0, a.1);
    pb.quad_to(c.0, c.1, b.0, b.1);
    pb.finish()
}

/// Replaces each edge of an outline by an outward bump (curly hair). `centre`
/// says where "inside" is; `amp` is the bump height.
fn scallop(pts: &[Pt], centre: impl Fn(Pt) -> Pt, amp: f32) -> Option<Path> {
    let mut pb = PathBuilder::new();
    let (first, _) = pts.split_first()?;
    pb.move_to(first.0, first.1);
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let m = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        let c = centre(m);
        let (dx, dy) = (m.0 - c.0, m.1 - c.1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-6);
        pb.quad_to(
            m.0 + dx / len * amp * 2.0,
            m.1 + dy / len * amp * 2.0,
            b.0,
            b.1,
        );
    }
    pb.close();
    pb.finish()
}

/// Evenly spread, fixed points in the unit square (a Kronecker sequence), for
/// freckles: "random-looking" without any random draw.
fn spread(i: usize) -> Pt {
    let i = i as f32 + 1.0;
    ((i * 0.754_877_7).fract(), (i * 0.569_840_3).fract())
}

/// Renders one look at `size` × `size` pixels.
pub fn paint(look: &Look, size: u32) -> Image {
    let mut cv = Canvas::new(size);
    background(&mut cv, look);
    shirt_and_neck_base(&mut cv, look);
    hair_back(&mut cv, look);
    neck(&mut cv, look);
    for s in [-1.0, 1.0] {
        ear(&mut cv, look, s);
    }
    face(&mut cv, look);
    skin_marks(&mut cv, look);
    wrinkles(&mut cv, look);
    nose(&mut cv, look);
    for s in [-1.0, 1.0] {
        eye(&mut cv, look, s);
        brow(&mut cv, look, s);
    }
    beard(&mut cv, look);
    mouth(&mut cv, look);
    moustache(&mut cv, look);
    hair_front(&mut cv, look);
    to_image(&cv.pm)
}

fn to_image(pm: &Pixmap) -> Image {
    let mut rgb = Vec::with_capacity(pm.width() as usize * pm.height() as usize * 3);
    for px in pm.pixels() {
        // The background is opaque, so every pixel is; demultiplying keeps this exact anyway.
        let c = px.demultiply();
        rgb.extend_from_slice(&[c.red(), c.green(), c.blue()]);
    }
    Image {
        width: pm.width(),
        height: pm.height(),
        rgb,
    }
}

fn background(cv: &mut Canvas, l: &Look) {
    let Some(rect) = Rect::from_ltrb(0.0, 0.0, 1.0, 1.0) else {
        return;
    };
    let path = PathBuilder::from_rect(rect);
    let shader = LinearGradient::new(
        Point::from_xy(0.0, 0.0),
        Point::from_xy(0.0, 1.0),
        vec![
            stop(0.0, l.background_top, 1.0),
            stop(1.0, l.background_bottom, 1.0),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    )
    .unwrap_or(Shader::SolidColor(colour(l.background_top, 1.0)));
    cv.fill_shader(&path, shader, None);
}

fn shoulder_y(l: &Look) -> f32 {
    l.chin_y + l.head_h * (0.10 - 0.03 * l.child)
}

/// The neckline: where the shirt starts and the neck ends.
fn neckline(l: &Look) -> Vec<Pt> {
    let sy = shoulder_y(l);
    let w = l.neck_hw * 1.15;
    (0..=12)
        .map(|i| {
            let u = i as f32 / 12.0 * 2.0 - 1.0;
            (l.cx + u * w, sy + 0.05 * (1.0 - u * u) - 0.01)
        })
        .collect()
}

fn shirt_and_neck_base(cv: &mut Canvas, l: &Look) {
    let sy = shoulder_y(l);
    let width = 0.44 - 0.08 * l.child + if l.male { 0.03 } else { 0.0 };
    let mut pts = neckline(l);
    pts.reverse();
    let left = pts[pts.len() - 1];
    let right = pts[0];
    let mut outline = vec![right];
    outline.extend([
        (l.cx + width * 0.55, sy + 0.025),
        (l.cx + width * 0.92, sy + 0.07),
        (l.cx + width * 1.08, sy + 0.2),
        (l.cx + width * 1.2, 1.2),
        (l.cx - width * 1.2, 1.2),
        (l.cx - width * 1.08, sy + 0.2),
        (l.cx - width * 0.92, sy + 0.07),
        (l.cx - width * 0.55, sy + 0.025),
        left,
    ]);
    let mut all = outline;
    all.extend(neckline(l).into_iter().skip(1).take(11));
    if let Some(path) = smooth(&all, true) {
        let shader = LinearGradient::new(
            Point::from_xy(0.0, sy),
            Point::from_xy(0.0, 1.0),
            vec![stop(0.0, l.shirt, 1.0), stop(1.0, l.shirt.scale(0.8), 1.0)],
            SpreadMode::Pad,
            Transform::identity(),
        )
        .unwrap_or(Shader::SolidColor(colour(l.shirt, 1.0)));
        cv.fill_shader(&path, shader, None);
    }
    if let Some(path) = smooth(&neckline(l), false) {
        cv.stroke(&path, l.shirt.scale(0.6), 0.8, 0.006);
    }
}

fn neck(cv: &mut Canvas, l: &Look) {
    let top = l.head_top + l.head_h * 0.7;
    let mut pts = vec![(l.cx - l.neck_hw, top), (l.cx + l.neck_hw, top)];
    let line = neckline(l);
    let right = line[line.len() - 1];
    pts.push((l.cx + l.neck_hw * 1.04, (top + right.1) * 0.5 + 0.03));
    pts.extend(line.iter().rev().copied());
    pts.push((l.cx - l.neck_hw * 1.04, (top + right.1) * 0.5 + 0.03));
    if let Some(path) = poly(&pts, true) {
        cv.fill(&path, l.skin.scale(0.93), 1.0);
    }
    // The chin's shadow on the neck (the face covers its upper half).
    cv.glow(
        (l.cx, l.chin_y + l.head_h * 0.01),
        l.neck_hw * 1.3,
        l.head_h * 0.09,
        l.skin.scale(0.55),
        0.45,
    );
    // An old neck shows creases.
    if l.wrinkles > 0.05 {
        for k in 0..2 {
            let y = l.chin_y + l.head_h * (0.07 + 0.05 * k as f32);
            if let Some(p) = bend(
                (l.cx - l.neck_hw * 0.6, y),
                (l.cx, y + 0.006),
                (l.cx + l.neck_hw * 0.6, y),
            ) {
                cv.stroke(&p, l.skin.scale(0.65), 0.5 * l.wrinkles, 0.003);
            }
        }
    }
}

/// The face outline, clockwise from the skull top.
fn face_outline(l: &Look) -> Vec<Pt> {
    const N: usize = 64;
    let mut right = Vec::with_capacity(N + 1);
    for i in 0..=N {
        // Denser samples near the chin, where the curve turns fastest.
        let t = i as f32 / N as f32;
        let v = 1.0 - (1.0 - t) * (1.0 - t) * 0.3 - (1.0 - t) * 0.7;
        let (hw, y) = l.profile(v);
        right.push((l.cx + hw, y));
    }
    let mut pts = right.clone();
    pts.push((l.cx, l.chin_y + l.head_h * 0.006));
    pts.extend(right.iter().rev().map(|&(x, y)| (2.0 * l.cx - x, y)));
    pts
}

fn face(cv: &mut Canvas, l: &Look) {
    let Some(path) = poly(&face_outline(l), true) else {
        return;
    };
    let centre = (l.cx, l.eye_y + l.head_h * 0.06);
    let shader = RadialGradient::new(
        Point::from_xy(0.0, 0.0),
        Point::from_xy(0.0, 0.0),
        1.0,
        vec![
            stop(0.0, l.skin.scale(1.04), 1.0),
            stop(0.6, l.skin, 1.0),
            stop(1.0, l.skin.scale(0.80), 1.0),
        ],
        SpreadMode::Pad,
        Transform::from_row(
            l.cheek_hw * 1.2,
            0.0,
            0.0,
            l.head_h * 0.62,
            centre.0,
            centre.1,
        ),
    )
    .unwrap_or(Shader::SolidColor(colour(l.skin, 1.0)));
    cv.fill_shader(&path, shader, None);
}

fn ear(cv: &mut Canvas, l: &Look, s: f32) {
    let v_top = (l.ear_top - l.head_top) / l.head_h;
    let (hw, _) = l.profile(v_top + 0.05);
    let x0 = l.cx + s * (hw - 0.012);
    let (t, h, out) = (l.ear_top, l.ear_h, l.ear_out + 0.012);
    let lobe = l.ear_lobe.clamp(0.1, 1.2);
    let pts = [
        (x0, t + 0.12 * h),
        (x0 + s * out * 0.6, t - 0.01 * h),
        (x0 + s * out * 1.05, t + 0.18 * h),
        (x0 + s * out * 0.95, t + 0.5 * h),
        (
            x0 + s * out * (0.55 + 0.1 * lobe),
            t + (0.82 + 0.06 * lobe) * h,
        ),
        (x0 + s * out * 0.2, t + (0.95 + 0.05 * lobe) * h),
        (x0 - s * 0.004, t + 0.85 * h),
    ];
    let tinted = l.skin.scale(0.92).lerp(Rgb(0.85, 0.35, 0.35), l.ear_tint);
    if let Some(path) = smooth(&pts, true) {
        cv.fill(&path, tinted, 1.0);
        cv.stroke(&path, l.skin.scale(0.7), 0.35, 0.002);
    }
    // The helix rim and the hollow inside.
    if let Some(p) = smooth(
        &[
            (x0 + s * out * 0.25, t + 0.2 * h),
            (x0 + s * out * 0.7, t + 0.15 * h),
            (x0 + s * out * 0.72, t + 0.45 * h),
            (x0 + s * out * 0.45, t + 0.7 * h),
        ],
        false,
    ) {
        cv.stroke(&p, l.skin.scale(0.6), 0.45, 0.004 + 0.02 * out);
    }
}

fn skin_marks(cv: &mut Canvas, l: &Look) {
    // Blush on the cheeks.
    for s in [-1.0, 1.0] {
        cv.glow(
            (
                l.cx + s * l.eye_dx * 1.05,
                (l.eye_y + l.nose_y) * 0.5 + l.head_h * 0.04,
            ),
            l.cheek_hw * 0.33,
            l.cheek_hw * 0.25,
            Rgb(0.92, 0.38, 0.38),
            l.blush,
        );
        // Shadows under the eyes.
        cv.glow(
            (l.cx + s * l.eye_dx, l.eye_y + l.eye_hh * 1.5),
            l.eye_hw * 0.9,
            l.eye_hh * 0.7,
            Rgb(0.35, 0.22, 0.28),
            l.under_eye,
        );
    }
    // A highlight on the forehead.
    cv.glow(
        (l.cx, l.brow_y - l.head_h * 0.07),
        l.cheek_hw * 0.45,
        l.head_h * 0.05,
        Rgb(1.0, 1.0, 1.0),
        l.shine,
    );
    // Freckles over the nose and cheeks.
    let count = (l.freckles * 60.0) as usize;
    for i in 0..count {
        let (u, w) = spread(i);
        let x = l.cx + (u * 2.0 - 1.0) * l.cheek_hw * 0.72;
        let y = l.eye_y + l.eye_hh * 1.8 + w * (l.nose_y - l.eye_y) * 0.9;
        if let Some(p) = ellipse((x, y), 0.0028, 0.0024) {
            cv.fill(&p, l.skin.scale(0.72).lerp(Rgb(0.55, 0.3, 0.15), 0.3), 0.55);
        }
    }
}

fn wrinkles(cv: &mut Canvas, l: &Look) {
    let crease = l.skin.scale(l.crease_shade);
    let w = l.wrinkles;
    // Smile lines show faintly on every adult and deepen with age.
    let fold = if l.adult { 0.12 + 0.5 * w } else { 0.0 };
    for s in [-1.0, 1.0] {
        if let Some(p) = bend(
            (l.cx + s * (l.ala_hw + 0.012), l.nose_y - l.tip_r * 0.6),
            (
                l.cx + s * (l.mouth_hw + 0.028),
                (l.nose_y + l.mouth_y) * 0.5 + 0.004,
            ),
            (l.cx + s * (l.mouth_hw + 0.014), l.mouth_y + l.lower_lip),
        ) {
            cv.stroke(&p, crease, fold, 0.003 + 0.002 * w);
        }
    }
    if w <= 0.02 {
        return;
    }
    let alpha = 0.55 * w.min(1.0);
    let width = 0.0025 + 0.0015 * w;
    // Forehead lines.
    for k in 0..3 {
        let y = l.brow_y - l.head_h * (0.05 + 0.028 * k as f32);
        if let Some(p) = bend(
            (l.cx - l.cheek_hw * 0.5, y + 0.004),
            (l.cx, y - 0.005),
            (l.cx + l.cheek_hw * 0.5, y + 0.004),
        ) {
            cv.stroke(&p, crease, alpha * (1.0 - 0.25 * k as f32), width);
        }
    }
    for s in [-1.0, 1.0] {
        let ex = l.cx + s * l.eye_dx;
        // Frown lines.
        if let Some(p) = poly(
            &[
                (l.cx + s * 0.012, l.brow_y - 0.004),
                (l.cx + s * 0.01, l.brow_y + 0.022),
            ],
            false,
        ) {
            cv.stroke(&p, crease, alpha * 0.7, width);
        }
        // Crow's feet.
        for k in -1..=1 {
            let dy = k as f32 * 0.011;
            let a = (ex + s * (l.eye_hw + 0.008), l.eye_y + dy * 0.6);
            let b = (ex + s * (l.eye_hw + 0.032), l.eye_y + dy * 1.8);
            if let Some(p) = poly(&[a, b], false) {
                cv.stroke(&p, crease, alpha * 0.8, width * 0.8);
            }
        }
        // Bags under the eyes.
        if let Some(p) = bend(
            (ex - s * l.eye_hw * 0.6, l.eye_y + l.eye_hh * 1.6),
            (ex, l.eye_y + l.eye_hh * 2.3),
            (ex + s * l.eye_hw * 0.8, l.eye_y + l.eye_hh * 1.4),
        ) {
            cv.stroke(&p, crease, alpha * 0.7, width);
        }
        // Marionette lines.
        if let Some(p) = bend(
            (l.cx + s * (l.mouth_hw + 0.004), l.mouth_y + 0.004),
            (l.cx + s * (l.mouth_hw + 0.01), l.mouth_y + 0.03),
            (l.cx + s * (l.mouth_hw + 0.005), l.mouth_y + 0.055),
        ) {
            cv.stroke(&p, crease, alpha * (w - 0.4).max(0.0), width);
        }
    }
}

fn nose(cv: &mut Canvas, l: &Look) {
    let shade = l.skin.scale(0.68);
    let (ny, tr, aw) = (l.nose_y, l.tip_r, l.ala_hw);
    // The bridge's sides, from between the eyes to the wings.
    for s in [-1.0, 1.0] {
        if let Some(p) = bend(
            (l.cx + s * l.bridge_hw * 1.2, l.eye_y),
            (l.cx + s * l.bridge_hw, (l.eye_y + ny) * 0.5),
            (l.cx + s * aw * 0.75, ny - tr * 1.4),
        ) {
            cv.stroke(&p, shade, 0.18, 0.006 + l.bridge_hw * 0.2);
        }
        // The wings (alae).
        if let Some(p) = smooth(
            &[
                (l.cx + s * aw * 0.55, ny - tr * 1.5),
                (l.cx + s * aw * 1.0, ny - tr * 0.6),
                (l.cx + s * aw * 0.85, ny + tr * 0.05),
                (l.cx + s * aw * 0.5, ny + tr * 0.15),
            ],
            false,
        ) {
            cv.stroke(&p, shade, 0.6, 0.0035);
        }
        // Nostrils.
        if let Some(p) = ellipse((l.cx + s * aw * 0.42, ny - tr * 0.05), aw * 0.2, aw * 0.085) {
            cv.fill(&p, l.skin.scale(0.35), 0.75);
        }
    }
    // Shadow under the nose, the tip's colour and its highlight.
    cv.glow(
        (l.cx, ny + tr * 0.35),
        aw * 0.9,
        tr * 0.45,
        l.skin.scale(0.6),
        0.35,
    );
    cv.glow(
        (l.cx, ny - tr * 0.8),
        tr * 1.2,
        tr * 1.0,
        Rgb(0.9, 0.35, 0.35),
        l.nose_tint,
    );
    cv.glow(
        (l.cx + tr * 0.1, ny - tr * 1.0),
        tr * 0.7,
        tr * 0.6,
        Rgb(1.0, 1.0, 1.0),
        0.22,
    );
}

fn eye(cv: &mut Canvas, l: &Look, s: f32) {
    let (ex, ey) = (l.cx + s * l.eye_dx, l.eye_y);
    let (ew, eh) = (l.eye_hw, l.eye_hh);
    let lift = l.eye_tilt * ew;
    let inner = (ex - s * ew, ey + eh * 0.1);
    let outer = (ex + s * ew, ey - lift);
    let upper = |k: f32| -> [Pt; 4] {
        [
            inner,
            (ex - s * ew * 0.45, ey - eh * k),
            (ex + s * ew * 0.4, ey - eh * k - lift * 0.6),
            outer,
        ]
    };
    let up = upper(1.35);
    let mut pb = PathBuilder::new();
    pb.move_to(up[0].0, up[0].1);
    pb.cubic_to(up[1].0, up[1].1, up[2].0, up[2].1, up[3].0, up[3].1);
    pb.cubic_to(
        ex + s * ew * 0.4,
        ey + eh * 0.95 - lift * 0.3,
        ex - s * ew * 0.4,
        ey + eh * 0.95,
        inner.0,
        inner.1,
    );
    pb.close();
    let Some(shape) = pb.finish() else {
        return;
    };
    let curve = |pts: [Pt; 4]| -> Option<Path> {
        let mut pb = PathBuilder::new();
        pb.move_to(pts[0].0, pts[0].1);
        pb.cubic_to(pts[1].0, pts[1].1, pts[2].0, pts[2].1, pts[3].0, pts[3].1);
        pb.finish()
    };

    // The lid crease, fainter on narrow (hooded or monolid) eyes.
    let crease_up = upper(2.3).map(|(x, y)| (x, y - eh * 0.15));
    if let Some(p) = curve(crease_up) {
        let a = 0.35 * (eh / ew / 0.4).clamp(0.2, 1.2);
        cv.stroke(&p, l.skin.scale(0.62), a, 0.0025);
    }

    cv.fill(
        &shape,
        Rgb(0.88, 0.86, 0.83).lerp(Rgb(0.97, 0.96, 0.94), l.eye_shine),
        1.0,
    );
    let mask = cv.mask(&shape);
    let ic = (ex, ey + eh * 0.05);
    let r = l.iris_r;
    if let Some(iris) = ellipse(ic, r, r) {
        let shader = RadialGradient::new(
            Point::from_xy(0.0, 0.0),
            Point::from_xy(0.0, 0.0),
            1.0,
            vec![
                stop(0.0, l.iris.scale(1.45), 1.0),
                stop(0.55, l.iris, 1.0),
                stop(0.85, l.iris.scale(0.82), 1.0),
                stop(1.0, l.iris.scale(1.0 - l.iris_ring), 1.0),
            ],
            SpreadMode::Pad,
            Transform::from_row(r, 0.0, 0.0, r, ic.0, ic.1),
        )
        .unwrap_or(Shader::SolidColor(colour(l.iris, 1.0)));
        cv.fill_shader(&iris, shader, Some(&mask));
    }
    let pr = r * (0.36 + 0.08 * l.child);
    if let Some(p) = ellipse(ic, pr, pr) {
        cv.fill_masked(&p, Rgb(0.03, 0.03, 0.04), 1.0, Some(&mask));
    }
    if let Some(p) = ellipse((ic.0 + r * 0.32, ic.1 - r * 0.32), r * 0.2, r * 0.2) {
        cv.fill_masked(&p, Rgb(1.0, 1.0, 1.0), l.eye_shine, Some(&mask));
    }
    // The upper lid's shadow on the eyeball.
    if let Some(p) = curve(up) {
        cv.stroke_masked(&p, l.skin.scale(0.45), 0.3, eh * 0.7, Some(&mask));
    }
    // Lash line, thicker for longer lashes, with a flick at the outer corner.
    if let Some(p) = curve(up) {
        cv.stroke(&p, l.lash_colour, 0.95, 0.0035 * l.lash);
    }
    if l.lash > 0.8 {
        if let Some(p) = poly(
            &[
                (outer.0 - s * ew * 0.1, outer.1 - eh * 0.05),
                (
                    outer.0 + s * ew * 0.18 * l.lash,
                    outer.1 - eh * 0.35 * l.lash,
                ),
            ],
            false,
        ) {
            cv.stroke(&p, l.lash_colour, 0.9, 0.0028 * l.lash);
        }
    }
    // Lower lid.
    if let Some(p) = curve([
        outer,
        (ex + s * ew * 0.4, ey + eh * 0.95 - lift * 0.3),
        (ex - s * ew * 0.4, ey + eh * 0.95),
        inner,
    ]) {
        cv.stroke(&p, l.skin.scale(0.7), 0.45, 0.002);
    }
}

fn brow(cv: &mut Canvas, l: &Look, s: f32) {
    let ex = l.cx + s * l.eye_dx;
    let a = (
        ex - s * l.eye_hw * 1.0,
        l.brow_y + l.brow_tilt + l.head_h * 0.006,
    );
    let peak = (ex + s * l.eye_hw * 0.3, l.brow_y - l.brow_arch);
    let b = (
        ex + s * l.eye_hw * 1.25,
        l.brow_y + l.brow_arch * 0.4 + l.eye_hh * 0.3,
    );
    let c = (
        2.0 * peak.0 - (a.0 + b.0) / 2.0,
        2.0 * peak.1 - (a.1 + b.1) / 2.0,
    );
    const N: usize = 16;
    let mut top = Vec::with_capacity(N + 1);
    let mut bottom = Vec::with_capacity(N + 1);
    for i in 0..=N {
        let t = i as f32 / N as f32;
        let q = |a: f32, c: f32, b: f32| {
            (1.0 - t) * (1.0 - t) * a + 2.0 * t * (1.0 - t) * c + t * t * b
        };
        let p = (q(a.0, c.0, b.0), q(a.1, c.1, b.1));
        let d = (
            2.0 * (1.0 - t) * (c.0 - a.0) + 2.0 * t * (b.0 - c.0),
            2.0 * (1.0 - t) * (c.1 - a.1) + 2.0 * t * (b.1 - c.1),
        );
        let len = (d.0 * d.0 + d.1 * d.1).sqrt().max(1e-6);
        // Normal pointing up (towards smaller y).
        let n = if d.0 * s > 0.0 {
            (d.1 / len, -d.0 / len)
        } else {
            (-d.1 / len, d.0 / len)
        };
        let n = if n.1 > 0.0 { (-n.0, -n.1) } else { n };
        let th = l.brow_thick * (1.0 - 0.7 * t.powf(1.5)) * (0.75 + 0.25 * (PI * t.min(0.5)).sin());
        top.push((p.0 + n.0 * th * 0.5, p.1 + n.1 * th * 0.5));
        bottom.push((p.0 - n.0 * th * 0.5, p.1 - n.1 * th * 0.5));
    }
    bottom.reverse();
    top.extend(bottom);
    if let Some(path) = smooth(&top, true) {
        let alpha = 0.92 - 0.35 * l.child;
        cv.fill(&path, l.brow, alpha);
    }
}

/// The line where the lips meet, at `u` from -1 (left corner) to 1.
fn lip_line(l: &Look, u: f32) -> f32 {
    l.mouth_y - l.smile + l.smile * 1.2 * (1.0 - u * u)
}

fn mouth(cv: &mut Canvas, l: &Look) {
    const N: usize = 24;
    let gap = l.teeth_open * l.head_h * 0.02;
    let us: Vec<f32> = (0..=N).map(|i| i as f32 / N as f32 * 2.0 - 1.0).collect();
    let x = |u: f32| l.cx + u * l.mouth_hw;
    let open = |u: f32| gap * 0.5 * (1.0 - u * u).max(0.0).sqrt();
    // Upper lip: a Cupid's bow dipping at the middle, tapering to the corners.
    let upper_top = |u: f32| {
        let taper = (1.0 - u.abs().powf(1.8)).max(0.0).powf(0.8);
        lip_line(l, u) - l.upper_lip * taper * (1.0 - 0.25 * (-(u * 6.5).powi(2)).exp())
    };
    let lower_bottom =
        |u: f32| lip_line(l, u) + l.lower_lip * (1.0 - u.abs().powf(2.2)).max(0.0).powf(0.7);

    if gap > 0.0005 {
        let mut pts: Vec<Pt> = us
            .iter()
            .map(|&u| (x(u), lip_line(l, u) - open(u)))
            .collect();
        pts.extend(us.iter().rev().map(|&u| (x(u), lip_line(l, u) + open(u))));
        if let Some(p) = poly(&pts, true) {
            cv.fill(&p, l.teeth, 1.0);
            let mask = cv.mask(&p);
            if let Some(bp) = poly(
                &us.iter()
                    .map(|&u| (x(u), lip_line(l, u) + open(u)))
                    .collect::<Vec<_>>(),
                false,
            ) {
                cv.stroke_masked(&bp, Rgb(0.35, 0.15, 0.15), 0.8, gap * 0.6, Some(&mask));
            }
        }
    }
    let mut upper: Vec<Pt> = us.iter().map(|&u| (x(u), upper_top(u))).collect();
    upper.extend(us.iter().rev().map(|&u| (x(u), lip_line(l, u) - open(u))));
    if let Some(p) = poly(&upper, true) {
        cv.fill(&p, l.lip.scale(0.86), 1.0);
    }
    let mut lower: Vec<Pt> = us
        .iter()
        .map(|&u| (x(u), lip_line(l, u) + open(u)))
        .collect();
    lower.extend(us.iter().rev().map(|&u| (x(u), lower_bottom(u))));
    if let Some(p) = poly(&lower, true) {
        cv.fill(&p, l.lip, 1.0);
    }
    cv.glow(
        (l.cx, lip_line(l, 0.0) + l.lower_lip * 0.5 + open(0.0)),
        l.mouth_hw * 0.35,
        l.lower_lip * 0.25,
        Rgb(1.0, 1.0, 1.0),
        0.25,
    );
    // The line between the lips, darkest at the corners.
    if let Some(p) = poly(
        &us.iter()
            .map(|&u| (x(u * 1.04), lip_line(l, u)))
            .collect::<Vec<_>>(),
        false,
    ) {
        cv.stroke(
            &p,
            l.lip.scale(0.4),
            l.lip_line * (1.0 - l.teeth_open * 0.7),
            0.003,
        );
    }
    for s in [-1.0, 1.0] {
        cv.glow(
            (x(s * 1.03), lip_line(l, s)),
            0.008,
            0.006,
            l.skin.scale(0.5),
            0.35,
        );
        // The philtrum's ridges.
        if let Some(p) = poly(
            &[
                (l.cx + s * l.mouth_hw * 0.12, l.nose_y + l.tip_r * 0.5),
                (x(s * 0.2), upper_top(s * 0.2) - 0.002),
            ],
            false,
        ) {
            cv.stroke(&p, l.skin.scale(0.75), 0.18, 0.004);
        }
    }
}

/// The lower face a beard covers, grown outward by `grow`.
fn beard_region(l: &Look, grow: f32) -> Vec<Pt> {
    let eye_v = (l.eye_y - l.head_top) / l.head_h;
    let v0 = eye_v + 0.2;
    const N: usize = 24;
    let mut right = Vec::with_capacity(N + 1);
    for i in 0..=N {
        let t = i as f32 / N as f32;
        let v = v0 + (1.0 - v0) * t;
        let (hw, y) = l.profile(v);
        let g = grow * (0.3 + 0.7 * t);
        right.push((l.cx + hw + g * 0.6, y + g * t * t));
    }
    let mut pts = right.clone();
    pts.push((l.cx, l.chin_y + grow * 1.3 + 0.004));
    pts.extend(right.iter().rev().map(|&(x, y)| (2.0 * l.cx - x, y)));
    // The inner edge: up the left cheek, around under the mouth, and back.
    let (hw0, y0) = l.profile(v0);
    let below = l.mouth_y + l.lower_lip * 1.6;
    pts.extend([
        (l.cx - hw0 * 0.95, y0),
        (l.cx - (l.mouth_hw + 0.03), l.nose_y + 0.035),
        (l.cx - (l.mouth_hw + 0.01), l.mouth_y),
        (l.cx - l.mouth_hw * 0.6, below),
        (l.cx, below + 0.004),
        (l.cx + l.mouth_hw * 0.6, below),
        (l.cx + (l.mouth_hw + 0.01), l.mouth_y),
        (l.cx + (l.mouth_hw + 0.03), l.nose_y + 0.035),
        (l.cx + hw0 * 0.95, y0),
    ]);
    pts
}

fn beard(cv: &mut Canvas, l: &Look) {
    if l.stubble > 0.0 {
        if let Some(p) = smooth(&beard_region(l, 0.0), true) {
            // Stubble fades out up the cheeks instead of ending at an edge.
            let (_, top) = l.profile((l.eye_y - l.head_top) / l.head_h + 0.16);
            let shader = LinearGradient::new(
                Point::from_xy(0.0, top),
                Point::from_xy(0.0, l.mouth_y),
                vec![
                    stop(0.0, l.facial_hair, 0.0),
                    stop(1.0, l.facial_hair, 0.35 * l.stubble),
                ],
                SpreadMode::Pad,
                Transform::identity(),
            );
            if let Some(shader) = shader {
                cv.fill_shader(&p, shader, None);
            }
        }
    }
    // A beard is hair, not a tint: it is drawn nearly opaque once it is there
    // at all, and grows thicker rather than darker.
    if l.beard > 0.15 {
        let grow = l.head_h * 0.05 * l.beard;
        let pts = beard_region(l, grow);
        let centre = |(_, y): Pt| (l.cx, y.min(l.mouth_y) - 0.02);
        if let Some(p) = scallop(&pts, centre, 0.002) {
            cv.fill(&p, l.facial_hair, 0.6 + 0.35 * l.beard);
            // Short strokes following the growth give the beard its texture.
            let mask = cv.mask(&p);
            for i in 0..90 {
                let (u, w) = spread(i);
                let x = l.cx + (u * 2.0 - 1.0) * (l.jaw_hw + grow);
                let y = l.nose_y + w * (l.chin_y + grow - l.nose_y);
                let lean = (x - l.cx) * 0.25;
                if let Some(s) = poly(&[(x, y), (x + lean * 0.1, y + 0.012)], false) {
                    let shade = if i % 2 == 0 {
                        l.facial_hair.scale(0.7)
                    } else {
                        l.facial_hair.scale(1.25)
                    };
                    cv.stroke_masked(&s, shade, 0.35 * l.beard, 0.0025, Some(&mask));
                }
            }
        }
    }
}

fn moustache(cv: &mut Canvas, l: &Look) {
    if l.moustache <= 0.0 {
        return;
    }
    const N: usize = 16;
    let w = l.mouth_hw * 1.12;
    let mut pts = Vec::with_capacity(2 * N + 2);
    for i in 0..=N {
        let u = i as f32 / N as f32 * 2.0 - 1.0;
        pts.push((l.cx + u * w, l.nose_y + l.tip_r * 0.45 + u * u * 0.012));
    }
    for i in (0..=N).rev() {
        let u = i as f32 / N as f32 * 2.0 - 1.0;
        let lip_u = (u * 1.12).clamp(-1.0, 1.0);
        pts.push((
            l.cx + u * w,
            lip_line(l, lip_u) - l.upper_lip * 0.55 * (1.0 - u.abs().powi(3)) + 0.004 * u * u,
        ));
    }
    if let Some(p) = smooth(&pts, true) {
        cv.fill(&p, l.facial_hair, 0.95 * l.moustache);
    }
}

/// The hair's outer edge over the skull, from the left side over the top to the right.
fn hair_arc(l: &Look) -> (Vec<Pt>, Pt, f32, f32) {
    let cy0 = l.eye_y - l.eye_hh;
    // Short hair hugs the sides; long or full hair stands out.
    let rx = l.cheek_hw + l.hair_vol * (0.55 + 0.45 * l.hair_len.max(l.hair_curl));
    let ry = cy0 - l.head_top + l.hair_vol * 1.5;
    const N: usize = 24;
    let pts = (0..=N)
        .map(|i| {
            let a = PI + PI * i as f32 / N as f32;
            (l.cx + rx * a.cos(), cy0 + ry * a.sin())
        })
        .collect();
    (pts, (l.cx, cy0), rx, ry)
}

/// Fills a hair shape, thinning over the crown as the hairline recedes.
fn fill_hair(cv: &mut Canvas, l: &Look, path: &Path, top: f32, bottom: f32) {
    let crown = (l.hair_density * (1.0 - 1.15 * l.recession)).clamp(0.0, 1.0);
    let shader = LinearGradient::new(
        Point::from_xy(0.0, top),
        Point::from_xy(0.0, bottom),
        vec![
            stop(0.0, l.hair, crown),
            stop(0.5, l.hair, (crown + l.hair_density) * 0.5),
            stop(1.0, l.hair.scale(0.9), l.hair_density),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    );
    if let Some(shader) = shader {
        cv.fill_shader(path, shader, None);
    }
}

fn curl_amp(l: &Look) -> f32 {
    l.hair_curl * l.head_h * 0.012
}

fn hair_back(cv: &mut Canvas, l: &Look) {
    let (arc, (cx, cy0), rx, ry) = hair_arc(l);
    // Short hair ends behind the ears, tucked in; long hair falls and flares.
    let end = l.hair_end_y.max(l.ear_top + l.ear_h * 0.6);
    let long = smoothstep(0.25, 0.55, l.hair_len);
    let bottom_dx = (l.cheek_hw * 0.85)
        + (rx + l.hair_vol * 0.5 + l.hair_len * 0.03 - l.cheek_hw * 0.85) * long;
    // The arc over the skull, down the right side, across the bottom (hidden
    // behind the neck) and up the left side.
    let mut pts = arc;
    const M: usize = 10;
    for i in 1..=M {
        let t = i as f32 / M as f32;
        let dx = rx + (bottom_dx - rx) * t * t;
        pts.push((cx + dx, cy0 + (end - cy0) * t));
    }
    pts.push((cx, end + 0.01));
    for i in (1..=M).rev() {
        let t = i as f32 / M as f32;
        let dx = rx + (bottom_dx - rx) * t * t;
        pts.push((cx - dx, cy0 + (end - cy0) * t));
    }
    let centre = move |(_, y): Pt| (cx, y.clamp(cy0 - ry, cy0));
    let path = if l.hair_curl > 0.1 {
        scallop(&pts, centre, curl_amp(l))
    } else {
        smooth(&pts, true)
    };
    if let Some(p) = path {
        fill_hair(cv, l, &p, cy0 - ry, cy0 + 0.02);
    }
}

fn hair_front(cv: &mut Canvas, l: &Look) {
    let (arc, (cx, cy0), rx, ry) = hair_arc(l);
    let forehead = l.brow_y - l.head_top;
    let hairline = l.head_top + forehead * (0.42 + 0.1 * l.child) + forehead * 0.45 * l.recession;
    let temple_y = l.eye_y - l.eye_hh * 0.8;
    let fringe_y = l.brow_y - l.head_h * 0.03;
    let side = l.cheek_hw * 1.0;
    const N: usize = 28;
    // Leave out the arc's ends so the sides run smoothly down to the temples.
    let mut pts: Vec<Pt> = arc[3..arc.len() - 3].to_vec();
    pts.push((cx + side + 0.004, temple_y));
    for i in 0..=N {
        let u = 1.0 - 2.0 * i as f32 / N as f32;
        // A parting shows as a notch in the hairline, with the hair on the far
        // side swept down across the forehead.
        let part_u = l.hair_part * 0.5;
        let parted = l.hair_part.abs() * (1.0 - l.recession) * (1.0 - l.hair_curl);
        let notch = forehead * 0.12 * (-((u - part_u) / 0.1).powi(2)).exp();
        let swoop = forehead * 0.3 * ((part_u - u) * l.hair_part.signum()).max(0.0);
        let natural = hairline + (temple_y - hairline) * u.abs().powi(4)
            - forehead * 0.18 * l.recession * (PI * u.abs()).sin()
            + parted * (swoop * (1.0 - u.abs().powi(4)) - notch);
        // A fringe swept away from the parting, with a few locks along its edge.
        let sweep = fringe_y - l.head_h * 0.05 * (u * l.hair_part).max(0.0)
            + l.head_h * 0.006 * (u * 9.0 + l.hair_part * 3.0).sin();
        let f = l.fringe * (1.0 - u.abs().powi(4));
        pts.push((cx + u * side * 0.96, natural + (sweep - natural) * f));
    }
    pts.push((cx - side - 0.004, temple_y));
    let centre = move |(_, y): Pt| (cx, if y > cy0 - 0.02 { y } else { cy0 });
    let path = if l.hair_curl > 0.1 {
        scallop(&pts, centre, curl_amp(l))
    } else {
        smooth(&pts, true)
    };
    if let Some(p) = &path {
        fill_hair(cv, l, p, cy0 - ry, hairline);
        // Strands give the hair texture and direction.
        let mask = cv.mask(p);
        let part_x = cx + l.hair_part * l.cheek_hw * 0.45;
        for k in 0..9 {
            let t = k as f32 / 8.0 * 2.0 - 1.0;
            let end_x = cx + t * (rx + 0.01);
            let end_y = cy0 - ry * 0.1 + (1.0 - t.abs()) * (hairline - cy0 + 0.03);
            if let Some(s) = bend(
                (part_x, cy0 - ry + l.hair_vol * 0.6),
                (
                    (part_x + end_x) * 0.5 + t * 0.02,
                    (cy0 - ry + end_y) * 0.5 - 0.02,
                ),
                (end_x, end_y),
            ) {
                let shade = if k % 2 == 0 {
                    l.hair.scale(0.7)
                } else {
                    l.hair.scale(1.2)
                };
                cv.stroke_masked(&s, shade, 0.22 * l.hair_density, 0.004, Some(&mask));
            }
        }
    }
    // Locks that frame the face when the hair is long.
    if l.hair_len > 0.42 {
        let end = l.hair_end_y;
        let flare = l.hair_vol * 0.5 + l.hair_len * 0.03;
        for s in [-1.0, 1.0] {
            let mut pts = vec![
                (cx + s * side * 0.93, temple_y - 0.01),
                (cx + s * rx, cy0),
                (cx + s * (rx + flare * 0.5), (cy0 + end) * 0.5),
                (cx + s * (rx + flare), end),
            ];
            let inner_bottom = if end > l.chin_y {
                l.neck_hw + 0.025
            } else {
                l.profile(((end - l.head_top) / l.head_h).clamp(0.0, 1.0)).0 + 0.006
            };
            pts.push((cx + s * inner_bottom, end - 0.01));
            let eye_v = (l.eye_y - l.head_top) / l.head_h;
            let v_end = ((end - l.head_top) / l.head_h).min(0.98);
            for i in 0..=8 {
                let v = v_end + (eye_v - 0.03 - v_end) * i as f32 / 8.0;
                let (hw, y) = l.profile(v);
                pts.push((cx + s * (hw + 0.006), y));
            }
            let centre = move |(_, y): Pt| (cx, y);
            let path = if l.hair_curl > 0.1 {
                scallop(&pts, centre, curl_amp(l))
            } else {
                smooth(&pts, true)
            };
            if let Some(p) = path {
                fill_hair(cv, l, &p, cy0 - ry, cy0 + 0.02);
            }
        }
    } else if l.male && l.adult && l.hair_density > 0.5 {
        // Short hair: sideburns in front of the ears.
        for s in [-1.0, 1.0] {
            let v = (temple_y - l.head_top) / l.head_h;
            let (hw, _) = l.profile(v + 0.08);
            let x = cx + s * (hw - 0.006);
            let len = 0.03 + 0.03 * l.beard.max(l.stubble);
            if let Some(p) = poly(&[(x, temple_y - 0.01), (x, temple_y + len)], false) {
                cv.stroke(&p, l.facial_hair.lerp(l.hair, 0.5), 0.85, 0.012);
            }
        }
    }
}
