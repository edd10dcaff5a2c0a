//! Depthwise 3×3 convolution in NCHW (one filter per channel, `group = C`), stride 1 or 2,
//! padding 0 or 1 on every side, as MobileFaceNet's 16 and YuNet's 20 such layers use it.
//!
//! tract runs these as `DepthWiseConv`: a vectorised loop over the interior of the map and a
//! scalar one, re-deriving the patch geometry per pixel, over the border zones. On
//! MobileFaceNet's small maps (56² down to 7²) the border is a large share of the pixels, and
//! callgrind put the scalar fallback at a third of the embedding. Here each channel is copied
//! once into a zero-bordered plane (for stride 2 split into even and odd rows and columns), so
//! the whole output is one branch-free loop of nine multiply-adds over contiguous slices, which
//! the compiler vectorises (AVX2/FMA on the x86-64-v3 builds, NEON on ARM, plain SSE2 or
//! scalar elsewhere).
//!
//! The nine taps are summed in row-major order into a zero accumulator and the bias is added
//! last; tract's order differs, so results agree to float rounding (the tests bound it).

use tract_onnx::tract_hir::internal::*;

use super::{Clamp, fma};

/// The inference-time node: inputs x, weights `[C, 1, 3, 3]`, optional bias `[C]`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct DepthwiseNode(pub Depthwise3x3);

impl Expansion for DepthwiseNode {
    fn name(&self) -> StaticName {
        "FaceIdDepthwise3x3".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        super::conv_rules("depthwise convolution", s, inputs, outputs)?;
        s.equals(&inputs[1].shape[0], &inputs[0].shape[1])?;
        let op = self.0;
        super::spatial_shape_rule(s, inputs, outputs, move |d| op.output_dim(d))
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        model.wire_node(name, self.0, inputs)
    }
}

/// The typed op: NCHW f32 in, `N×C×((H+2p−3)/s+1)×((W+2p−3)/s+1)` out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Depthwise3x3 {
    /// 1 or 2.
    pub stride: usize,
    /// Zero rows and columns on every side: 0 or 1.
    pub pad: usize,
    /// The activation folded in from the graph (`Clamp::NONE` if none).
    pub clamp: Clamp,
}

impl Depthwise3x3 {
    pub(super) fn output_dim(&self, input: &TDim) -> TDim {
        super::window_dim(input, 3, self.stride, self.pad)
    }

    pub(super) fn output_len(&self, n: usize) -> usize {
        super::window_len(n, 3, self.stride, self.pad)
    }
}

impl Op for Depthwise3x3 {
    fn name(&self) -> StaticName {
        "FaceIdDepthwise3x3".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Depthwise3x3 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let weights = inputs[1].to_plain_array_view::<f32>()?;
        let &[c, 1, 3, 3] = weights.shape() else {
            bail!("depthwise convolution weights {:?}", weights.shape());
        };
        let x_channels = inputs[0].shape().get(1).copied();
        if x_channels != Some(c) {
            bail!("depthwise convolution: {x_channels:?} input channels for {c} filters");
        }
        let taps: Vec<[f32; 9]> = weights
            .iter()
            .copied()
            .collect::<Vec<f32>>()
            .chunks_exact(9)
            .map(|t| std::array::from_fn(|k| t[k]))
            .collect();
        let bias: Vec<f32> = match inputs.get(2) {
            Some(b) => b.to_plain_array_view::<f32>()?.iter().copied().collect(),
            None => vec![0.0; c],
        };
        if bias.len() != c {
            bail!(
                "depthwise convolution: {} biases for {c} filters",
                bias.len()
            );
        }
        let op = *self;
        let out_dims = |[n, c, h, w]: [usize; 4]| [n, c, op.output_len(h), op.output_len(w)];
        super::eval_rank4(
            &inputs[0],
            "depthwise convolution",
            out_dims,
            |[_, _, h, w], x, out| {
                let (oh, ow) = (op.output_len(h), op.output_len(w));
                if oh == 0 || ow == 0 {
                    return;
                }
                let (mut planes, mut grid) = (Vec::new(), Vec::new());
                for (i, (x, out)) in x
                    .chunks_exact(h * w)
                    .zip(out.chunks_exact_mut(oh * ow))
                    .enumerate()
                {
                    let ch = i % c;
                    let (taps, bias) = (&taps[ch], bias[ch]);
                    op.channel(x, [h, w], taps, bias, out, &mut planes, &mut grid);
                }
            },
        )
    }
}

