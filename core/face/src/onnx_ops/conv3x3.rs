//! 3×3 convolution (stride 1 or 2, padding 0 or 1) over at most four input channels, as the
//! first layer of YuNet (3 → 16), MobileFaceNet (3 → 64) and the MiniFASNets uses it on the
//! image's colour planes.
//!
//! tract lowers these to im2col and a matrix product with an inner dimension of 27, where the
//! patch gathering costs as much as the product (YuNet's first layer was 15–17 % of the
//! detector's time, MobileFaceNet's 6 % of the embedding's). Here each input plane is laid out
//! once, as the depthwise kernel lays out its planes ([`Depthwise3x3::lay_out`]), and every
//! output plane is the nine-tap loop of the depthwise kernel run once per input channel,
//! continuing one sum: taps of input channel 0 in row-major order, then channel 1's, …, then
//! the bias, then the folded activation. tract's order differs, so results agree to float
//! rounding (the tests bound it).

use tract_onnx::tract_hir::internal::*;

use super::depthwise::{Depthwise3x3, row3};

/// Input channels this kernel takes: colour planes, not feature maps.
pub(super) const MAX_INPUT_CHANNELS: usize = 4;

/// The inference-time node: inputs x, weights `[C_out, C_in ≤ 4, 3, 3]`, optional bias.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct Conv3x3Node(pub Conv3x3);

impl Expansion for Conv3x3Node {
    fn name(&self) -> StaticName {
        "FaceIdConv3x3".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        super::conv_rules("3×3 convolution", s, inputs, outputs)?;
        s.equals(&inputs[1].shape[1], &inputs[0].shape[1])?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[0].shape[1], &inputs[1].shape[0])?;
        let window = self.0.window;
        s.given(&inputs[0].shape[2], move |s, d| {
            s.equals(&outputs[0].shape[2], window.output_dim(&d))
        })?;
        s.given(&inputs[0].shape[3], move |s, d| {
            s.equals(&outputs[0].shape[3], window.output_dim(&d))
        })
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

/// The typed op: the depthwise kernel's window (stride, padding, folded activation), every
/// output channel reading every input channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv3x3 {
    pub window: Depthwise3x3,
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
        let weights = inputs[1].to_plain_array_view::<f32>()?;
        let &[c_out, c_in, 3, 3] = weights.shape() else {
            bail!("3×3 convolution weights {:?}", weights.shape());
        };
        if c_out == 0 || !(1..=MAX_INPUT_CHANNELS).contains(&c_in) {
            bail!("3×3 convolution weights {:?}", weights.shape());
        }
        let x_channels = inputs[0].shape().get(1).copied();
        if x_channels != Some(c_in) {
            bail!("3×3 convolution: {x_channels:?} input channels for weights of {c_in}");
        }
        // taps[co · c_in + ci]: the weights' own order.
        let taps: Vec<[f32; 9]> = weights
            .iter()
            .copied()
            .collect::<Vec<f32>>()
            .chunks_exact(9)
            .map(|t| std::array::from_fn(|k| t[k]))
            .collect();
        let bias: Vec<f32> = match inputs.get(2) {
            Some(b) => b.to_plain_array_view::<f32>()?.iter().copied().collect(),
            None => vec![0.0; c_out],
        };
        if bias.len() != c_out {
            bail!("3×3 convolution: {} biases for {c_out} outputs", bias.len());
        }
        let window = self.window;
        let out_dims =
            |[n, _, h, w]: [usize; 4]| [n, c_out, window.output_len(h), window.output_len(w)];
        super::eval_rank4(
            &inputs[0],
            "3×3 convolution",
            out_dims,
            |[_, _, h, w], x, out| {
                let out_plane = window.output_len(h) * window.output_len(w);
                if out_plane == 0 {
                    return;
                }
                let mut planes = vec![Vec::new(); c_in];
                let mut grid = Vec::new();
                for (x, out) in x
                    .chunks_exact(c_in * h * w)
                    .zip(out.chunks_exact_mut(c_out * out_plane))
                {
                    let mut grid_width = 0;
                    for (plane, buf) in x.chunks_exact(h * w).zip(&mut planes) {
                        grid_width = window.lay_out(plane, h, w, buf);
                    }
                    grid.resize(window.output_len(h) * grid_width, 0.0);
                    for (co, out) in out.chunks_exact_mut(out_plane).enumerate() {
                        for (ci, buf) in planes.iter().enumerate() {
                            let rows = window.tap_rows(buf, h, w);
                            let (t, b, clamp) = (&taps[co * c_in + ci], bias[co], window.clamp);
                            match (ci == 0, ci + 1 == c_in) {
                                (true, true) => row3::<true, true>(&mut grid, rows, t, b, clamp),
                                (true, false) => row3::<true, false>(&mut grid, rows, t, b, clamp),
                                (false, false) => {
                                    row3::<false, false>(&mut grid, rows, t, b, clamp)
                                }
                                (false, true) => row3::<false, true>(&mut grid, rows, t, b, clamp),
                            }
                        }
                        window.store(&grid, grid_width, w, out);
                    }
                }
            },
        )
    }
}

impl TypedOp for Conv3x3 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (x, w) = (inputs[0], inputs[1]);
        if x.datum_type != f32::datum_type() || x.rank() != 4 || w.rank() != 4 {
            bail!("3×3 convolution expects f32 NCHW, got {x:?} and weights {w:?}");
        }
        Ok(tvec!(f32::fact([
            x.shape[0].clone(),
            w.shape[0].clone(),
            self.window.output_dim(&x.shape[2]),
            self.window.output_dim(&x.shape[3]),
        ])))
    }

    as_op!();
}
