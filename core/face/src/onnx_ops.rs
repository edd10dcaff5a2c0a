//! The ONNX front end the engine loads models with: tract's, with two operators run
//! differently. Same values, less time; the model files (and their SHA-256) are untouched.
//!
//! - `PRelu`: tract expands it into `x·slope`, `x > 0` (a boolean tensor) and a generic
//!   element-wise select, none of them fused or vectorised; in MiniFASNet's 33 PReLUs that was
//!   half of the model's time. The same function written as `x + (slope − 1)·min(x, 0)` uses
//!   three vectorised arithmetic kernels and no boolean tensor:
//!   for x ≥ 0 it is x; for x < 0 it is x + slope·x − x = slope·x.
//! - `MaxPool` over 2×2 windows with stride 2 ([`max_pool`]): tract's generic pooling walks a
//!   patch description per output pixel and was a fifth to a quarter of YuNet's time; matching
//!   nodes are renamed in the parsed ONNX graph before tract reads it ([`model_for_bytes`]);
//!   every other node goes through tract unchanged. (A depthwise 3×3 kernel with the ReLU
//!   fused was tried the same way and dropped: inside tract's plan it ran slower than tract's
//!   own `DepthWiseConv`.)
mod max_pool;

use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto};
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::math;

pub use max_pool::MaxPool2x2;

const MAX_POOL_OP: &str = "FaceIdMaxPool2x2";

/// tract's ONNX front end with `PRelu` rewritten and our max-pooling registered (see the
/// module docs). Use [`model_for_bytes`] to also route the matching nodes to the kernels.
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    onnx.op_register
        .insert("PRelu", |_, _| Ok((expand(ArithmeticPrelu), vec![])));
    onnx.op_register.insert(MAX_POOL_OP, |_, _| {
        Ok((expand(max_pool::MaxPool2x2Node), vec![]))
    });
    onnx
}

/// Parse an ONNX model with the engine's front end: 2×2 max-pools are routed to our kernel,
/// the rest is tract's.
pub fn model_for_bytes(bytes: &[u8]) -> TractResult<InferenceModel> {
    let onnx = onnx();
    let mut proto = onnx.proto_model_for_read(&mut &*bytes)?;
    if let Some(graph) = proto.graph.as_mut() {
        let routed = route_to_kernels(graph);
        tracing::debug!(
            max_pool = routed.max_pool,
            "nodes routed to the engine's kernels"
        );
    }
    onnx.model_for_proto_model(&proto)
}

/// How many nodes [`route_to_kernels`] rewrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoutedNodes {
    pub max_pool: usize,
}

