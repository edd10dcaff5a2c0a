//! 3×3 convolution (stride 1 or 2, padding 0 or 1) over many input channels, on a CPU with
//! AVX-512: dlib's ResNet, whose 29 such layers (32–256 channels on 35² down to 1² maps) are
//! nearly all of its multiply-adds.
//!
//! tract lowers these to a pad, im2col and its matrix product (93 % of dlib's time at 2.1×
//! onnxruntime's). Here each input plane is laid out once as the depthwise kernel lays out its
//! planes ([`Window3x3::lay_out`]), so each of the nine taps of an input channel is one
//! contiguous slice at a constant shift, over a grid slightly wider than the output; no column
//! matrix is built. The product is the wide pointwise kernel's register block turned around:
//! 12 grid positions × 32 output channels in 24 AVX-512 accumulators, one step per (input
//! channel, tap) loading 32 weights (two vectors, packed when the op is wired) and
//! broadcasting the 12 input values. Output channels in the lanes keep the block full on the
//! small maps of the deep layers (a 4×4 map is 24 grid positions; with positions in the lanes
//! a 32-wide block would compute 32).
//!
//! Summation order as tract's im2col (input channel, then kernel row, then column, into a zero
//! accumulator, fused multiply-add, bias last), so results agree with tract's to float
//! rounding (the tests bound the difference). Routed only where AVX-512 runs: elsewhere these
//! layers stay with tract.

use tract_onnx::tract_hir::internal::*;

use super::window3x3::{TapLayout, Window3x3};
use super::{Kernel, Packed, accumulate};

const WHAT: &str = "blocked 3×3 convolution";

/// Fewer input channels go to the few-channel kernel ([`super::conv3x3`]).
pub(super) const MIN_INPUT_CHANNELS: usize = super::conv3x3::MAX_INPUT_CHANNELS + 1;

/// Grid positions per block (broadcast) and output channels per block (vector lanes).
const POS: usize = 12;
const LANES: usize = 32;

/// Weights `[C_out, C_in, 3, 3]` (row-major) packed per block of [`LANES`] output channels:
/// block `b` is `c_in · 9` rows in the order the kernel reads them (input channel, then tap),
/// row `ci · 9 + t` holding tap `t` of input channel `ci` for output channels
/// `b·LANES … b·LANES + LANES − 1`; channels past `C_out` are 0 (computed, never stored).
fn pack(weights: &[f32], c_out: usize, c_in: usize) -> Vec<[f32; LANES]> {
    let mut packed = vec![[0f32; LANES]; c_out.div_ceil(LANES) * c_in * 9];
    for (co, filter) in weights.chunks_exact(c_in * 9).enumerate().take(c_out) {
        let (b, lane) = (co / LANES, co % LANES);
        let rows = &mut packed[b * c_in * 9..(b + 1) * c_in * 9];
        for (row, &w) in rows.iter_mut().zip(filter) {
            row[lane] = w;
        }
    }
    packed
}

/// The typed op: the 3×3 window (stride, padding, folded activation) and the packed weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conv3x3Blocked {
    pub window: Window3x3,
    c_in: usize,
    weights: Packed<LANES>,
}

impl Conv3x3Blocked {
    /// The op for weights `[C_out, C_in, 3, 3]` and `C_out` biases (wired by
    /// [`super::conv3x3`]'s node).
    pub(super) fn new(window: Window3x3, weights: &Tensor, bias: Vec<f32>) -> TractResult<Self> {
        let &[c_out, c_in, 3, 3] = weights.shape() else {
            bail!("{WHAT} weights {:?}", weights.shape());
        };
        if c_out == 0 || c_in == 0 || bias.len() != c_out {
            bail!(
                "{WHAT}: weights {:?}, {} biases",
                weights.shape(),
                bias.len()
            );
        }
        let values: Vec<f32> = weights
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect();
        Ok(Conv3x3Blocked {
            window,
            c_in,
            weights: Packed::new(pack(&values, c_out, c_in), bias),
        })
    }
}

