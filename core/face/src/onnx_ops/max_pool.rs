//! Max-pooling over k×k windows with stride s, no padding, floor mode (YuNet's four 2×2/2
//! pools, dlib's 3×3/2 pool).
//!
//! tract's `OptMaxPool` walks a generic patch description per output pixel; on YuNet's large
//! early feature maps that was a fifth of the detector's time. Here each output row takes the
//! element-wise maximum of its k input rows (a vectorised pass), then the maximum of each
//! window along that row. Maximum is exact, so the order of comparisons does not change a bit.

use tract_onnx::tract_hir::internal::*;

/// The inference-time node; wires [`MaxPool`].
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(super) struct MaxPoolNode(pub MaxPool);

impl Expansion for MaxPoolNode {
    fn name(&self) -> StaticName {
        "FaceIdMaxPool".into()
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
        let pool = self.0;
        super::spatial_shape_rule(s, inputs, outputs, move |d| pool.output_dim(d))
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

/// The typed op: NCHW f32 in, `N×C×((H−k)/s+1)×((W−k)/s+1)` out (ONNX `ceil_mode = 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaxPool {
    pub kernel: usize,
    pub stride: usize,
}

impl MaxPool {
    fn output_dim(&self, input: &TDim) -> TDim {
        super::window_dim(input, self.kernel, self.stride, 0)
    }

    fn output_len(&self, n: usize) -> usize {
        super::window_len(n, self.kernel, self.stride, 0)
    }
}

impl Op for MaxPool {
    fn name(&self) -> StaticName {
        "FaceIdMaxPool".into()
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let out_dims = |[n, c, h, w]: [usize; 4]| [n, c, self.output_len(h), self.output_len(w)];
        super::eval_rank4(
            &inputs[0],
            "max-pooling",
            out_dims,
            |[_, _, h, w], src, dst| {
                let (oh, ow) = (self.output_len(h), self.output_len(w));
                if oh == 0 || ow == 0 {
                    return;
                }
                let mut rows = vec![0f32; w];
                for (src, dst) in src.chunks_exact(h * w).zip(dst.chunks_exact_mut(oh * ow)) {
                    self.plane(src, dst, w, ow, &mut rows);
                }
            },
        )
    }
}

impl TypedOp for MaxPool {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let fact = inputs[0];
        if fact.datum_type != f32::datum_type() || fact.rank() != 4 {
            bail!("max-pooling expects f32 NCHW, got {fact:?}");
        }
        let s = &fact.shape;
        Ok(tvec!(f32::fact([
            s[0].clone(),
            s[1].clone(),
            self.output_dim(&s[2]),
            self.output_dim(&s[3]),
        ])))
    }

    as_op!();
}

impl MaxPool {
    /// One channel of width `w` into `dst` (`ow` wide, as many rows as it holds); `rows` is
    /// scratch of at least `w` values.
    fn plane(&self, src: &[f32], dst: &mut [f32], w: usize, ow: usize, rows: &mut [f32]) {
        let (k, s) = (self.kernel, self.stride);
        if k == 2 && s == 2 {
            // YuNet's pools, on its largest maps: two rows pairwise, no scratch pass.
            for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
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
            return;
        }
        // The input columns the windows cover.
        let span = (ow - 1) * s + k;
        let rows = &mut rows[..span];
        for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
            let top = oy * s * w;
            rows.copy_from_slice(&src[top..top + span]);
            for dy in 1..k {
                let row = &src[top + dy * w..top + dy * w + span];
                for (m, &v) in rows.iter_mut().zip(row) {
                    *m = m.max(v);
                }
            }
            for (ox, o) in out.iter_mut().enumerate() {
                let window = &rows[ox * s..ox * s + k];
                *o = window.iter().copied().fold(window[0], f32::max);
            }
        }
    }
}
