//! 3×3 convolution (stride 1 or 2, padding 0 or 1) over at most four input channels, as the
//! first layer of YuNet (3 → 16), MobileFaceNet (3 → 64) and the MiniFASNets uses it on the
//! image's colour planes.
//!
//! tract lowers these to im2col and a matrix product with an inner dimension of 27, where the
//! patch gathering costs as much as the product (YuNet's first layer was 15–17 % of the
//! detector's time, MobileFaceNet's 6 % of the embedding's). Here each input plane is laid out
//! once, as the depthwise kernel lays out its planes ([`Window3x3::lay_out`]), and every
//! output plane is the nine-tap loop of the depthwise kernel run once per input channel,
//! continuing one sum: taps of input channel 0 in row-major order, then channel 1's, …, then
//! the bias, then the folded activation. tract's order differs, so results agree to float
//! rounding (the tests bound it).

use tract_onnx::tract_hir::internal::*;

use super::Packed;
use super::conv3x3_blocked::Conv3x3Blocked;
use super::window3x3::{Chain, Window3x3, taps_3x3, taps_into};

const WHAT: &str = "3×3 convolution";

/// Input channels this kernel takes: colour planes, not feature maps.
pub(super) const MAX_INPUT_CHANNELS: usize = 4;

/// The inference-time node of a dense 3×3 convolution: inputs x, weights `[C_out, C_in, 3, 3]`,
/// optional bias. Wired as this kernel with at most [`MAX_INPUT_CHANNELS`] input channels, as
/// the blocked one ([`Conv3x3Blocked`]) with more (the router sends those only where it runs
/// with AVX-512).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct Dense3x3Node(pub Window3x3);

impl Expansion for Dense3x3Node {
    fn name(&self) -> StaticName {
        "FaceIdConv3x3".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        super::conv_rules(WHAT, s, inputs, outputs)?;
        s.equals(&inputs[1].shape[1], &inputs[0].shape[1])?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[0].shape[1], &inputs[1].shape[0])?;
        let window = self.0;
        s.given(&inputs[0].shape[2], move |s, d| {
            s.equals(&outputs[0].shape[2], window.output_dim(&d))
        })?;
        s.given(&inputs[0].shape[3], move |s, d| {
            s.equals(&outputs[0].shape[3], window.output_dim(&d))
        })
    }

    /// Wires the op with the weights and bias packed in it; x is its one input.
    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let weights = super::constant_input(model, inputs[1], WHAT)?;
        let &[c_out, c_in, 3, 3] = weights.shape() else {
            bail!("{WHAT} weights {:?}", weights.shape());
        };
        if c_out == 0 || c_in == 0 {
            bail!("{WHAT} weights {:?}", weights.shape());
        }
        let bias = super::conv_bias(model, inputs, c_out, WHAT)?;
        let op: Box<dyn TypedOp> = if c_in <= MAX_INPUT_CHANNELS {
            Box::new(Conv3x3 {
                window: self.0,
                c_in,
                taps: Packed::new(taps_3x3(&weights)?, bias),
            })
        } else {
            Box::new(Conv3x3Blocked::new(self.0, &weights, bias)?)
        };
        model.wire_node(name, op, &inputs[..1])
    }
}

/// The typed op: the depthwise kernel's window (stride, padding, folded activation), every
/// output channel reading every input channel; the filters (`taps[co · c_in + ci]`, the
/// weights' own order) and the bias packed when the op was wired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conv3x3 {
    pub window: Window3x3,
    c_in: usize,
    taps: Packed<9>,
}

impl Op for Conv3x3 {
    fn name(&self) -> StaticName {
        "FaceIdConv3x3".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Conv3x3 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (taps, bias, c_in) = (&self.taps.weights, &self.taps.bias, self.c_in);
        let c_out = bias.len();
        super::check_input_channels(&inputs[0], c_in, WHAT)?;
        let window = self.window;
        let out_dims =
            |[n, _, h, w]: [usize; 4]| [n, c_out, window.output_len(h), window.output_len(w)];
        super::eval_rank4(&inputs[0], WHAT, out_dims, |[_, _, h, w], x, out| {
            let out_plane = window.output_len(h) * window.output_len(w);
            if out_plane == 0 {
                return;
            }
            let layout = window.tap_layout(h, w);
            let mut planes = vec![0f32; c_in * layout.len];
            let mut grid = vec![0f32; layout.grid_len];
            for (x, out) in x
                .chunks_exact(c_in * h * w)
                .zip(out.chunks_exact_mut(c_out * out_plane))
            {
                for (plane, buf) in x
                    .chunks_exact(h * w)
                    .zip(planes.chunks_exact_mut(layout.len))
                {
                    window.lay_out(plane, h, w, buf);
                }
                for (co, out) in out.chunks_exact_mut(out_plane).enumerate() {
                    for (ci, buf) in planes.chunks_exact(layout.len).enumerate() {
                        let rows = window.tap_rows(buf, &layout);
                        let chain = Chain {
                            first: ci == 0,
                            last: ci + 1 == c_in,
                        };
                        let t = &taps[co * c_in + ci];
                        taps_into(&mut grid, rows, t, bias[co], window.clamp, chain);
                    }
                    window.store(&grid, layout.grid_width, w, out);
                }
            }
        })
    }
}

impl TypedOp for Conv3x3 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let channels = self.taps.bias.len();
        super::conv_output_fact(WHAT, inputs[0], channels, |d| self.window.output_dim(d))
    }

    as_op!();
}
