//! Pointwise (1×1, stride 1, ungrouped) convolution in NCHW: per image, the output planes are
//! the weight matrix `[C_out, C_in]` times the input planes `[C_in, H·W]`, plus the bias.
//!
//! One register-blocked kernel, [`pointwise`]: a block of `C` output channels × `P` positions
//! is accumulated in registers over the input channels, from a copy of those positions of every
//! input plane (contiguous, so it stays in L1 while every block of output channels reads it).
//! Two sizes of it:
//! - **At most [`SMALL_INPUT_CHANNELS`] input channels** (YuNet's large early maps, MiniFASNet's
//!   narrow layers): 4 × 16, compiled for the build's baseline (AVX2 + FMA on x86-64-v3, NEON
//!   on ARM). tract packs the activations before its matrix product, and there the packing cost
//!   as much as the product (7–9 GMAC/s).
//! - **More input channels, on a CPU with AVX-512** (MobileFaceNet's 64–512 channels: 218 M of
//!   its 234 M multiply-adds; YuNet's and MiniFASNet's wider layers): 12 × 32, compiled with
//!   AVX-512 enabled and chosen at run time ([`wide_kernel_available`]): 24 accumulators of
//!   16 lanes in the 32 vector registers. MobileFaceNet's embedding went from 9.4 ms with
//!   tract's product (about 35 GMAC/s on its layers) to 7.5 ms (docs/face-engine.md). Without
//!   AVX-512 (other x86 CPUs, phones) these layers stay with tract, whose hand-written kernels
//!   were not beaten there: `matrixmultiply`'s AVX2 product measured slower than tract's
//!   in the model, and NEON could not be measured here.
//!
//! Summation order as in tract's kernels (input channels in order into a zero accumulator,
//! fused multiply-add where the target has it, bias added last), so results agree with tract to
//! float rounding (the tests bound the difference).

use tract_onnx::tract_hir::internal::*;

use super::{Clamp, Kernel, Packed, accumulate};

const WHAT: &str = "pointwise convolution";

/// The inference-time node: inputs x, weights `[C_out, C_in, 1, 1]`, optional bias `[C_out]`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct Conv1x1Node(pub Conv1x1Attributes);

impl Expansion for Conv1x1Node {
    fn name(&self) -> StaticName {
        "FaceIdConv1x1".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        super::conv_rules(WHAT, s, inputs, outputs)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[0].shape[1], &inputs[1].shape[0])?;
        s.equals(&outputs[0].shape[2], &inputs[0].shape[2])?;
        s.equals(&outputs[0].shape[3], &inputs[0].shape[3])?;
        s.equals(&inputs[1].shape[1], &inputs[0].shape[1])?;
        Ok(())
    }

    /// Wires the op with the weights regrouped for its block size and the bias packed in it;
    /// x is its one input.
    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let weights = super::constant_input(model, inputs[1], WHAT)?;
        let &[c_out, c_in, 1, 1] = weights.shape() else {
            bail!("{WHAT} weights {:?}", weights.shape());
        };
        if c_out == 0 || c_in == 0 {
            bail!("{WHAT} weights {:?}", weights.shape());
        }
        let weights = weights.to_plain_array_view::<f32>()?;
        let weights = weights.as_standard_layout();
        let weights = weights
            .as_slice()
            .ok_or_else(|| format_err!("{WHAT} weights not contiguous"))?;
        let bias = super::conv_bias(model, inputs, c_out, WHAT)?;
        let blocks = if c_in <= SMALL_INPUT_CHANNELS {
            Blocks::Small(Packed::new(regroup(weights, c_in), bias))
        } else {
            Blocks::Wide(Packed::new(regroup(weights, c_in), bias))
        };
        let op = Conv1x1 {
            clamp: self.0.clamp,
            c_in,
            blocks,
        };
        model.wire_node(name, op, &inputs[..1])
    }
}

/// What the inference-time node knows before the weights are seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Conv1x1Attributes {
    pub clamp: Clamp,
}