impl Depthwise3x3 {
    /// One channel: `x` is `h×w`, `out` is the output plane. `planes` and `grid` are scratch
    /// reused across calls.
    ///
    /// The padded plane is laid out so that each of the nine taps reads one contiguous slice
    /// shifted by a constant ([`Self::lay_out`], [`Self::tap_rows`]), and the whole output is
    /// computed as one flat loop over a grid a little wider than the output (the extra columns
    /// are computed and dropped): on 14- and 7-wide maps a loop per output row would be mostly
    /// its scalar tail.
    #[allow(clippy::too_many_arguments)]
    fn channel(
        &self,
        x: &[f32],
        [h, w]: [usize; 2],
        taps: &[f32; 9],
        bias: f32,
        out: &mut [f32],
        planes: &mut Vec<f32>,
        grid: &mut Vec<f32>,
    ) {
        let grid_width = self.lay_out(x, h, w, planes);
        grid.resize(self.output_len(h) * grid_width, 0.0);
        let rows = self.tap_rows(planes, h, w);
        row3::<true, true>(grid, rows, taps, bias, self.clamp);
        self.store(grid, grid_width, w, out);
    }

    /// Lay out the zero-padded `h×w` plane `x` in `buf` for [`Self::tap_rows`]; returns the
    /// width of the output grid (the output's width plus the dropped columns).
    ///
    /// Stride 1: the padded plane row after row, then 2 zeros; output (y, j) is grid[y·wp + j]
    /// and tap (r, k) reads plane[y·wp + j + r·wp + k]. Stride 2: four sub-planes of `e`
    /// columns, even rows' even and odd columns (`ee`, `eo`) and odd rows' (`oe`, `oo`), each
    /// followed by a zero; output (y, j) is grid[y·e + j], input row 2y + 2 is even row y + 1,
    /// column 2j + 2 is even column j + 1. Every value is written, so `buf` is only resized.
    pub(super) fn lay_out(&self, x: &[f32], h: usize, w: usize, buf: &mut Vec<f32>) -> usize {
        let p = self.pad;
        let (hp, wp) = (h + 2 * p, w + 2 * p);
        // Row `r` of the zero-padded plane, written into `dst` (`wp` values).
        let padded_row = |r: usize, dst: &mut [f32]| {
            if r < p || r >= h + p {
                dst.fill(0.0);
            } else {
                dst[..p].fill(0.0);
                dst[p..p + w].copy_from_slice(&x[(r - p) * w..(r - p + 1) * w]);
                dst[p + w..].fill(0.0);
            }
        };
        if self.stride == 1 {
            buf.resize(hp * wp + 2, 0.0);
            let (plane, tail) = buf.split_at_mut(hp * wp);
            for (r, row) in plane.chunks_exact_mut(wp).enumerate() {
                padded_row(r, row);
            }
            tail.fill(0.0);
            return wp;
        }
        let e = wp.div_ceil(2);
        let (len_even, len_odd) = (hp.div_ceil(2) * e + 1, (hp / 2) * e + 1);
        // The four sub-planes, then one padded row as scratch.
        buf.resize(2 * len_even + 2 * len_odd + wp, 0.0);
        let (ee, rest) = buf.split_at_mut(len_even);
        let (eo, rest) = rest.split_at_mut(len_even);
        let (oe, rest) = rest.split_at_mut(len_odd);
        let (oo, line) = rest.split_at_mut(len_odd);
        for r in 0..hp {
            padded_row(r, line);
            let (evens, odds) = if r % 2 == 0 {
                (&mut *ee, &mut *eo)
            } else {
                (&mut *oe, &mut *oo)
            };
            let at = (r / 2) * e;
            for (d, pair) in evens[at..at + e].iter_mut().zip(line.chunks(2)) {
                *d = pair[0];
            }
            let odd_row = &mut odds[at..at + e];
            odd_row.fill(0.0);
            for (d, pair) in odd_row.iter_mut().zip(line.chunks_exact(2)) {
                *d = pair[1];
            }
        }
        ee[len_even - 1] = 0.0;
        eo[len_even - 1] = 0.0;
        oe[len_odd - 1] = 0.0;
        oo[len_odd - 1] = 0.0;
        e
    }