/// Rename the nodes our kernels compute exactly, in place; leave everything else alone.
pub fn route_to_kernels(graph: &mut GraphProto) -> RoutedNodes {
    let mut routed = RoutedNodes::default();
    for node in graph.node.iter_mut() {
        if node.op_type == "MaxPool" && is_max_pool_2x2(node) {
            node.op_type = MAX_POOL_OP.into();
            node.domain.clear();
            node.attribute.clear();
            routed.max_pool += 1;
        }
    }
    routed
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn int_attr(node: &NodeProto, name: &str) -> Option<i64> {
    attr(node, name).map(|a| a.i)
}

/// The attribute is absent or holds exactly `want`.
fn ints_are(node: &NodeProto, name: &str, want: &[i64]) -> bool {
    attr(node, name).is_none_or(|a| a.ints == want)
}

fn no_auto_pad(node: &NodeProto) -> bool {
    attr(node, "auto_pad").is_none_or(|a| a.s.is_empty() || a.s == b"NOTSET")
}

/// `MaxPool` with a 2×2 kernel, stride 2, no padding, `ceil_mode = 0`, one output.
fn is_max_pool_2x2(node: &NodeProto) -> bool {
    node.output.len() == 1
        && attr(node, "kernel_shape").is_some_and(|a| a.ints == [2, 2])
        && attr(node, "strides").is_some_and(|a| a.ints == [2, 2])
        && ints_are(node, "pads", &[0, 0, 0, 0])
        && ints_are(node, "dilations", &[1, 1])
        && int_attr(node, "ceil_mode").unwrap_or(0) == 0
        && int_attr(node, "storage_order").unwrap_or(0) == 0
        && no_auto_pad(node)
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
    use tract_onnx::pb::*;

    fn float_tensor(name: &str, dims: &[i64], values: Vec<f32>) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: tensor_proto::DataType::Float as i32,
            float_data: values,
            ..Default::default()
        }
    }

    fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
        ValueInfoProto {
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
        }
    }

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            ints: v.to_vec(),
            r#type: attribute_proto::AttributeType::Ints as i32,
            ..Default::default()
        }
    }

    fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            op_type: op.into(),
            attribute,
            ..Default::default()
        }
    }

    fn model(graph: GraphProto) -> ModelProto {
        ModelProto {
            ir_version: 7,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            graph: Some(graph),
            ..Default::default()
        }
    }

    /// Deterministic values in [−1, 1) (no random crate needed).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// Runs `proto` with tract's stock front end and with ours; returns both outputs and the
    /// op names of our plan.
    fn stock_and_ours(proto: &ModelProto, input: &Tensor) -> (Vec<f32>, Vec<f32>, Vec<String>) {
        let run = |plan: &std::sync::Arc<TypedRunnableModel>| -> Vec<f32> {
            let out = plan.run(tvec!(input.clone().into())).expect("run");
            out[0]
                .to_plain_array_view::<f32>()
                .expect("f32")
                .iter()
                .copied()
                .collect()
        };
        let stock = tract_onnx::onnx()
            .model_for_proto_model(proto)
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .expect("stock plan");
        let mut routed = proto.clone();
        route_to_kernels(routed.graph.as_mut().expect("graph"));
        let ours = onnx()
            .model_for_proto_model(&routed)
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .expect("our plan");
        let names = ours
            .model()
            .nodes()
            .iter()
            .map(|n| n.op.name().to_string())
            .collect();
        (run(&stock), run(&ours), names)
    }

    /// 2×2 / stride-2 max-pooling on even and odd planes (the last row and column of an odd
    /// plane are dropped, as ONNX's floor mode does); a 3×3 pool is left to tract.
    #[test]
    fn max_pool_matches_tract() {
        for (c, h, w) in [(2, 8, 8), (3, 7, 9), (1, 2, 3), (16, 48, 80)] {
            let graph = GraphProto {
                node: vec![node(
                    "MaxPool",
                    &["x"],
                    "y",
                    vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
                )],
                input: vec![value_info("x", &[1, c, h, w])],
                output: vec![value_info("y", &[1, c, h / 2, w / 2])],
                ..Default::default()
            };
            let dims = [1, c as usize, h as usize, w as usize];
            let x = Tensor::from_shape(&dims, &values(dims.iter().product(), 13)).expect("x");
            let (stock, ours, names) = stock_and_ours(&model(graph), &x);
            assert_eq!(ours, stock);
            assert!(
                names.iter().any(|n| n == MAX_POOL_OP),
                "ours ran: {names:?}"
            );
        }
        let mut three = GraphProto {
            node: vec![node(
                "MaxPool",
                &["x"],
                "y",
                vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2])],
            )],
            ..Default::default()
        };
        assert_eq!(route_to_kernels(&mut three).max_pool, 0);
    }

    /// A one-node ONNX graph: PRelu(x[1,3,2,2], slope[3,1,1]) with negative, zero, fractional
    /// and > 1 slopes, run through our front end and compared with the definition.
    #[test]
    fn prelu_matches_the_onnx_definition() {
        let slope = [-0.3f32, 0.25, 1.5];
        let graph = GraphProto {
            node: vec![node("PRelu", &["x", "slope"], "y", vec![])],
            initializer: vec![float_tensor("slope", &[3, 1, 1], slope.to_vec())],
            input: vec![value_info("x", &[1, 3, 2, 2])],
            output: vec![value_info("y", &[1, 3, 2, 2])],
            ..Default::default()
        };
        let proto = model(graph);
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