impl Op for Conv3x3Blocked {
    fn name(&self) -> StaticName {
        "FaceIdConv3x3Blocked".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Conv3x3Blocked {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (c_in, c_out) = (self.c_in, self.weights.bias.len());
        super::check_input_channels(&inputs[0], c_in, WHAT)?;
        let window = self.window;
        let out_dims =
            |[n, _, h, w]: [usize; 4]| [n, c_out, window.output_len(h), window.output_len(w)];
        super::eval_rank4(&inputs[0], WHAT, out_dims, |[_, _, h, w], x, out| {
            let (oh, ow) = (window.output_len(h), window.output_len(w));
            if oh == 0 || ow == 0 {
                return;
            }
            let layout = window.tap_layout(h, w);
            // Every plane laid out, then zeros a block of positions may read past the last
            // one (those positions are computed and dropped).
            let mut planes = vec![0f32; c_in * layout.len + POS];
            for (x, out) in x
                .chunks_exact(c_in * h * w)
                .zip(out.chunks_exact_mut(c_out * oh * ow))
            {
                for (plane, buf) in x
                    .chunks_exact(h * w)
                    .zip(planes.chunks_exact_mut(layout.len))
                {
                    window.lay_out(plane, h, w, buf);
                }
                super::with_avx512(Blocked {
                    op: self,
                    planes: &planes,
                    layout,
                    ow,
                    out,
                });
            }
        })
    }
}

/// One image through `op`: `planes` holds its input channels laid out by
/// [`Window3x3::lay_out`] (`layout.len` values each, then [`POS`] values of slack), `out` gets
/// its output planes of `ow`-wide rows.
struct Blocked<'a> {
    op: &'a Conv3x3Blocked,
    planes: &'a [f32],
    layout: TapLayout,
    ow: usize,
    out: &'a mut [f32],
}

impl Kernel for Blocked<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        self.compute()
    }
}

impl Blocked<'_> {
    /// Per block of output channels (its weights stay in cache), per block of grid
    /// positions: the sum over input channels and taps in registers, then bias, clamp and
    /// the positions that are output pixels stored.
    #[inline(always)]
    fn compute(self) {
        let Blocked {
            op,
            planes,
            layout,
            ow,
            out,
        } = self;
        let (c_in, clamp) = (op.c_in, op.window.clamp);
        let (weights, bias) = (&op.weights.weights, &op.weights.bias);
        let (c_out, n, gw) = (bias.len(), layout.grid_len, layout.grid_width);
        let out_plane = out.len() / c_out.max(1);
        let offsets = layout.offsets;
        for (b, w) in weights.chunks_exact(c_in * 9).enumerate() {
            let co = b * LANES;
            let lanes = c_out.saturating_sub(co).min(LANES);
            let mut q = 0;
            while q < n {
                let mut acc = [[0f32; LANES]; POS];
                for (ci, taps) in w.chunks_exact(9).enumerate() {
                    let Some(plane) = planes.get(ci * layout.len + q..) else {
                        continue;
                    };
                    for (&offset, tap) in offsets.iter().zip(taps) {
                        if let Some(x) = plane.get(offset..).and_then(<[f32]>::first_chunk) {
                            accumulate::<POS, LANES>(&mut acc, x, tap);
                        }
                    }
                }
                for (i, a) in acc.iter().enumerate().take(n - q) {
                    let (y, x) = ((q + i) / gw, (q + i) % gw);
                    if x >= ow {
                        continue;
                    }
                    let at = y * ow + x;
                    for (j, (&v, &bias)) in a.iter().zip(&bias[co..co + lanes]).enumerate() {
                        if let Some(d) = out.get_mut((co + j) * out_plane + at) {
                            *d = clamp.apply(v + bias);
                        }
                    }
                }
                q += POS;
            }
        }
    }
}

impl TypedOp for Conv3x3Blocked {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let channels = self.weights.bias.len();
        super::conv_output_fact(WHAT, inputs[0], channels, |d| self.window.output_dim(d))
    }

    as_op!();
}
