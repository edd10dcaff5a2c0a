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

use super::{Clamp, fma};

/// The inference-time node: inputs x, weights `[C_out, C_in, 1, 1]`, optional bias `[C_out]`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct Conv1x1Node(pub Conv1x1);

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
        super::conv_rules("pointwise convolution", s, inputs, outputs)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[0].shape[1], &inputs[1].shape[0])?;
        s.equals(&outputs[0].shape[2], &inputs[0].shape[2])?;
        s.equals(&outputs[0].shape[3], &inputs[0].shape[3])?;
        s.equals(&inputs[1].shape[1], &inputs[0].shape[1])?;
        Ok(())
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

/// The typed op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv1x1 {
    /// The activation folded in from the graph (`Clamp::NONE` if none).
    pub clamp: Clamp,
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
        let weights = inputs[1].to_plain_array_view::<f32>()?;
        let &[c_out, c_in, 1, 1] = weights.shape() else {
            bail!("pointwise convolution weights {:?}", weights.shape());
        };
        if c_out == 0 || c_in == 0 {
            bail!("pointwise convolution weights {:?}", weights.shape());
        }
        let x_channels = inputs[0].shape().get(1).copied();
        if x_channels != Some(c_in) {
            bail!("pointwise convolution: {x_channels:?} input channels for weights of {c_in}");
        }
        let bias: Vec<f32> = match inputs.get(2) {
            Some(b) => b.to_plain_array_view::<f32>()?.iter().copied().collect(),
            None => vec![0.0; c_out],
        };
        if bias.len() != c_out {
            bail!(
                "pointwise convolution: {} biases for {c_out} outputs",
                bias.len()
            );
        }
        let weights = weights.as_standard_layout();
        let weights = weights
            .as_slice()
            .ok_or_else(|| format_err!("pointwise convolution weights not contiguous"))?;
        let blocks = if c_in <= SMALL_INPUT_CHANNELS {
            Blocks::Small(regroup(weights, c_in))
        } else {
            Blocks::Wide(regroup(weights, c_in))
        };
        let clamp = self.clamp;
        let out_dims = |[n, _, h, w]: [usize; 4]| [n, c_out, h, w];
        super::eval_rank4(
            &inputs[0],
            "pointwise convolution",
            out_dims,
            |[_, _, h, w], x, out| {
                let plane = h * w;
                for (x, out) in x
                    .chunks_exact(c_in * plane)
                    .zip(out.chunks_exact_mut(c_out * plane))
                {
                    match &blocks {
                        Blocks::Small(b) => {
                            pointwise::<SMALL_C, SMALL_P>(x, b, &bias, clamp, plane, out)
                        }
                        Blocks::Wide(b) => wide(x, b, &bias, clamp, plane, out),
                    }
                }
            },
        )
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

/// The weights regrouped for one of the two block sizes.
enum Blocks {
    Small(Vec<[f32; SMALL_C]>),
    Wide(Vec<[f32; WIDE_C]>),
}

/// The wide block, with AVX-512 when the CPU has it; otherwise the same code for the build's
/// baseline (the router sends wide layers here only with AVX-512, so that is for tests and for
/// a model routed on another machine).
#[allow(unsafe_code)]
fn wide(
    x: &[f32],
    blocks: &[[f32; WIDE_C]],
    bias: &[f32],
    clamp: Clamp,
    plane: usize,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn with_avx512(
            x: &[f32],
            blocks: &[[f32; WIDE_C]],
            bias: &[f32],
            clamp: Clamp,
            plane: usize,
            out: &mut [f32],
        ) {
            pointwise::<WIDE_C, WIDE_P>(x, blocks, bias, clamp, plane, out)
        }
        if super::avx512_available() {
            // SAFETY: the CPU was just found to have AVX-512F, the one feature the function
            // is compiled with beyond the build's baseline.
            return unsafe { with_avx512(x, blocks, bias, clamp, plane, out) };
        }
    }
    pointwise::<WIDE_C, WIDE_P>(x, blocks, bias, clamp, plane, out)
}

/// `acc[k][j] += w[k] · x[j]` for the whole block (fixed sizes, so it compiles to vector FMAs).
#[inline(always)]
fn accumulate<const C: usize, const P: usize>(acc: &mut [[f32; P]; C], w: &[f32; C], x: &[f32; P]) {
    for k in 0..C {
        for j in 0..P {
            acc[k][j] = fma(w[k], x[j], acc[k][j]);
        }
    }
}

/// One image: `x` is `c_in` planes of `plane` values (`blocks` from [`regroup`]),
/// `out` gets `bias.len()` planes. Positions outermost, so a block of positions across all
/// input channels (2 KB for 32 channels and 16 positions, 32 KB for 256 and 32) stays in L1
/// while every block of output channels is accumulated from it. Inlined into each caller, so
/// the wide block compiles with the AVX-512 of [`wide`].
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
        let (x, w) = (inputs[0], inputs[1]);
        if x.datum_type != f32::datum_type() || x.rank() != 4 || w.rank() != 4 {
            bail!("pointwise convolution expects f32 NCHW, got {x:?} and weights {w:?}");
        }
        Ok(tvec!(f32::fact([
            x.shape[0].clone(),
            w.shape[0].clone(),
            x.shape[2].clone(),
            x.shape[3].clone(),
        ])))
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
            wide(&x, &wide_blocks, &bias, clamp, plane, &mut wide_out);
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
