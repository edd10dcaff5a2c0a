//! Constant padding of a rank-4 f32 tensor: dlib's five `Pad` nodes (zero channels appended
//! to a shortcut, a row and a column appended to a feature map) and the 24 that tract puts in
//! front of its 3×3 convolutions when it lowers them to im2col.
//!
//! tract's `Pad` assigns through generic ndarray slices, 4 % of dlib's time. Here each output
//! row is written once: the fill value around the input, the input's row copied in.

use tract_onnx::tract_hir::internal::*;

/// The typed op: pads `before[axis]` and `after[axis]` elements of `value` on each axis.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Pad4 {
    pub before: [usize; 4],
    pub after: [usize; 4],
    /// The fill value's bits (f32 is not `Hash`).
    pub value_bits: u32,
}

impl Eq for Pad4 {}

impl Op for Pad4 {
    fn name(&self) -> StaticName {
        "FaceIdPad".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Pad4 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (b, a) = (self.before, self.after);
        let out_dims = |d: [usize; 4]| std::array::from_fn(|axis| d[axis] + b[axis] + a[axis]);
        super::eval_rank4(&inputs[0], "padding", out_dims, |[n, c, h, w], src, out| {
            let dims: [usize; 4] = out_dims([n, c, h, w]);
            let value = f32::from_bits(self.value_bits);
            // Every output value is written once: the fill value around the input, the input
            // row by row (the output is not zeroed beforehand, see `eval_rank4`).
            let plane = dims[2] * dims[3];
            if plane == 0 {
                return;
            }
            for (index, out) in out.chunks_exact_mut(plane).enumerate() {
                let (batch, ch) = (index / dims[1], index % dims[1]);
                let inside = |i: usize, before: usize, len: usize| {
                    i.checked_sub(before).filter(|&i| i < len)
                };
                let (Some(batch), Some(ch)) = (inside(batch, b[0], n), inside(ch, b[1], c)) else {
                    out.fill(value);
                    continue;
                };
                let src = &src[(batch * c + ch) * h * w..(batch * c + ch + 1) * h * w];
                for (y, row) in out.chunks_exact_mut(dims[3]).enumerate() {
                    match inside(y, b[2], h) {
                        Some(y) => {
                            row[..b[3]].fill(value);
                            row[b[3]..b[3] + w].copy_from_slice(&src[y * w..(y + 1) * w]);
                            row[b[3] + w..].fill(value);
                        }
                        None => row.fill(value),
                    }
                }
            }
        })
    }
}

impl TypedOp for Pad4 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        if fact.datum_type != f32::datum_type() || fact.rank() != 4 {
            bail!("padding expects a rank-4 f32 tensor, got {fact:?}");
        }
        let shape: TVec<TDim> = (0..4)
            .map(|axis| fact.shape[axis].clone() + self.before[axis] + self.after[axis])
            .collect();
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}
