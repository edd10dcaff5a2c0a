//! Max-pooling over 2×2 windows with stride 2 and no padding (YuNet's four pooling layers).
//!
//! tract's `OptMaxPool` walks a generic patch description per output pixel; on YuNet's large
//! early feature maps that was a fifth of the detector's time. Here each output row reads two
//! input rows pairwise.

use tract_onnx::tract_hir::internal::*;

/// The inference-time node; wires [`MaxPool2x2`].
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct MaxPool2x2Node;

impl Expansion for MaxPool2x2Node {
    fn name(&self) -> StaticName {
        "FaceIdMaxPool2x2".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].rank, 4)?;
        s.equals(&outputs[0].rank, 4)?;
        s.given(&inputs[0].shape, move |s, shape| {
            let mut out = shape.clone();
            out[2] = shape[2].clone() / 2;
            out[3] = shape[3].clone() / 2;
            s.equals(&outputs[0].shape, out)
        })
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        model.wire_node(name, MaxPool2x2, inputs)
    }
}

/// The typed op: NCHW f32 in, `N×C×⌊H/2⌋×⌊W/2⌋` out (ONNX `ceil_mode = 0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaxPool2x2;

impl Op for MaxPool2x2 {
    fn name(&self) -> StaticName {
        "FaceIdMaxPool2x2".into()
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool2x2 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = inputs[0].to_plain_array_view::<f32>()?;
        let &[n, c, h, w] = input.shape() else {
            bail!("max-pooling expects NCHW, got {:?}", input.shape());
        };
        let contiguous;
        let data = match input.as_slice() {
            Some(s) => s,
            None => {
                contiguous = input.iter().copied().collect::<Vec<f32>>();
                &contiguous
            }
        };
        let (oh, ow) = (h / 2, w / 2);
        // Written straight into tract's (aligned) tensor: an ndarray output would be copied.
        let mut tensor = Tensor::zero::<f32>(&[n, c, oh, ow])?;
        let mut view = tensor.try_as_plain_ram_mut()?;
        let out = view.as_slice_mut::<f32>()?;
        if oh > 0 && ow > 0 {
            for (src, dst) in data.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)) {
                max_pool_plane(src, dst, w, oh, ow);
            }
        }
        Ok(tvec!(tensor.into_tvalue()))
    }
}

impl TypedOp for MaxPool2x2 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        if fact.datum_type != f32::datum_type() || fact.rank() != 4 {
            bail!("max-pooling expects f32 NCHW, got {fact:?}");
        }
        let s = &fact.shape;
        Ok(tvec!(f32::fact([
            s[0].clone(),
            s[1].clone(),
            s[2].clone() / 2,
            s[3].clone() / 2
        ])))
    }

    as_op!();
}

/// One channel of width `w` into `oh × ow`.
pub(crate) fn max_pool_plane(src: &[f32], dst: &mut [f32], w: usize, oh: usize, ow: usize) {
    for (oy, out) in dst.chunks_exact_mut(ow).enumerate().take(oh) {
        let top = &src[2 * oy * w..2 * oy * w + 2 * ow];
        let bottom = &src[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        for ((o, t), b) in out
            .iter_mut()
            .zip(top.chunks_exact(2))
            .zip(bottom.chunks_exact(2))
        {
            *o = t[0].max(t[1]).max(b[0].max(b[1]));
        }
    }
}
