//! Alignment: least-squares similarity transform from the detector's 5 landmarks to an
//! embedder's template, and bilinear warping into the embedder's square chip.
//!
//! Pixel convention (as OpenCV's `warpAffine`): integer coordinates are pixel centres, so a
//! chip pixel (u, v) samples the source at `inverse(u, v)`; samples outside the image are 0.

use image::RgbImage;

use crate::types::{Landmarks, Point};

/// `dst = [a -b; b a] * src + [tx, ty]`: rotation + uniform scale + translation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub a: f64,
    pub b: f64,
    pub tx: f64,
    pub ty: f64,
}

impl Similarity {
    pub const IDENTITY: Similarity = Similarity {
        a: 1.0,
        b: 0.0,
        tx: 0.0,
        ty: 0.0,
    };

    /// Least-squares similarity (Umeyama 1991, without reflection) mapping `src[i]` onto
    /// `dst[i]`. Returns `None` when the source points are degenerate (all coincident) or a
    /// value is not finite.
    pub fn estimate(src: &[Point], dst: &[Point]) -> Option<Similarity> {
        let n = src.len().min(dst.len());
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let (mut sx, mut sy, mut dx, mut dy) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..n {
            sx += src[i].x as f64;
            sy += src[i].y as f64;
            dx += dst[i].x as f64;
            dy += dst[i].y as f64;
        }
        let (sx, sy, dx, dy) = (sx / nf, sy / nf, dx / nf, dy / nf);
        let (mut num_a, mut num_b, mut den) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let (px, py) = (src[i].x as f64 - sx, src[i].y as f64 - sy);
            let (qx, qy) = (dst[i].x as f64 - dx, dst[i].y as f64 - dy);
            num_a += px * qx + py * qy;
            num_b += px * qy - py * qx;
            den += px * px + py * py;
        }
        if den.is_nan() || den <= 1e-12 || !num_a.is_finite() || !num_b.is_finite() {
            return None;
        }
        let a = num_a / den;
        let b = num_b / den;
        let tx = dx - (a * sx - b * sy);
        let ty = dy - (b * sx + a * sy);
        Some(Similarity { a, b, tx, ty })
    }

    pub fn apply(&self, p: Point) -> Point {
        let (x, y) = (p.x as f64, p.y as f64);
        Point::new(
            (self.a * x - self.b * y + self.tx) as f32,
            (self.b * x + self.a * y + self.ty) as f32,
        )
    }

    pub fn scale(&self) -> f64 {
        self.a.hypot(self.b)
    }

    /// Rotation angle in radians.
    pub fn angle(&self) -> f64 {
        self.b.atan2(self.a)
    }

    pub fn inverse(&self) -> Option<Similarity> {
        let d = self.a * self.a + self.b * self.b;
        if d.is_nan() || d <= 1e-18 {
            return None;
        }
        let (a, b) = (self.a / d, -self.b / d);
        Some(Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        })
    }

    /// `self ∘ other` (apply `other` first).
    pub fn compose(&self, other: &Similarity) -> Similarity {
        Similarity {
            a: self.a * other.a - self.b * other.b,
            b: self.b * other.a + self.a * other.b,
            tx: self.a * other.tx - self.b * other.ty + self.tx,
            ty: self.b * other.tx + self.a * other.ty + self.ty,
        }
    }
}

/// An aligned face chip and the transform that produced it (image → chip).
#[derive(Debug, Clone)]
pub struct AlignedFace {
    pub chip: RgbImage,
    pub transform: Similarity,
}

/// Align a face: estimate the similarity from `landmarks` to `template` and warp a
/// `size`×`size` chip. `None` when the landmarks are degenerate.
pub fn align(
    image: &RgbImage,
    landmarks: &Landmarks,
    template: &[[f32; 2]; 5],
    size: u32,
) -> Option<AlignedFace> {
    let dst: Vec<Point> = template.iter().map(|t| Point::new(t[0], t[1])).collect();
    let transform = Similarity::estimate(&landmarks.0, &dst)?;
    let chip = warp(image, &transform, size, size)?;
    Some(AlignedFace { chip, transform })
}