    /// The nine slices (by kernel row, then column) the taps read from a plane laid out by
    /// [`Self::lay_out`], each as long as the output grid.
    pub(super) fn tap_rows<'a>(&self, buf: &'a [f32], h: usize, w: usize) -> [[&'a [f32]; 3]; 3] {
        let p = self.pad;
        let (hp, wp) = (h + 2 * p, w + 2 * p);
        let oh = self.output_len(h);
        if self.stride == 1 {
            let n = oh * wp;
            let tap = |r: usize, k: usize| &buf[r * wp + k..r * wp + k + n];
            return [0, 1, 2].map(|r| [tap(r, 0), tap(r, 1), tap(r, 2)]);
        }
        let e = wp.div_ceil(2);
        let (len_even, len_odd) = (hp.div_ceil(2) * e + 1, (hp / 2) * e + 1);
        let n = oh * e;
        let (ee, rest) = buf.split_at(len_even);
        let (eo, rest) = rest.split_at(len_even);
        let (oe, rest) = rest.split_at(len_odd);
        let oo = &rest[..len_odd];
        [
            [&ee[..n], &eo[..n], &ee[1..n + 1]],
            [&oe[..n], &oo[..n], &oe[1..n + 1]],
            [&ee[e..e + n], &eo[e..e + n], &ee[e + 1..e + 1 + n]],
        ]
    }

    /// The output plane from the grid: the first `ow` values of each grid row.
    pub(super) fn store(&self, grid: &[f32], grid_width: usize, w: usize, out: &mut [f32]) {
        let ow = self.output_len(w);
        for (dst, src) in out.chunks_exact_mut(ow).zip(grid.chunks_exact(grid_width)) {
            dst.copy_from_slice(&src[..ow]);
        }
    }
}

/// `dst[j] = Σ taps[3r + k]·row_r[k][j]`, every slice `dst.len()` long, summed in that order
/// into 0 (`FIRST`) or onto `dst[j]` (so a convolution over several input channels continues
/// the same chain), then (`LAST`) `+ bias` and the clamp.
#[inline(always)]
pub(super) fn row3<const FIRST: bool, const LAST: bool>(
    dst: &mut [f32],
    [a, b, c]: [[&[f32]; 3]; 3],
    t: &[f32; 9],
    bias: f32,
    clamp: Clamp,
) {
    let n = dst.len();
    let (a0, a1, a2) = (&a[0][..n], &a[1][..n], &a[2][..n]);
    let (b0, b1, b2) = (&b[0][..n], &b[1][..n], &b[2][..n]);
    let (c0, c1, c2) = (&c[0][..n], &c[1][..n], &c[2][..n]);
    for (j, d) in dst.iter_mut().enumerate() {
        let mut acc = if FIRST { 0.0 } else { *d };
        acc = fma(t[0], a0[j], acc);
        acc = fma(t[1], a1[j], acc);
        acc = fma(t[2], a2[j], acc);
        acc = fma(t[3], b0[j], acc);
        acc = fma(t[4], b1[j], acc);
        acc = fma(t[5], b2[j], acc);
        acc = fma(t[6], c0[j], acc);
        acc = fma(t[7], c1[j], acc);
        acc = fma(t[8], c2[j], acc);
        *d = if LAST { clamp.apply(acc + bias) } else { acc };
    }
}

impl TypedOp for Depthwise3x3 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (x, w) = (inputs[0], inputs[1]);
        if x.datum_type != f32::datum_type() || x.rank() != 4 || w.rank() != 4 {
            bail!("depthwise convolution expects f32 NCHW, got {x:?} and weights {w:?}");
        }
        Ok(tvec!(f32::fact([
            x.shape[0].clone(),
            x.shape[1].clone(),
            self.output_dim(&x.shape[2]),
            self.output_dim(&x.shape[3]),
        ])))
    }

    as_op!();
}