/// The typed op, with the weights regrouped and the bias packed when it was wired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conv1x1 {
    /// The activation folded in from the graph (`Clamp::NONE` if none).
    pub clamp: Clamp,
    c_in: usize,
    blocks: Blocks,
}

impl Op for Conv1x1 {
    fn name(&self) -> StaticName {
        "FaceIdConv1x1".into()
    }

    op_as_typed_op!();
}

/// Up to this many input channels the small block is used on every CPU (measured on YuNet,
/// against tract's product); above it, the wide block where AVX-512 is available.
pub(super) const SMALL_INPUT_CHANNELS: usize = 32;

/// The small block: 4 output channels × 16 positions (8 AVX registers).
const SMALL_C: usize = 4;
const SMALL_P: usize = 16;
/// The wide block: 12 output channels × 32 positions (24 of AVX-512's 32 registers; the rest
/// hold the loaded positions and the broadcast weight).
const WIDE_C: usize = 12;
const WIDE_P: usize = 32;

/// Whether pointwise convolutions with more than [`SMALL_INPUT_CHANNELS`] input channels go to
/// the wide block: where it runs with AVX-512.
pub fn wide_kernel_available() -> bool {
    super::avx512_available()
}

impl EvalOp for Conv1x1 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (c_in, c_out) = (self.c_in, self.blocks.c_out());
        super::check_input_channels(&inputs[0], c_in, WHAT)?;
        let clamp = self.clamp;
        let out_dims = |[n, _, h, w]: [usize; 4]| [n, c_out, h, w];
        super::eval_rank4(&inputs[0], WHAT, out_dims, |[_, _, h, w], x, out| {
            let plane = h * w;
            for (x, out) in x
                .chunks_exact(c_in * plane)
                .zip(out.chunks_exact_mut(c_out * plane))
            {
                match &self.blocks {
                    Blocks::Small(b) => {
                        pointwise::<SMALL_C, SMALL_P>(x, &b.weights, &b.bias, clamp, plane, out)
                    }
                    Blocks::Wide(b) => super::with_avx512(Wide {
                        x,
                        blocks: &b.weights,
                        bias: &b.bias,
                        clamp,
                        plane,
                        out,
                    }),
                }
            }
        })
    }
}

/// Weights `[C_out, C_in]` (row-major) regrouped per block of `C` output channels: block `b`
/// is `c_in` arrays, array `ci` holding the weights of input channel `ci` for output channels
/// `b·C … b·C + C − 1`; rows past `C_out` are 0 (multiplied, never written). Read in order,
/// written with a short stride: cheap next to the product (an indexed version was 3 % of
/// MobileFaceNet's time).
fn regroup<const C: usize>(weights: &[f32], c_in: usize) -> Vec<[f32; C]> {
    let c_out = weights.len() / c_in;
    let mut blocks = vec![[0f32; C]; c_out.div_ceil(C) * c_in];
    for (co, row) in weights.chunks_exact(c_in).enumerate() {
        let (b, k) = (co / C, co % C);
        for (dst, &w) in blocks[b * c_in..(b + 1) * c_in].iter_mut().zip(row) {
            dst[k] = w;
        }
    }
    blocks
}

/// The weights regrouped for one of the two block sizes, with the bias.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Blocks {
    Small(Packed<SMALL_C>),
    Wide(Packed<WIDE_C>),
}

impl Blocks {
    fn c_out(&self) -> usize {
        match self {
            Blocks::Small(b) => b.bias.len(),
            Blocks::Wide(b) => b.bias.len(),
        }
    }
}

/// One image through the wide block, with AVX-512 when the CPU has it ([`super::with_avx512`];
/// the router sends wide layers here only with AVX-512).
struct Wide<'a> {
    x: &'a [f32],
    blocks: &'a [[f32; WIDE_C]],
    bias: &'a [f32],
    clamp: Clamp,
    plane: usize,
    out: &'a mut [f32],
}

impl Kernel for Wide<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        pointwise::<WIDE_C, WIDE_P>(
            self.x,
            self.blocks,
            self.bias,
            self.clamp,
            self.plane,
            self.out,
        )
    }
}