/// Warp `image` into a `width`×`height` output with the image→output transform `t`
/// (bilinear, constant 0 border).
pub fn warp(image: &RgbImage, t: &Similarity, width: u32, height: u32) -> Option<RgbImage> {
    let inv = t.inverse()?;
    let (iw, ih) = (image.width() as i64, image.height() as i64);
    let src = image.as_raw();
    let mut out = RgbImage::new(width, height);
    if iw == 0 || ih == 0 {
        return Some(out);
    }
    let stride = (iw * 3) as usize;
    let out_raw: &mut [u8] = &mut out;
    for v in 0..height as usize {
        // Source position of (0, v) and its per-pixel step along u.
        let x0 = inv.a * 0.0 - inv.b * v as f64 + inv.tx;
        let y0 = inv.b * 0.0 + inv.a * v as f64 + inv.ty;
        for u in 0..width as usize {
            let sx = x0 + inv.a * u as f64;
            let sy = y0 + inv.b * u as f64;
            let px = sample_bilinear(src, stride, iw, ih, sx, sy);
            let o = (v * width as usize + u) * 3;
            out_raw[o..o + 3].copy_from_slice(&px);
        }
    }
    Some(out)
}

#[inline]
fn sample_bilinear(src: &[u8], stride: usize, w: i64, h: i64, x: f64, y: f64) -> [u8; 3] {
    if !(x > -1.0 && y > -1.0 && x < w as f64 && y < h as f64) {
        return [0; 3];
    }
    let xf = floor_above_minus_one(x);
    let yf = floor_above_minus_one(y);
    let (fx, fy) = ((x - xf) as f32, (y - yf) as f32);
    let (x0, y0) = (xf as i64, yf as i64);
    let mut acc = [0f32; 3];
    let taps = [
        (x0, y0, (1.0 - fx) * (1.0 - fy)),
        (x0 + 1, y0, fx * (1.0 - fy)),
        (x0, y0 + 1, (1.0 - fx) * fy),
        (x0 + 1, y0 + 1, fx * fy),
    ];
    for (tx, ty, wgt) in taps {
        if wgt == 0.0 || tx < 0 || ty < 0 || tx >= w || ty >= h {
            continue;
        }
        let o = ty as usize * stride + tx as usize * 3;
        acc[0] += wgt * src[o] as f32;
        acc[1] += wgt * src[o + 1] as f32;
        acc[2] += wgt * src[o + 2] as f32;
    }
    [
        round_to_u8(acc[0]),
        round_to_u8(acc[1]),
        round_to_u8(acc[2]),
    ]
}

// `f64::floor` and `f32::round` are libm calls on baseline x86-64 (no SSE4.1), several per
// pixel here; these give the same values for the ranges that occur.

/// `x.floor()` for finite `x > -1` (the sampler's range).
#[inline]
fn floor_above_minus_one(x: f64) -> f64 {
    let t = x as i64 as f64;
    if t > x { t - 1.0 } else { t }
}

/// `v.round().clamp(0.0, 255.0) as u8` for finite `v` (half away from zero, like `round`).
#[inline]
fn round_to_u8(v: f32) -> u8 {
    if v <= 0.0 {
        return 0;
    }
    let t = (v as i32) as f32;
    let r = if v - t >= 0.5 { t + 1.0 } else { t };
    r.min(255.0) as u8
}

/// How an RGB image becomes a model input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Normalize {
    pub bgr: bool,
    /// value = pixel * mul[c] + add[c] (channel c in the model's order)
    pub mul: [f32; 3],
    pub add: [f32; 3],
}

impl Normalize {
    pub fn from_spec(spec: &crate::model::InputSpec) -> Self {
        let mut mul = [0f32; 3];
        let mut add = [0f32; 3];
        for c in 0..3 {
            let std = if spec.std[c] == 0.0 { 1.0 } else { spec.std[c] };
            mul[c] = 1.0 / (spec.divisor * std);
            add[c] = -spec.mean[c] / std;
        }
        Self {
            bgr: spec.channels == crate::model::Channels::Bgr,
            mul,
            add,
        }
    }
}

