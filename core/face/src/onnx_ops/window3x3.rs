//! The 3×3 window the engine's 3×3 convolutions share (depthwise, few-channel and blocked):
//! stride 1 or 2, padding 0 or 1 on every side, an activation folded in; how a plane is laid
//! out so each of the nine taps reads one contiguous slice at a constant shift; the output
//! grid those slices cover; and the weights grouped per tap.
//!
//! The grid is a little wider than the output (the extra columns are computed and dropped by
//! [`Window3x3::store`]): on 14- and 7-wide maps a loop per output row would be mostly its
//! scalar tail, while one flat loop over the grid vectorises throughout.

use tract_onnx::tract_hir::internal::*;

use super::{Clamp, fma};

/// Stride, padding and folded activation of a routed 3×3 convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window3x3 {
    /// 1 or 2.
    pub stride: usize,
    /// Zero rows and columns on every side: 0 or 1.
    pub pad: usize,
    /// The activation folded in from the graph (`Clamp::NONE` if none).
    pub clamp: Clamp,
}

/// Where the taps read in a plane laid out by [`Window3x3::lay_out`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TapLayout {
    /// Values of the laid-out plane.
    pub len: usize,
    /// Width of the output grid (the output's width plus the dropped columns).
    pub grid_width: usize,
    /// Values of the output grid: output rows × `grid_width`.
    pub grid_len: usize,
    /// Where tap (r, k) starts, at index 3r + k; each reads `grid_len` values from there.
    pub offsets: [usize; 9],
}

impl Window3x3 {
    pub(super) fn output_dim(&self, input: &TDim) -> TDim {
        super::window_dim(input, 3, self.stride, self.pad)
    }

    pub(super) fn output_len(&self, n: usize) -> usize {
        super::window_len(n, 3, self.stride, self.pad)
    }

    /// The layout of an `h×w` plane (see [`Self::lay_out`]).
    ///
    /// Stride 1: the padded plane row after row, then 2 zeros; output (y, j) is grid[y·wp + j]
    /// and tap (r, k) reads plane[y·wp + j + r·wp + k]. Stride 2: four sub-planes of `e`
    /// columns, even rows' even and odd columns (`ee`, `eo`) and odd rows' (`oe`, `oo`), each
    /// followed by a zero, then one padded row of scratch; output (y, j) is grid[y·e + j],
    /// input row 2y + 2 is even row y + 1, column 2j + 2 is even column j + 1.
    pub(super) fn tap_layout(&self, h: usize, w: usize) -> TapLayout {
        let p = self.pad;
        let (hp, wp) = (h + 2 * p, w + 2 * p);
        let oh = self.output_len(h);
        if self.stride == 1 {
            return TapLayout {
                len: hp * wp + 2,
                grid_width: wp,
                grid_len: oh * wp,
                offsets: std::array::from_fn(|t| (t / 3) * wp + t % 3),
            };
        }
        let e = wp.div_ceil(2);
        let (len_even, len_odd) = (hp.div_ceil(2) * e + 1, (hp / 2) * e + 1);
        let (ee, eo, oe) = (0, len_even, 2 * len_even);
        let oo = oe + len_odd;
        TapLayout {
            len: 2 * len_even + 2 * len_odd + wp,
            grid_width: e,
            grid_len: oh * e,
            offsets: [ee, eo, ee + 1, oe, oo, oe + 1, ee + e, eo + e, ee + e + 1],
        }
    }

    /// Lay out the zero-padded `h×w` plane `x` in `buf` ([`Self::tap_layout`]`.len` values;
    /// every one is written, so it need not be zeroed).
    pub(super) fn lay_out(&self, x: &[f32], h: usize, w: usize, buf: &mut [f32]) {
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
            let (plane, tail) = buf.split_at_mut(hp * wp);
            for (r, row) in plane.chunks_exact_mut(wp).enumerate() {
                padded_row(r, row);
            }
            tail.fill(0.0);
            return;
        }
        let e = wp.div_ceil(2);
        let (len_even, len_odd) = (hp.div_ceil(2) * e + 1, (hp / 2) * e + 1);
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
    }

    /// Lay out `x` (`h×w`) in `buf`, resized to the layout's length; returns the layout.
    pub(super) fn lay_out_in(
        &self,
        x: &[f32],
        h: usize,
        w: usize,
        buf: &mut Vec<f32>,
    ) -> TapLayout {
        let layout = self.tap_layout(h, w);
        buf.resize(layout.len, 0.0);
        self.lay_out(x, h, w, buf);
        layout
    }

    /// The nine slices (by kernel row, then column) the taps read from a plane laid out by
    /// [`Self::lay_out`], each `layout.grid_len` long.
    pub(super) fn tap_rows<'a>(&self, buf: &'a [f32], layout: &TapLayout) -> [[&'a [f32]; 3]; 3] {
        let tap = |t: usize| &buf[layout.offsets[t]..layout.offsets[t] + layout.grid_len];
        [0, 1, 2].map(|r| [tap(3 * r), tap(3 * r + 1), tap(3 * r + 2)])
    }

    /// The output plane from the grid: the first `ow` values of each grid row.
    pub(super) fn store(&self, grid: &[f32], grid_width: usize, w: usize, out: &mut [f32]) {
        let ow = self.output_len(w);
        for (dst, src) in out.chunks_exact_mut(ow).zip(grid.chunks_exact(grid_width)) {
            dst.copy_from_slice(&src[..ow]);
        }
    }
}

/// 3×3 weights `[C_out, C_in, 3, 3]` grouped per filter: `taps[co·C_in + ci]` holds the nine
/// taps of that pair, kernel row after row.
pub(super) fn taps_3x3(weights: &Tensor) -> TractResult<Vec<[f32; 9]>> {
    let view = weights.to_plain_array_view::<f32>()?;
    let &[_, _, 3, 3] = view.shape() else {
        bail!("3×3 convolution weights {:?}", view.shape());
    };
    let values: Vec<f32> = view.iter().copied().collect();
    let (taps, _) = values.as_chunks::<9>();
    Ok(taps.to_vec())
}

/// `dst[j] = Σ taps[3r + k]·row_r[k][j]`, every slice `dst.len()` long, summed in that order
/// into 0 (`FIRST`) or onto `dst[j]` (so a convolution over several input channels continues
/// the same chain), then (`LAST`) `+ bias` and the clamp.
#[inline(always)]
fn row3<const FIRST: bool, const LAST: bool>(
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

/// Where a filter's nine taps stand in a sum over input channels: the first starts from 0,
/// the last adds the bias and applies the clamp (a single-channel filter does both).
#[derive(Debug, Clone, Copy)]
pub(super) struct Chain {
    pub first: bool,
    pub last: bool,
}

/// [`row3`] for a place in the chain known only at run time (one instance per case, so each
/// loop stays branch-free).
#[inline(always)]
pub(super) fn taps_into(
    dst: &mut [f32],
    rows: [[&[f32]; 3]; 3],
    taps: &[f32; 9],
    bias: f32,
    clamp: Clamp,
    chain: Chain,
) {
    match (chain.first, chain.last) {
        (true, true) => row3::<true, true>(dst, rows, taps, bias, clamp),
        (true, false) => row3::<true, false>(dst, rows, taps, bias, clamp),
        (false, false) => row3::<false, false>(dst, rows, taps, bias, clamp),
        (false, true) => row3::<false, true>(dst, rows, taps, bias, clamp),
    }
}
