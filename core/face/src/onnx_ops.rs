//! The ONNX front end the engine loads models with: tract's, with one operator translated
//! differently.
//!
//! tract expands ONNX `PRelu` into `x·slope`, `x > 0` (a boolean tensor) and a generic
//! element-wise select, none of them fused or vectorised; in MiniFASNet's 33 PReLUs that was
//! half of the model's time. The same function written as `x + (slope − 1)·min(x, 0)` uses
//! three vectorised arithmetic kernels and no boolean tensor:
//! for x ≥ 0 it is x; for x < 0 it is x + slope·x − x = slope·x.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::math;

/// tract's ONNX front end with `PRelu` rewritten (see the module docs).
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    onnx.op_register
        .insert("PRelu", |_, _| Ok((expand(ArithmeticPrelu), vec![])));
    onnx
}

/// `PRelu(x, slope) = x + (slope − 1)·min(x, 0)`, slope broadcast unidirectionally to x.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct ArithmeticPrelu;

impl Expansion for ArithmeticPrelu {
    fn name(&self) -> StaticName {
        "ArithmeticPrelu".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        name: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let x = inputs[0];
        let mut slope = inputs[1];
        let x_fact = model.outlet_fact(x)?.clone();
        let rank = x_fact.rank();
        // ONNX broadcasting is unidirectional from the right: lift the slope to x's rank.
        while model.outlet_fact(slope)?.rank() < rank {
            slope = model.wire_node(
                format!("{name}.add-axis-{}", model.outlet_fact(slope)?.rank()),
                AxisOp::Add(0),
                &[slope],
            )?[0];
        }
        let scalar = |v: f32| -> TractResult<Tensor> {
            tensor0(v)
                .cast_to_dt(x_fact.datum_type)?
                .into_owned()
                .broadcast_into_rank(rank)
        };
        let zero = model.add_const(format!("{name}.zero"), scalar(0.0)?)?;
        let one = model.add_const(format!("{name}.one"), scalar(1.0)?)?;
        // Constant slopes (every model we ship) fold to a constant here at declutter time.
        let slope_minus_one =
            model.wire_node(format!("{name}.slope-1"), math::sub(), &[slope, one])?[0];
        let negative_part = model.wire_node(format!("{name}.min"), math::min(), &[x, zero])?[0];
        let scaled = model.wire_node(
            format!("{name}.scale"),
            math::mul(),
            &[negative_part, slope_minus_one],
        )?[0];
        model.wire_node(format!("{name}.add"), math::add(), &[x, scaled])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-node ONNX graph: PRelu(x[1,3,2,2], slope[3,1,1]) with negative, zero, fractional
    /// and > 1 slopes, run through our front end and compared with the definition.
    #[test]
    fn prelu_matches_the_onnx_definition() {
        use tract_onnx::pb::*;
        let slope = [-0.3f32, 0.25, 1.5];
        let slope_tensor = TensorProto {
            name: "slope".into(),
            dims: vec![3, 1, 1],
            data_type: tensor_proto::DataType::Float as i32,
            float_data: slope.to_vec(),
            ..Default::default()
        };
        let value_info = |name: &str, dims: &[i64]| ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: tensor_proto::DataType::Float as i32,
                    shape: Some(TensorShapeProto {
                        dim: dims
                            .iter()
                            .map(|&d| tensor_shape_proto::Dimension {
                                value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
                                ..Default::default()
                            })
                            .collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        };
        let graph = GraphProto {
            node: vec![NodeProto {
                input: vec!["x".into(), "slope".into()],
                output: vec!["y".into()],
                op_type: "PRelu".into(),
                ..Default::default()
            }],
            initializer: vec![slope_tensor],
            input: vec![value_info("x", &[1, 3, 2, 2])],
            output: vec![value_info("y", &[1, 3, 2, 2])],
            ..Default::default()
        };
        let proto = ModelProto {
            ir_version: 7,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            graph: Some(graph),
            ..Default::default()
        };
        let x: Vec<f32> = vec![
            -2.0, -0.5, 0.0, 3.0, //
            -1.0, 2.0, -4.0, 0.5, //
            -3.0, 1.0, -0.25, 0.0,
        ];
        let plan = onnx()
            .model_for_proto_model(&proto)
            .expect("parse")
            .into_optimized()
            .expect("optimise")
            .into_runnable()
            .expect("plan");
        let input = Tensor::from_shape(&[1, 3, 2, 2], &x).expect("input");
        let out = plan.run(tvec!(input.into())).expect("run");
        let view = out[0].to_plain_array_view::<f32>().expect("f32");
        let y: Vec<f32> = view.iter().copied().collect();
        let expected: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| if v < 0.0 { slope[i / 4] * v } else { v })
            .collect();
        for (got, want) in y.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-6, "got {y:?}, want {expected:?}");
        }
        // The rewrite, not tract's select, ran: no Iff node is left in the plan.
        assert!(
            plan.model().nodes().iter().all(|n| n.op.name() != "Iff"),
            "a select node survived: {:?}",
            plan.model()
                .nodes()
                .iter()
                .map(|n| n.op.name())
                .collect::<Vec<_>>()
        );
    }
}