/// Resize the region `[x0, x1) × [y0, y1)` (in source pixels, may be fractional) of `image` to
/// `out_w`×`out_h` with bilinear sampling at pixel centres (as OpenCV's `INTER_LINEAR`), and
/// write it as NCHW f32 into `dst` (length `3 * tensor_h * tensor_w`, already zeroed; the
/// resized image lands top-left, the rest stays as padding). Inconsistent sizes write nothing.
#[allow(clippy::too_many_arguments)]
pub(crate) fn resize_region_into_nchw(
    image: &RgbImage,
    region: (f32, f32, f32, f32),
    out_w: usize,
    out_h: usize,
    tensor_w: usize,
    tensor_h: usize,
    norm: Normalize,
    dst: &mut [f32],
) {
    let (rx0, ry0, rx1, ry1) = region;
    let (iw, ih) = (image.width() as usize, image.height() as usize);
    let plane = tensor_w * tensor_h;
    if iw == 0
        || ih == 0
        || out_w == 0
        || out_h == 0
        || out_w > tensor_w
        || out_h > tensor_h
        || dst.len() < 3 * plane
    {
        return;
    }
    let src = image.as_raw();
    let sx = (rx1 - rx0) / out_w as f32;
    let sy = (ry1 - ry0) / out_h as f32;
    // Clamp sampling to the region (like resizing a cropped sub-image).
    let (lox, hix) = (rx0.max(0.0), (rx1 - 1.0).min(iw as f32 - 1.0).max(0.0));
    let (loy, hiy) = (ry0.max(0.0), (ry1 - 1.0).min(ih as f32 - 1.0).max(0.0));
    // Precompute horizontal taps.
    let xs: Vec<(usize, usize, f32)> = (0..out_w)
        .map(|u| {
            let x = (rx0 + (u as f32 + 0.5) * sx - 0.5).clamp(lox, hix.max(lox));
            let x0 = x.floor() as usize;
            let x1 = (x0 + 1).min(iw - 1).min(hix.ceil() as usize);
            (x0.min(iw - 1), x1, x - x0 as f32)
        })
        .collect();
    // Source channel of each model channel.
    let order: [usize; 3] = if norm.bgr { [2, 1, 0] } else { [0, 1, 2] };
    // Each output row in two passes with the same arithmetic as a per-pixel loop: the
    // horizontal interpolation of both source rows into planar scratch (gathers), then the
    // vertical one and the normalisation along contiguous planes (vectorised).
    let mut top = vec![0f32; 3 * out_w];
    let mut bottom = vec![0f32; 3 * out_w];
    for v in 0..out_h {
        let y = (ry0 + (v as f32 + 0.5) * sy - 0.5).clamp(loy, hiy.max(loy));
        let y0 = (y.floor() as usize).min(ih - 1);
        let y1 = (y0 + 1).min(ih - 1).min(hiy.ceil() as usize);
        let fy = y - y0 as f32;
        horizontal_taps(&src[y0 * iw * 3..(y0 + 1) * iw * 3], &xs, &mut top);
        horizontal_taps(&src[y1 * iw * 3..(y1 + 1) * iw * 3], &xs, &mut bottom);
        for (c_out, &c_src) in order.iter().enumerate() {
            let at = c_out * plane + v * tensor_w;
            let out = &mut dst[at..at + out_w];
            let t = &top[c_src * out_w..(c_src + 1) * out_w];
            let b = &bottom[c_src * out_w..(c_src + 1) * out_w];
            let (mul, add) = (norm.mul[c_out], norm.add[c_out]);
            for ((o, &t), &b) in out.iter_mut().zip(t).zip(b) {
                *o = (t + (b - t) * fy) * mul + add;
            }
        }
    }
}

/// One source row (RGB bytes) interpolated at the taps `xs`, written as three planes of
/// `xs.len()` values each into `out`.
fn horizontal_taps(row: &[u8], xs: &[(usize, usize, f32)], out: &mut [f32]) {
    let n = xs.len();
    let (o0, rest) = out.split_at_mut(n);
    let (o1, o2) = rest.split_at_mut(n);
    let pixel = |x: usize| -> [f32; 3] {
        match row.get(x * 3..x * 3 + 3) {
            Some(&[r, g, b]) => [r as f32, g as f32, b as f32],
            _ => [0.0; 3],
        }
    };
    for (((&(x0, x1, fx), o0), o1), o2) in xs.iter().zip(o0).zip(o1).zip(o2) {
        let (a, b) = (pixel(x0), pixel(x1));
        *o0 = a[0] + (b[0] - a[0]) * fx;
        *o1 = a[1] + (b[1] - a[1]) * fx;
        *o2 = a[2] + (b[2] - a[2]) * fx;
    }
}