/// One image: `x` is `c_in` planes of `plane` values (`blocks` from [`regroup`]),
/// `out` gets `bias.len()` planes. Positions outermost, so a block of positions across all
/// input channels (2 KB for 32 channels and 16 positions, 32 KB for 256 and 32) stays in L1
/// while every block of output channels is accumulated from it. Inlined into each caller, so
/// the wide block compiles with the AVX-512 of [`super::with_avx512`].
#[inline(always)]
fn pointwise<const C: usize, const P: usize>(
    x: &[f32],
    blocks: &[[f32; C]],
    bias: &[f32],
    clamp: Clamp,
    plane: usize,
    out: &mut [f32],
) {
    let c_out = bias.len();
    if c_out == 0 {
        return;
    }
    let c_in = blocks.len() / c_out.div_ceil(C);
    let mut xs = vec![[0f32; P]; c_in];
    let mut p = 0;
    while p < plane {
        let len = (plane - p).min(P);
        for (ci, block) in xs.iter_mut().enumerate() {
            let src = &x[ci * plane + p..ci * plane + p + len];
            // A whole block as a fixed-size copy (inline vector moves, not a `memmove` call).
            match <&[f32; P]>::try_from(src) {
                Ok(full) => *block = *full,
                Err(_) => block[..len].copy_from_slice(src),
            }
        }
        for (b, w) in blocks.chunks_exact(c_in).enumerate() {
            let co = b * C;
            let mut acc = [[0f32; P]; C];
            for (wc, xc) in w.iter().zip(&xs) {
                accumulate(&mut acc, wc, xc);
            }
            for (k, a) in acc.iter().enumerate().take(c_out - co) {
                let bias = bias[co + k];
                let dst = &mut out[(co + k) * plane + p..(co + k) * plane + p + len];
                for (d, &v) in dst.iter_mut().zip(a) {
                    *d = clamp.apply(v + bias);
                }
            }
        }
        p += len;
    }
}

impl TypedOp for Conv1x1 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        super::conv_output_fact(WHAT, inputs[0], self.blocks.c_out(), TDim::clone)
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// Both block sizes, on every CPU (the wide one with AVX-512 where the CPU has it, else
    /// the baseline build of the same code), against a plain sum in f64, clamped as a fused
    /// `Clip` would: partial blocks of output channels and of positions, planes smaller than
    /// one block.
    #[test]
    fn both_block_sizes_compute_the_product_plus_bias() {
        for (c_in, c_out, plane) in [
            (3, 5, 7),
            (32, 13, 49),
            (64, 128, 196),
            (200, 25, 33),
            (96, 12, 1),
        ] {
            let x = values(c_in * plane, 1);
            let w = values(c_out * c_in, 2);
            let bias = values(c_out, 3);
            let mut small = vec![f32::NAN; c_out * plane];
            let mut wide_out = vec![f32::NAN; c_out * plane];
            let clamp = Clamp::new(-0.5, 6.0);
            let (small_blocks, wide_blocks) = (regroup(&w, c_in), regroup(&w, c_in));
            pointwise::<SMALL_C, SMALL_P>(&x, &small_blocks, &bias, clamp, plane, &mut small);
            super::super::with_avx512(Wide {
                x: &x,
                blocks: &wide_blocks,
                bias: &bias,
                clamp,
                plane,
                out: &mut wide_out,
            });
            for co in 0..c_out {
                for p in 0..plane {
                    let want = (0..c_in)
                        .map(|ci| f64::from(w[co * c_in + ci]) * f64::from(x[ci * plane + p]))
                        .sum::<f64>()
                        + f64::from(bias[co]);
                    let want = want.clamp(-0.5, 6.0);
                    for (name, got) in [("small", &small), ("wide", &wide_out)] {
                        let got = got[co * plane + p];
                        assert!(
                            (f64::from(got) - want).abs() <= 1e-5 * c_in as f64,
                            "{name} {c_in}->{c_out} on {plane}: [{co}, {p}] = {got}, want {want}"
                        );
                    }
                }
            }
        }
    }
}
