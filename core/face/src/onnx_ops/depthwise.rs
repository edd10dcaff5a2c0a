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

use super::Packed;
use super::window3x3::{Chain, Window3x3, taps_3x3, taps_into};

const WHAT: &str = "depthwise convolution";

/// The inference-time node: inputs x, weights `[C, 1, 3, 3]`, optional bias `[C]`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct DepthwiseNode(pub Window3x3);

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
        super::conv_rules(WHAT, s, inputs, outputs)?;
        s.equals(&inputs[1].shape[0], &inputs[0].shape[1])?;
        let window = self.0;
        super::spatial_shape_rule(s, inputs, outputs, move |d| window.output_dim(d))
    }

    /// Wires the op with the weights and bias packed in it; x is its one input.
    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let weights = super::constant_input(model, inputs[1], WHAT)?;
        let &[c, 1, 3, 3] = weights.shape() else {
            bail!("{WHAT} weights {:?}", weights.shape());
        };
        let taps = taps_3x3(&weights)?;
        let bias = super::conv_bias(model, inputs, c, WHAT)?;
        let op = Depthwise3x3 {
            window: self.0,
            taps: Packed::new(taps, bias),
        };
        model.wire_node(name, op, &inputs[..1])
    }
}

/// The typed op: NCHW f32 in, `N×C×((H+2p−3)/s+1)×((W+2p−3)/s+1)` out; one filter of nine
/// taps and a bias per channel, packed when the op was wired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Depthwise3x3 {
    pub window: Window3x3,
    taps: Packed<9>,
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
        let (taps, bias) = (&self.taps.weights, &self.taps.bias);
        let c = taps.len();
        super::check_input_channels(&inputs[0], c, WHAT)?;
        let window = self.window;
        let out_dims =
            |[n, c, h, w]: [usize; 4]| [n, c, window.output_len(h), window.output_len(w)];
        super::eval_rank4(&inputs[0], WHAT, out_dims, |[_, _, h, w], x, out| {
            let (oh, ow) = (window.output_len(h), window.output_len(w));
            if oh == 0 || ow == 0 {
                return;
            }
            let (mut plane, mut grid) = (Vec::new(), Vec::new());
            for (i, (x, out)) in x
                .chunks_exact(h * w)
                .zip(out.chunks_exact_mut(oh * ow))
                .enumerate()
            {
                let ch = i % c;
                // The padded plane laid out so each of the nine taps reads one contiguous
                // slice, and the whole output as one flat loop over the grid.
                let layout = window.lay_out_in(x, h, w, &mut plane);
                grid.resize(layout.grid_len, 0.0);
                let rows = window.tap_rows(&plane, &layout);
                let chain = Chain {
                    first: true,
                    last: true,
                };
                taps_into(&mut grid, rows, &taps[ch], bias[ch], window.clamp, chain);
                window.store(&grid, layout.grid_width, w, out);
            }
        })
    }
}

impl TypedOp for Depthwise3x3 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let channels = self.taps.bias.len();
        super::conv_output_fact(WHAT, inputs[0], channels, |d| self.window.output_dim(d))
    }

    as_op!();
}