/// A whole chip (already the model's size) as NCHW f32.
pub(crate) fn chip_to_nchw(chip: &RgbImage, norm: Normalize) -> Vec<f32> {
    let (w, h) = (chip.width() as usize, chip.height() as usize);
    let plane = w * h;
    let mut out = vec![0f32; 3 * plane];
    let order: [usize; 3] = if norm.bgr { [2, 1, 0] } else { [0, 1, 2] };
    for (i, px) in chip.as_raw().chunks_exact(3).enumerate() {
        for (c_out, &c_src) in order.iter().enumerate() {
            out[c_out * plane + i] = px[c_src] as f32 * norm.mul[c_out] + norm.add[c_out];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The sampler and the resize as first written (libm `floor`/`round`, indexed writes):
    // the faster versions above must give the same bits.
    fn reference_sample(src: &[u8], stride: usize, w: i64, h: i64, x: f64, y: f64) -> [u8; 3] {
        if !(x > -1.0 && y > -1.0 && x < w as f64 && y < h as f64) {
            return [0; 3];
        }
        let (xf, yf) = (x.floor(), y.floor());
        let (fx, fy) = ((x - xf) as f32, (y - yf) as f32);
        let (x0, y0) = (xf as i64, yf as i64);
        let mut acc = [0f32; 3];
        for (tx, ty, wgt) in [
            (x0, y0, (1.0 - fx) * (1.0 - fy)),
            (x0 + 1, y0, fx * (1.0 - fy)),
            (x0, y0 + 1, (1.0 - fx) * fy),
            (x0 + 1, y0 + 1, fx * fy),
        ] {
            if wgt == 0.0 || tx < 0 || ty < 0 || tx >= w || ty >= h {
                continue;
            }
            let o = ty as usize * stride + tx as usize * 3;
            for c in 0..3 {
                acc[c] += wgt * src[o + c] as f32;
            }
        }
        acc.map(|a| a.round().clamp(0.0, 255.0) as u8)
    }

    #[allow(clippy::too_many_arguments)]
    fn reference_resize(
        image: &RgbImage,
        (rx0, ry0, rx1, ry1): (f32, f32, f32, f32),
        out_w: usize,
        out_h: usize,
        tensor_w: usize,
        tensor_h: usize,
        norm: Normalize,
        dst: &mut [f32],
    ) {
        let (iw, ih) = (image.width() as usize, image.height() as usize);
        let src = image.as_raw();
        let sx = (rx1 - rx0) / out_w as f32;
        let sy = (ry1 - ry0) / out_h as f32;
        let (lox, hix) = (rx0.max(0.0), (rx1 - 1.0).min(iw as f32 - 1.0).max(0.0));
        let (loy, hiy) = (ry0.max(0.0), (ry1 - 1.0).min(ih as f32 - 1.0).max(0.0));
        let plane = tensor_w * tensor_h;
        let order: [usize; 3] = if norm.bgr { [2, 1, 0] } else { [0, 1, 2] };
        for v in 0..out_h {
            let y = (ry0 + (v as f32 + 0.5) * sy - 0.5).clamp(loy, hiy.max(loy));
            let y0 = (y.floor() as usize).min(ih - 1);
            let y1 = (y0 + 1).min(ih - 1).min(hiy.ceil() as usize);
            let fy = y - y0 as f32;
            for u in 0..out_w {
                let x = (rx0 + (u as f32 + 0.5) * sx - 0.5).clamp(lox, hix.max(lox));
                let x0 = x.floor() as usize;
                let x1 = (x0 + 1).min(iw - 1).min(hix.ceil() as usize);
                let (x0, fx) = (x0.min(iw - 1), x - x0 as f32);
                for (c_out, &c) in order.iter().enumerate() {
                    let px = |yy: usize, xx: usize| src[(yy * iw + xx) * 3 + c] as f32;
                    let top = px(y0, x0) + (px(y0, x1) - px(y0, x0)) * fx;
                    let bot = px(y1, x0) + (px(y1, x1) - px(y1, x0)) * fx;
                    let val = top + (bot - top) * fy;
                    dst[c_out * plane + v * tensor_w + u] = val * norm.mul[c_out] + norm.add[c_out];
                }
            }
        }
    }

    fn noise_image(w: u32, h: u32, seed: u64) -> RgbImage {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        RgbImage::from_fn(w, h, |_, _| image::Rgb(rng.random::<[u8; 3]>()))
    }

    #[test]
    fn warp_gives_the_reference_samplers_bits() {
        use rand::{Rng, SeedableRng};
        let img = noise_image(97, 61, 7);
        let (w, h) = (img.width() as i64, img.height() as i64);
        let stride = img.width() as usize * 3;
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for _ in 0..200_000 {
            // Inside, on the edges, just outside, integral and half-integral positions.
            let x = rng.random_range(-2.0..(w as f64 + 1.0));
            let y = rng.random_range(-2.0..(h as f64 + 1.0));
            let (x, y) = match rng.random_range(0..4) {
                0 => (x.round(), y),
                1 => (x.floor() + 0.5, y.floor() + 0.5),
                _ => (x, y),
            };
            assert_eq!(
                sample_bilinear(img.as_raw(), stride, w, h, x, y),
                reference_sample(img.as_raw(), stride, w, h, x, y),
                "at ({x}, {y})"
            );
        }
        for v in [
            0.0f32, 0.49999997, 0.5, 1.5, 2.5, 254.49998, 254.5, 255.0, 300.0, -0.5, -3.0,
        ] {
            assert_eq!(round_to_u8(v), v.round().clamp(0.0, 255.0) as u8, "{v}");
        }
        for x in [-0.999, -0.5, -0.0, 0.0, 0.25, 1.0, 1.999_999, 96.0, 96.5] {
            assert_eq!(floor_above_minus_one(x), x.floor(), "{x}");
        }
    }

    #[test]
    fn resize_gives_the_reference_bits() {
        let img = noise_image(131, 77, 3);
        let norm = Normalize {
            bgr: true,
            mul: [1.0 / 127.5, 1.0 / 128.0, 0.0078125],
            add: [-1.0, -0.5, 0.25],
        };
        let regions = [
            (0.0, 0.0, 131.0, 77.0),
            (-20.5, -10.25, 90.0, 60.0),
            (40.3, 12.7, 140.0, 90.0),
            (10.0, 10.0, 11.0, 11.0),
        ];
        for region in regions {
            for (out_w, out_h, tw, th) in [
                (64, 32, 64, 64),
                (80, 80, 80, 80),
                (33, 17, 40, 20),
                (200, 150, 224, 160),
            ] {
                let mut ours = vec![0f32; 3 * tw * th];
                let mut reference = vec![0f32; 3 * tw * th];
                resize_region_into_nchw(&img, region, out_w, out_h, tw, th, norm, &mut ours);
                reference_resize(&img, region, out_w, out_h, tw, th, norm, &mut reference);
                let same = ours
                    .iter()
                    .zip(&reference)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{region:?} -> {out_w}x{out_h} in {tw}x{th}");
            }
        }
    }

    fn pts(v: &[(f32, f32)]) -> Vec<Point> {
        v.iter().map(|&(x, y)| Point::new(x, y)).collect()
    }

    #[test]
    fn recovers_a_known_similarity_exactly() {
        let truth = Similarity {
            a: 1.7 * 0.3f64.cos(),
            b: 1.7 * 0.3f64.sin(),
            tx: 12.5,
            ty: -40.0,
        };
        let src = pts(&[
            (30.0, 50.0),
            (70.0, 52.0),
            (50.0, 70.0),
            (35.0, 90.0),
            (68.0, 91.0),
        ]);
        let dst: Vec<Point> = src.iter().map(|&p| truth.apply(p)).collect();
        let est = Similarity::estimate(&src, &dst).expect("estimate");
        assert!((est.a - truth.a).abs() < 1e-5, "{est:?}");
        assert!((est.b - truth.b).abs() < 1e-5);
        assert!((est.tx - truth.tx).abs() < 1e-3);
        assert!((est.ty - truth.ty).abs() < 1e-3);
        assert!((est.scale() - 1.7).abs() < 1e-5);
        assert!((est.angle() - 0.3).abs() < 1e-5);
        let round = est.inverse().expect("inverse").compose(&est);
        assert!((round.a - 1.0).abs() < 1e-9 && round.b.abs() < 1e-9);
        assert!(round.tx.abs() < 1e-9 && round.ty.abs() < 1e-9);
    }

    #[test]
    fn least_squares_averages_noise_and_never_reflects() {
        // Mirror image points: the best similarity cannot reflect, so it is not exact.
        let src = pts(&[(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)]);
        let dst = pts(&[(0.0, 0.0), (-10.0, 0.0), (0.0, 10.0)]);
        let est = Similarity::estimate(&src, &dst).expect("estimate");
        let err: f32 = src
            .iter()
            .zip(&dst)
            .map(|(&s, &d)| est.apply(s).distance(d))
            .sum();
        assert!(err > 1.0);
        assert!(Similarity::estimate(&pts(&[(1.0, 1.0); 5]), &pts(&[(2.0, 3.0); 5])).is_none());
        assert!(Similarity::estimate(&pts(&[(f32::NAN, 1.0), (2.0, 2.0)]), &src).is_none());
    }

    #[test]
    fn warp_moves_a_marked_pixel_where_the_transform_says() {
        let mut img = RgbImage::new(200, 100);
        for y in 40..44 {
            for x in 120..124 {
                img.put_pixel(x, y, image::Rgb([250, 10, 20]));
            }
        }
        // Rotate 90° and scale 0.5 about the origin, then shift.
        let t = Similarity {
            a: 0.0,
            b: 0.5,
            tx: 60.0,
            ty: 5.0,
        };
        let out = warp(&img, &t, 80, 80).expect("warp");
        let centre = t.apply(Point::new(121.5, 41.5));
        let px = out.get_pixel(centre.x.round() as u32, centre.y.round() as u32);
        assert!(px[0] > 150 && px[1] < 60, "{px:?} at {centre:?}");
        // Far away from the mark: black.
        assert_eq!(out.get_pixel(5, 75)[0], 0);
    }

    #[test]
    fn align_maps_landmarks_onto_template() {
        let template = [
            [38.2946, 51.6963],
            [73.5318, 51.5014],
            [56.0252, 71.7366],
            [41.5493, 92.3655],
            [70.7299, 92.2041],
        ];
        // Landmarks = template transformed by a known similarity.
        let t = Similarity {
            a: 2.0 * 0.2f64.cos(),
            b: 2.0 * 0.2f64.sin(),
            tx: 100.0,
            ty: 30.0,
        };
        let lm = Landmarks(std::array::from_fn(|i| {
            t.apply(Point::new(template[i][0], template[i][1]))
        }));
        let img = RgbImage::from_pixel(400, 400, image::Rgb([90, 90, 90]));
        let a = align(&img, &lm, &template, 112).expect("align");
        assert_eq!(a.chip.dimensions(), (112, 112));
        for (landmark, target) in lm.0.iter().zip(template.iter()) {
            let p = a.transform.apply(*landmark);
            assert!(p.distance(Point::new(target[0], target[1])) < 1e-3);
        }
        assert_eq!(a.chip.get_pixel(56, 56)[0], 90);
    }

    #[test]
    fn resize_matches_pixel_centre_bilinear() {
        // A 4x1 ramp halved: OpenCV INTER_LINEAR gives the means of pixel pairs.
        let mut img = RgbImage::new(4, 1);
        for (x, v) in [0u8, 100, 200, 250].iter().enumerate() {
            img.put_pixel(x as u32, 0, image::Rgb([*v, 0, 0]));
        }
        let norm = Normalize {
            bgr: false,
            mul: [1.0; 3],
            add: [0.0; 3],
        };
        let mut out = vec![0f32; 3 * 2 * 4];
        resize_region_into_nchw(&img, (0.0, 0.0, 4.0, 1.0), 2, 1, 4, 2, norm, &mut out);
        assert!((out[0] - 50.0).abs() < 1e-4, "{out:?}");
        assert!((out[1] - 225.0).abs() < 1e-4);
        assert_eq!(out[2], 0.0); // padding untouched
    }
}
