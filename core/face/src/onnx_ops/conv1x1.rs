//! Pointwise (1×1, stride 1, ungrouped) convolution in NCHW, as YuNet's 26 such layers use it.
//!
//! tract lowers these to a matrix product and packs the activations first: on YuNet's large
//! early maps with 16–32 channels the packing costs as much as the product, and the product
//! ran at 7–9 GMAC/s. Here each block of 4 output channels × 16 positions is accumulated in
//! registers over the input channels, reading the input planes in place.
//!
//! Summation order as in tract's kernels (input channels in order into a zero accumulator,
//! fused multiply-add where the target has it, bias added last), so results agree with tract to
//! float rounding (the tests bound the difference).

use tract_onnx::tract_hir::internal::*;

use super::fma;

/// The inference-time node: inputs x, weights `[C_out, C_in, 1, 1]`, optional bias `[C_out]`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct Conv1x1Node;

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
        model.wire_node(name, Conv1x1, inputs)
    }
}

/// The typed op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv1x1;

impl Op for Conv1x1 {
    fn name(&self) -> StaticName {
        "FaceIdConv1x1".into()
    }

    op_as_typed_op!();
}

/// Output channels and positions accumulated together (4 × 16 f32 = 8 AVX registers).
const BLOCK_C: usize = 4;
const BLOCK_P: usize = 16;

impl EvalOp for Conv1x1 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let weights = inputs[1].to_plain_array_view::<f32>()?;
        let &[c_out, c_in, 1, 1] = weights.shape() else {
            bail!("pointwise convolution weights {:?}", weights.shape());
        };
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
        // Weights regrouped per block of output channels, once per call: blocks[b][ci][k];
        // rows past c_out are 0 (multiplied, never written).
        let blocks: Vec<Vec<[f32; BLOCK_C]>> = (0..c_out)
            .step_by(BLOCK_C)
            .map(|co| {
                (0..c_in)
                    .map(|ci| {
                        std::array::from_fn(|k| {
                            if co + k < c_out {
                                weights[[co + k, ci, 0, 0]]
                            } else {
                                0.0
                            }
                        })
                    })
                    .collect()
            })
            .collect();
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
                    pointwise(x, &blocks, &bias, plane, out);
                }
            },
        )
    }
}

/// `acc[k][j] += w[k] · x[j]` for the whole block (fixed sizes, so it compiles to vector FMAs).
#[inline(always)]
fn accumulate(acc: &mut [[f32; BLOCK_P]; BLOCK_C], w: &[f32; BLOCK_C], x: &[f32; BLOCK_P]) {
    for k in 0..BLOCK_C {
        for j in 0..BLOCK_P {
            acc[k][j] = fma(w[k], x[j], acc[k][j]);
        }
    }
}

/// One image: `x` is `c_in` planes of `plane` values (`blocks[b]` holds `c_in` weight rows),
/// `out` gets `bias.len()` planes. Positions outermost, so a block of positions across all
/// input channels (2 KB for 32 channels) stays in L1 while every block of output channels is
/// accumulated from it.
fn pointwise(
    x: &[f32],
    blocks: &[Vec<[f32; BLOCK_C]>],
    bias: &[f32],
    plane: usize,
    out: &mut [f32],
) {
    let c_out = bias.len();
    let c_in = blocks.first().map_or(0, Vec::len);
    let mut xs = vec![[0f32; BLOCK_P]; c_in];
    let mut p = 0;
    while p < plane {
        let len = (plane - p).min(BLOCK_P);
        for (ci, block) in xs.iter_mut().enumerate() {
            block[..len].copy_from_slice(&x[ci * plane + p..ci * plane + p + len]);
        }
        for (b, w) in blocks.iter().enumerate() {
            let co = b * BLOCK_C;
            let mut acc = [[0f32; BLOCK_P]; BLOCK_C];
            for (wc, xc) in w.iter().zip(&xs) {
                accumulate(&mut acc, wc, xc);
            }
            for (k, a) in acc.iter().enumerate().take(c_out - co) {
                let bias = bias[co + k];
                let dst = &mut out[(co + k) * plane + p..(co + k) * plane + p + len];
                for (d, &v) in dst.iter_mut().zip(a) {
                    *d = v + bias;
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
