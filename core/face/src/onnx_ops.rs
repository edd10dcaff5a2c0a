//! The ONNX front end the engine loads models with: tract's, with a few operators run
//! differently. Same values (bit for bit; the pointwise convolution to float rounding), less
//! time; the model files (and their SHA-256) are untouched.
//!
//! - `PRelu`: tract expands it into `x·slope`, `x > 0` (a boolean tensor) and a generic
//!   element-wise select, none of them fused or vectorised; in MiniFASNet's 33 PReLUs that was
//!   half of the model's time. The same function written as `x + (slope − 1)·min(x, 0)` uses
//!   three vectorised arithmetic kernels and no boolean tensor:
//!   for x ≥ 0 it is x; for x < 0 it is x + slope·x − x = slope·x.
//! - `MaxPool` over k×k windows with stride s, no padding ([`max_pool`]): tract's generic
//!   pooling walks a patch description per output pixel and was a fifth to a quarter of YuNet's
//!   time. Matching nodes are renamed in the parsed ONNX graph before tract reads it
//!   ([`model_for_bytes`]); every other node goes through tract unchanged.
//! - Pointwise (1×1) convolutions ([`conv1x1`]) with at most 32 input channels, and with more
//!   on a CPU with AVX-512: a register-blocked kernel on the planes in place, where tract packs
//!   the activations first (on YuNet's large early maps with few channels the packing cost as
//!   much as the product) and its product ran MobileFaceNet's 64–512-channel layers at about
//!   35 GMAC/s. Routed like the pools; equal to tract's to float rounding (same summation
//!   order), not bit for bit.
//! - Constant `Pad` on rank-4 f32 ([`pad`]), both the model's own and the ones tract inserts
//!   in front of each padded convolution it lowers to im2col: tract's generic slice assignment
//!   was 4 % of dlib's time. These are swapped in the optimised typed model
//!   ([`swap_in_kernels`]), where tract has put them.
//! - Depthwise 3×3 convolutions (`group = C`), stride 1 or 2, padding 0 or 1 ([`depthwise`]):
//!   tract's `DepthWiseConv` runs the border zones of the map on a scalar path that re-derives
//!   the patch per pixel, and on MobileFaceNet's small maps that path alone was a third of the
//!   embedding's instructions. Routed like the pools; equal to tract's to float rounding (the
//!   nine taps summed in another order). (An earlier depthwise kernel swapped into the typed
//!   plan with the ReLU fused ran slower than tract's; this one copies each channel once into a
//!   zero-bordered plane so every output row is one branch-free vectorised loop.)
//! - Dense 3×3 convolutions over more than four input channels, on a CPU with AVX-512
//!   ([`conv3x3_blocked`]; dlib's 28): each input plane laid out as for the depthwise kernel
//!   ([`Window3x3`]), and a 12 positions × 32 output channels register block over the nine
//!   shifted tap slices, where tract pads, builds the im2col matrix and multiplies. Equal to
//!   tract's to float rounding (same summation order).
//!
//! Every convolution op packs its weights and bias once, when it is wired into the typed model
//! ([`Packed`]), and keeps them; x is its only input.
mod conv1x1;
mod conv3x3;
mod conv3x3_blocked;
mod depthwise;
mod max_pool;
mod pad;
mod window3x3;

use std::collections::HashMap;

use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto};
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_core::ops::math;

pub use conv1x1::{Conv1x1, wide_kernel_available as wide_pointwise_available};
pub use conv3x3::Conv3x3;
pub use conv3x3_blocked::Conv3x3Blocked;
pub use depthwise::Depthwise3x3;
pub use max_pool::MaxPool;
pub use pad::Pad4;
pub use window3x3::Window3x3;

const MAX_POOL_OP: &str = "FaceIdMaxPool";
const CONV1X1_OP: &str = "FaceIdConv1x1";
const DEPTHWISE_OP: &str = "FaceIdDepthwise3x3";
const CONV3X3_OP: &str = "FaceIdConv3x3";
const CONV3X3_BLOCKED_OP: &str = "FaceIdConv3x3Blocked";

/// tract's ONNX front end with `PRelu` rewritten and our kernels registered (see the module
/// docs). Use [`model_for_bytes`] to also route the matching nodes to the kernels.
pub fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    onnx.op_register
        .insert("PRelu", |_, _| Ok((expand(ArithmeticPrelu), vec![])));
    onnx.op_register.insert(MAX_POOL_OP, |_, node| {
        let (kernel, stride) = square_window(node)
            .ok_or_else(|| format_err!("{MAX_POOL_OP} `{}`: bad attributes", node.name))?;
        Ok((
            expand(max_pool::MaxPoolNode(MaxPool { kernel, stride })),
            vec![],
        ))
    });
    onnx.op_register.insert(CONV1X1_OP, |_, node| {
        let clamp = Clamp::from_attributes(node);
        let attributes = conv1x1::Conv1x1Attributes { clamp };
        Ok((expand(conv1x1::Conv1x1Node(attributes)), vec![]))
    });
    onnx.op_register.insert(DEPTHWISE_OP, |_, node| {
        let window = window_3x3(node, DEPTHWISE_OP)?;
        Ok((expand(depthwise::DepthwiseNode(window)), vec![]))
    });
    // One node for both: it picks the kernel by the weights' input channels when wired.
    for op in [CONV3X3_OP, CONV3X3_BLOCKED_OP] {
        onnx.op_register.insert(op, |_, node| {
            let window = window_3x3(node, &node.op_type)?;
            Ok((expand(conv3x3::Dense3x3Node(window)), vec![]))
        });
    }
    onnx
}

/// The stride, padding and folded activation of a routed 3×3 convolution node.
fn window_3x3(node: &NodeProto, op: &str) -> TractResult<Window3x3> {
    let first = |name: &str, default: i64| {
        attr(node, name).map_or(default, |a| a.ints.first().copied().unwrap_or(default))
    };
    let (stride, pad) = (first("strides", 1), first("pads", 0));
    if !(1..=2).contains(&stride) || !(0..=1).contains(&pad) {
        bail!("{op} `{}`: bad attributes", node.name);
    }
    Ok(Window3x3 {
        stride: stride as usize,
        pad: pad as usize,
        clamp: Clamp::from_attributes(node),
    })
}

/// Parse an ONNX model with the engine's front end: plain max-pools are routed to our kernel,
/// the rest is tract's.
pub fn model_for_bytes(bytes: &[u8]) -> TractResult<InferenceModel> {
    let onnx = onnx();
    let mut proto = onnx.proto_model_for_read(&mut &*bytes)?;
    if let Some(graph) = proto.graph.as_mut() {
        let routed = route_to_kernels(graph);
        tracing::debug!(
            max_pool = routed.max_pool,
            conv1x1 = routed.conv1x1,
            depthwise = routed.depthwise,
            conv3x3 = routed.conv3x3,
            conv3x3_blocked = routed.conv3x3_blocked,
            fused_activations = routed.fused_activations,
            "nodes routed to the engine's kernels"
        );
    }
    onnx.model_for_proto_model(&proto)
}

/// Replace, in an optimised typed model, the ops our kernels compute exactly: constant `Pad`
/// on rank-4 f32 becomes [`Pad4`]. Returns how many nodes changed.
pub fn swap_in_kernels(model: &mut TypedModel) -> TractResult<usize> {
    use tract_onnx::tract_hir::tract_core::ops::array::{Pad, PadMode};
    let mut swapped = 0;
    for id in 0..model.nodes().len() {
        let node = model.node(id);
        let Some(pad) = node.op_as::<Pad>() else {
            continue;
        };
        let PadMode::Constant(value) = &pad.mode else {
            continue;
        };
        let Ok(value) = value.cast_to_scalar::<f32>() else {
            continue;
        };
        let [input] = node.inputs.as_slice() else {
            continue;
        };
        let fact = model.outlet_fact(*input)?;
        if fact.datum_type != f32::datum_type() || pad.pads.len() != 4 {
            continue;
        }
        let p = &pad.pads;
        let op = Pad4 {
            before: [p[0].0, p[1].0, p[2].0, p[3].0],
            after: [p[0].1, p[1].1, p[2].1, p[3].1],
            value_bits: value.to_bits(),
        };
        model.node_mut(id).op = Box::new(op);
        swapped += 1;
    }
    Ok(swapped)
}

/// The evaluation frame our kernels share: a rank-4 f32 input as one contiguous slice (copied
/// only if tract hands over a strided view), and an output of `output_dims(input dims)`
/// written by `compute(input dims, input, output)` straight into tract's aligned tensor (an
/// ndarray result would be copied once more).
///
/// `compute` must write **every** value of the output: the tensor is not zeroed first (zeroing
/// was a tenth of MobileFaceNet's instructions under callgrind, all of it overwritten at once).
/// In builds with debug assertions (the tests) the output starts as NaN instead, so a value a
/// kernel leaves unwritten shows in every comparison with tract.
pub(crate) fn eval_rank4(
    input: &TValue,
    op: &str,
    output_dims: impl FnOnce([usize; 4]) -> [usize; 4],
    compute: impl FnOnce([usize; 4], &[f32], &mut [f32]),
) -> TractResult<TVec<TValue>> {
    let view = input.to_plain_array_view::<f32>()?;
    let &[n, c, h, w] = view.shape() else {
        bail!("{op} expects a rank-4 tensor, got {:?}", view.shape());
    };
    let contiguous;
    let data = match view.as_slice() {
        Some(s) => s,
        None => {
            contiguous = view.iter().copied().collect::<Vec<f32>>();
            &contiguous
        }
    };
    let dims = [n, c, h, w];
    let mut tensor = output_tensor(&output_dims(dims))?;
    {
        let mut out = tensor.try_as_plain_ram_mut()?;
        let out = out.as_slice_mut::<f32>()?;
        if cfg!(debug_assertions) {
            out.fill(f32::NAN);
        }
        compute(dims, data, out);
    }
    Ok(tvec!(tensor.into_tvalue()))
}

/// An f32 tensor of `shape` whose values are not initialised, for [`eval_rank4`] to hand to a
/// kernel that overwrites all of them.
#[allow(unsafe_code)]
fn output_tensor(shape: &[usize]) -> TractResult<Tensor> {
    // SAFETY: f32 has no invalid bit patterns, and the one caller, `eval_rank4`, hands the
    // buffer to a kernel that writes every value before anything reads it (each kernel's
    // output loop covers the whole tensor; the tests compare every value with tract's, and
    // with debug assertions the buffer starts as NaN so a missed value cannot pass as 0).
    // tract's own operators allocate their outputs the same way.
    unsafe { Tensor::uninitialized::<f32>(shape) }
}

/// Whether the CPU runs AVX-512F, for the kernels that have a build with it (the wide
/// pointwise block, the blocked 3×3 convolution). Cached by the standard library after the
/// first call.
pub(crate) fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A kernel call that [`with_avx512`] can compile with AVX-512. Implementations mark `run`
/// `#[inline(always)]`, so its body (and the `#[inline(always)]` kernels it calls) is compiled
/// inside the AVX-512 function rather than for the build's baseline.
pub(crate) trait Kernel {
    type Output;
    fn run(self) -> Self::Output;
}

/// Runs `kernel` compiled with AVX-512F when the CPU has it, otherwise the same code for the
/// build's baseline (the routers send work here mostly where AVX-512 exists; the baseline path
/// serves the tests on other CPUs and a model routed elsewhere).
#[allow(unsafe_code)]
pub(crate) fn with_avx512<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn run<K: Kernel>(kernel: K) -> K::Output {
            kernel.run()
        }
        if avx512_available() {
            // SAFETY: the CPU was just found to have AVX-512F, the one feature the function
            // is compiled with beyond the build's baseline.
            return unsafe { run(kernel) };
        }
    }
    kernel.run()
}

/// `a·b + acc`, fused where the target has the instruction (x86-64-v3 builds, ARM); a software
/// fused multiply-add would be far slower than the two instructions.
#[inline(always)]
pub(crate) fn fma(a: f32, b: f32, acc: f32) -> f32 {
    if cfg!(any(target_feature = "fma", target_arch = "aarch64")) {
        a.mul_add(b, acc)
    } else {
        a * b + acc
    }
}

/// `acc[k][j] += a[k] · b[j]` for a whole register block (fixed sizes, so it compiles to
/// vector FMAs: `b` in the lanes, each `a[k]` broadcast).
#[inline(always)]
pub(crate) fn accumulate<const C: usize, const P: usize>(
    acc: &mut [[f32; P]; C],
    a: &[f32; C],
    b: &[f32; P],
) {
    for k in 0..C {
        for j in 0..P {
            acc[k][j] = fma(a[k], b[j], acc[k][j]);
        }
    }
}

/// The constant tensor a routed convolution reads on `input` (its weights or bias: the router
/// takes only initializers), for the op to pack when it is wired.
pub(crate) fn constant_input(
    model: &TypedModel,
    input: OutletId,
    what: &str,
) -> TractResult<Arc<Tensor>> {
    model
        .outlet_fact(input)?
        .konst
        .clone()
        .ok_or_else(|| format_err!("{what}: weights and bias must be constants"))
}

/// A routed convolution's input x has `channels` channels (the ones its packed weights take).
pub(crate) fn check_input_channels(x: &TValue, channels: usize, what: &str) -> TractResult<()> {
    let x_channels = x.shape().get(1).copied();
    if x_channels != Some(channels) {
        bail!("{what}: {x_channels:?} input channels for weights of {channels}");
    }
    Ok(())
}

/// The output fact of a routed convolution: f32 NCHW with `channels` channels and x's height
/// and width mapped through `spatial`.
pub(crate) fn conv_output_fact(
    what: &str,
    x: &TypedFact,
    channels: usize,
    spatial: impl Fn(&TDim) -> TDim,
) -> TractResult<TVec<TypedFact>> {
    if x.datum_type != f32::datum_type() || x.rank() != 4 {
        bail!("{what} expects f32 NCHW, got {x:?}");
    }
    Ok(tvec!(f32::fact([
        x.shape[0].clone(),
        channels.into(),
        spatial(&x.shape[2]),
        spatial(&x.shape[3]),
    ])))
}

/// A convolution's bias: input 2 as `c_out` values, or zeros when there is none.
pub(crate) fn conv_bias(
    model: &TypedModel,
    inputs: &[OutletId],
    c_out: usize,
    what: &str,
) -> TractResult<Vec<f32>> {
    let Some(&input) = inputs.get(2) else {
        return Ok(vec![0.0; c_out]);
    };
    let bias: Vec<f32> = constant_input(model, input, what)?
        .to_plain_array_view::<f32>()?
        .iter()
        .copied()
        .collect();
    if bias.len() != c_out {
        bail!("{what}: {} biases for {c_out} outputs", bias.len());
    }
    Ok(bias)
}

/// Weights packed for a kernel when its op is wired (groups of `N` values), and the bias;
/// clones of the op share them. Two are equal when they share the buffers or hold the same
/// bits (tract compares ops when it deduplicates nodes).
#[derive(Clone)]
pub struct Packed<const N: usize> {
    pub(crate) weights: Arc<Vec<[f32; N]>>,
    pub(crate) bias: Arc<Vec<f32>>,
}

impl<const N: usize> Packed<N> {
    pub(crate) fn new(weights: Vec<[f32; N]>, bias: Vec<f32>) -> Self {
        Packed {
            weights: Arc::new(weights),
            bias: Arc::new(bias),
        }
    }
}

impl<const N: usize> PartialEq for Packed<N> {
    fn eq(&self, other: &Self) -> bool {
        fn same_bits(a: &[f32], b: &[f32]) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        }
        (Arc::ptr_eq(&self.weights, &other.weights)
            || same_bits(self.weights.as_flattened(), other.weights.as_flattened()))
            && (Arc::ptr_eq(&self.bias, &other.bias) || same_bits(&self.bias, &other.bias))
    }
}

impl<const N: usize> Eq for Packed<N> {}

impl<const N: usize> std::fmt::Debug for Packed<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Packed {{ {} groups of {N}, {} biases }}",
            self.weights.len(),
            self.bias.len()
        )
    }
}

/// Positions of a `kernel`-wide window moved by `stride` over `n` values with `pad` more on each
/// side (floor mode; 0 when the window does not fit).
pub(crate) fn window_len(n: usize, kernel: usize, stride: usize, pad: usize) -> usize {
    (n + 2 * pad)
        .checked_sub(kernel)
        .map_or(0, |room| room / stride + 1)
}

/// [`window_len`] of a dimension (symbolic sizes do not occur: plans are built for concrete
/// input sizes, but the formula is kept for them).
pub(crate) fn window_dim(input: &TDim, kernel: usize, stride: usize, pad: usize) -> TDim {
    match input.to_i64() {
        Ok(n) => TDim::from(window_len(n.max(0) as usize, kernel, stride, pad)),
        Err(_) => (input.clone() + 2 * pad as i64 - kernel as i64) / stride as u64 + 1,
    }
}

/// The inference rules shared by the convolution nodes: inputs x, weights and an optional bias,
/// one output of x's type, x, the weights and the output all rank 4.
pub(crate) fn conv_rules<'r, 'p: 'r>(
    what: &str,
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
) -> InferenceResult {
    if inputs.len() != 2 && inputs.len() != 3 {
        bail!("{what} takes 2 or 3 inputs, got {}", inputs.len());
    }
    check_output_arity(outputs, 1)?;
    s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
    s.equals(&inputs[0].rank, 4)?;
    s.equals(&inputs[1].rank, 4)?;
    s.equals(&outputs[0].rank, 4)
}

/// The output's shape is input 0's with height and width mapped through `dim`.
pub(crate) fn spatial_shape_rule<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
    dim: impl Fn(&TDim) -> TDim + 'r,
) -> InferenceResult {
    s.given(&inputs[0].shape, move |s, shape| {
        let mut out = shape.clone();
        out[2] = dim(&shape[2]);
        out[3] = dim(&shape[3]);
        s.equals(&outputs[0].shape, out)
    })
}

/// How many nodes [`route_to_kernels`] rewrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoutedNodes {
    pub max_pool: usize,
    pub conv1x1: usize,
    pub depthwise: usize,
    /// 3×3 convolutions over at most four input channels (the first layers).
    pub conv3x3: usize,
    /// 3×3 convolutions over more input channels, on a CPU with AVX-512 (dlib's).
    pub conv3x3_blocked: usize,
    /// `Relu` / `Clip` nodes folded into the convolution before them ([`fuse_activations`]).
    pub fused_activations: usize,
}

/// Rename the nodes our kernels compute exactly, in place; leave everything else alone.
pub fn route_to_kernels(graph: &mut GraphProto) -> RoutedNodes {
    let mut routed = RoutedNodes::default();
    let weight_dims: HashMap<String, Vec<i64>> = graph
        .initializer
        .iter()
        .map(|t| (t.name.clone(), t.dims.clone()))
        .collect();
    for node in graph.node.iter_mut() {
        if node.op_type == "Conv" && pointwise_conv(node, &weight_dims) {
            node.op_type = CONV1X1_OP.into();
            node.domain.clear();
            node.attribute.clear();
            routed.conv1x1 += 1;
            continue;
        }
        if node.op_type == "Conv" && depthwise_3x3(node, &weight_dims) {
            node.op_type = DEPTHWISE_OP.into();
            node.domain.clear();
            node.attribute
                .retain(|a| a.name == "strides" || a.name == "pads");
            routed.depthwise += 1;
            continue;
        }
        if node.op_type == "Conv" && few_channel_3x3(node, &weight_dims) {
            node.op_type = CONV3X3_OP.into();
            node.domain.clear();
            node.attribute
                .retain(|a| a.name == "strides" || a.name == "pads");
            routed.conv3x3 += 1;
            continue;
        }
        if node.op_type == "Conv" && blocked_3x3(node, &weight_dims) {
            node.op_type = CONV3X3_BLOCKED_OP.into();
            node.domain.clear();
            node.attribute
                .retain(|a| a.name == "strides" || a.name == "pads");
            routed.conv3x3_blocked += 1;
            continue;
        }
        if node.op_type == "MaxPool" && plain_max_pool(node).is_some() {
            node.op_type = MAX_POOL_OP.into();
            node.domain.clear();
            node.attribute
                .retain(|a| a.name == "kernel_shape" || a.name == "strides");
            routed.max_pool += 1;
        }
    }
    routed.fused_activations = fuse_activations(graph);
    routed
}

/// Attribute names the fused bounds travel under in the rewritten graph.
const CLAMP_MIN_ATTR: &str = "faceid_clamp_min";
const CLAMP_MAX_ATTR: &str = "faceid_clamp_max";

/// The activation a kernel applies to each output value as it stores it: `min(max(v, lo), hi)`,
/// what ONNX `Clip` computes (`Relu` is `lo = 0`, `hi = +∞`; none is `−∞, +∞`). Stored as bits
/// so the ops stay `Eq` and `Hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Clamp {
    min_bits: u32,
    max_bits: u32,
}

impl Clamp {
    pub const NONE: Clamp = Clamp::new(f32::NEG_INFINITY, f32::INFINITY);

    pub const fn new(min: f32, max: f32) -> Clamp {
        Clamp {
            min_bits: min.to_bits(),
            max_bits: max.to_bits(),
        }
    }

    fn from_attributes(node: &NodeProto) -> Clamp {
        let bound = |name: &str, default: f32| attr(node, name).map_or(default, |a| a.f);
        Clamp::new(
            bound(CLAMP_MIN_ATTR, f32::NEG_INFINITY),
            bound(CLAMP_MAX_ATTR, f32::INFINITY),
        )
    }

    #[inline(always)]
    pub fn apply(self, v: f32) -> f32 {
        v.max(f32::from_bits(self.min_bits))
            .min(f32::from_bits(self.max_bits))
    }
}

/// Fold each `Relu`, and each `Clip` with constant bounds, into the routed pointwise or
/// depthwise convolution that is its input's only producer and whose output nothing else
/// reads: the kernel clamps as it stores, and the separate pass over the tensor (7 % of
/// MobileFaceNet's time, 5 % of YuNet's) is gone. Returns how many were folded.
fn fuse_activations(graph: &mut GraphProto) -> usize {
    let mut readers: HashMap<String, usize> = HashMap::new();
    for node in &graph.node {
        for input in &node.input {
            *readers.entry(input.clone()).or_default() += 1;
        }
    }
    for output in &graph.output {
        *readers.entry(output.name.clone()).or_default() += 1;
    }
    let constants = scalar_constants(graph);
    let producer: HashMap<String, usize> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            [CONV1X1_OP, DEPTHWISE_OP, CONV3X3_OP, CONV3X3_BLOCKED_OP].contains(&n.op_type.as_str())
        })
        .filter_map(|(i, n)| Some((n.output.first()?.clone(), i)))
        .collect();
    let mut folded = Vec::new();
    for (a, node) in graph.node.iter().enumerate() {
        let Some(input) = node.input.first() else {
            continue;
        };
        let Some(&conv) = producer.get(input) else {
            continue;
        };
        if readers.get(input) != Some(&1) || node.output.len() != 1 {
            continue;
        }
        let clamp = match node.op_type.as_str() {
            "Relu" => Some((0.0, f32::INFINITY)),
            "Clip" => clip_bounds(node, &constants),
            _ => None,
        };
        if let Some(bounds) = clamp {
            folded.push((a, conv, bounds));
        }
    }
    for &(a, conv, (min, max)) in &folded {
        let output = graph.node[a].output[0].clone();
        let conv = &mut graph.node[conv];
        conv.output[0] = output;
        conv.attribute.push(float_attribute(CLAMP_MIN_ATTR, min));
        conv.attribute.push(float_attribute(CLAMP_MAX_ATTR, max));
    }
    let removed: std::collections::HashSet<usize> = folded.iter().map(|f| f.0).collect();
    let mut index = 0;
    graph.node.retain(|_| {
        index += 1;
        !removed.contains(&(index - 1))
    });
    folded.len()
}

/// `Clip`'s bounds: inputs 2 and 3 (opset 11 on; absent or empty means unbounded) when they
/// are scalar constants, or the `min` / `max` attributes of older opsets.
fn clip_bounds(node: &NodeProto, constants: &HashMap<String, f32>) -> Option<(f32, f32)> {
    let bound = |i: usize, name: &str, default: f32| match node.input.get(i) {
        Some(input) if !input.is_empty() => constants.get(input).copied(),
        _ => Some(attr(node, name).map_or(default, |a| a.f)),
    };
    Some((
        bound(1, "min", f32::NEG_INFINITY)?,
        bound(2, "max", f32::INFINITY)?,
    ))
}

/// Scalar f32 constants of the graph by name: initializers and `Constant` nodes' `value`.
fn scalar_constants(graph: &GraphProto) -> HashMap<String, f32> {
    let scalar = |t: &tract_onnx::pb::TensorProto| -> Option<f32> {
        if t.data_type != tract_onnx::pb::tensor_proto::DataType::Float as i32
            || t.dims.iter().product::<i64>() != 1
        {
            return None;
        }
        match (t.float_data.as_slice(), t.raw_data.as_slice()) {
            (&[v], _) => Some(v),
            ([], raw) => Some(f32::from_le_bytes(raw.try_into().ok()?)),
            _ => None,
        }
    };
    let from_nodes = graph.node.iter().filter_map(|n| {
        let value = attr(n, "value")?.t.as_ref()?;
        (n.op_type == "Constant").then_some((n.output.first()?.clone(), scalar(value)?))
    });
    let from_initializers = graph
        .initializer
        .iter()
        .filter_map(|t| Some((t.name.clone(), scalar(t)?)));
    from_nodes.chain(from_initializers).collect()
}

fn float_attribute(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: value,
        r#type: tract_onnx::pb::attribute_proto::AttributeType::Float as i32,
        ..Default::default()
    }
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

/// A convolution's third input, the bias, is absent or an initializer.
fn constant_or_no_bias(node: &NodeProto, weight_dims: &HashMap<String, Vec<i64>>) -> bool {
    match node.input.get(2) {
        Some(name) if !name.is_empty() => weight_dims.contains_key(name),
        _ => true,
    }
}

/// `Conv` with constant weights `[C_out, C_in, 1, 1]` (and constant bias, if any), stride 1,
/// no padding, dilation or groups; more than 32 input channels only where the wide kernel
/// runs with AVX-512 (elsewhere tract's product was not beaten).
fn pointwise_conv(node: &NodeProto, weight_dims: &HashMap<String, Vec<i64>>) -> bool {
    let weights_ok = node
        .input
        .get(1)
        .and_then(|n| weight_dims.get(n))
        .is_some_and(|d| {
            matches!(d.as_slice(), &[c_out, c_in, 1, 1] if c_out >= 1 && c_in >= 1
                && (c_in <= conv1x1::SMALL_INPUT_CHANNELS as i64 || conv1x1::wide_kernel_available()))
        });
    node.output.len() == 1
        && (2..=3).contains(&node.input.len())
        && weights_ok
        && constant_or_no_bias(node, weight_dims)
        && ints_are(node, "kernel_shape", &[1, 1])
        && ints_are(node, "strides", &[1, 1])
        && ints_are(node, "pads", &[0, 0, 0, 0])
        && ints_are(node, "dilations", &[1, 1])
        && int_attr(node, "group").unwrap_or(1) == 1
        && no_auto_pad(node)
}

/// A 3×3 window the shared layout takes ([`Window3x3`]): a single output, x, constant weights
/// and a constant bias if any; stride 1 or 2 and padding 0 or 1, the same on both axes and
/// every side; no dilation or automatic padding.
fn plain_3x3_window(node: &NodeProto, weight_dims: &HashMap<String, Vec<i64>>) -> bool {
    let strides_ok = ints_are(node, "strides", &[1, 1]) || ints_are(node, "strides", &[2, 2]);
    let pads_ok = ints_are(node, "pads", &[0, 0, 0, 0]) || ints_are(node, "pads", &[1, 1, 1, 1]);
    node.output.len() == 1
        && (2..=3).contains(&node.input.len())
        && constant_or_no_bias(node, weight_dims)
        && ints_are(node, "kernel_shape", &[3, 3])
        && strides_ok
        && pads_ok
        && ints_are(node, "dilations", &[1, 1])
        && no_auto_pad(node)
}

/// The constant weights' dimensions of a `Conv`.
fn conv_weight_dims<'a>(
    node: &NodeProto,
    weight_dims: &'a HashMap<String, Vec<i64>>,
) -> Option<&'a [i64]> {
    node.input
        .get(1)
        .and_then(|n| weight_dims.get(n))
        .map(Vec::as_slice)
}

/// `Conv` with constant weights `[C, 1, 3, 3]` and `group = C` on a plain 3×3 window
/// ([`plain_3x3_window`]).
fn depthwise_3x3(node: &NodeProto, weight_dims: &HashMap<String, Vec<i64>>) -> bool {
    let Some(&[c, 1, 3, 3]) = conv_weight_dims(node, weight_dims) else {
        return false;
    };
    int_attr(node, "group") == Some(c) && plain_3x3_window(node, weight_dims)
}

/// `Conv` with constant weights `[C_out, C_in ≤ 4, 3, 3]`, no groups, on a plain 3×3 window
/// ([`plain_3x3_window`]): a first layer over the colour planes. (Checked after
/// [`depthwise_3x3`], which takes a single-channel one declared with `group = 1`.)
fn few_channel_3x3(node: &NodeProto, weight_dims: &HashMap<String, Vec<i64>>) -> bool {
    let Some(&[c_out, c_in, 3, 3]) = conv_weight_dims(node, weight_dims) else {
        return false;
    };
    c_out >= 1
        && (1..=conv3x3::MAX_INPUT_CHANNELS as i64).contains(&c_in)
        && int_attr(node, "group").unwrap_or(1) == 1
        && plain_3x3_window(node, weight_dims)
}

/// `Conv` with constant weights `[C_out, C_in > 4, 3, 3]`, no groups, on a plain 3×3 window
/// ([`plain_3x3_window`]), where the blocked kernel runs with AVX-512 (elsewhere tract's
/// product stays).
fn blocked_3x3(node: &NodeProto, weight_dims: &HashMap<String, Vec<i64>>) -> bool {
    let Some(&[c_out, c_in, 3, 3]) = conv_weight_dims(node, weight_dims) else {
        return false;
    };
    c_out >= 1
        && c_in >= conv3x3_blocked::MIN_INPUT_CHANNELS as i64
        && int_attr(node, "group").unwrap_or(1) == 1
        && plain_3x3_window(node, weight_dims)
        && avx512_available()
}

/// Square kernel k ≤ 8 and square stride 1 ≤ s ≤ k (stride 1 when absent), from
/// `kernel_shape` and `strides`.
fn square_window(node: &NodeProto) -> Option<(usize, usize)> {
    let k = match attr(node, "kernel_shape")?.ints.as_slice() {
        &[a, b] if a == b && (1..=8).contains(&a) => a as usize,
        _ => return None,
    };
    let s = match attr(node, "strides").map(|a| a.ints.as_slice()) {
        None => 1,
        Some(&[a, b]) if a == b && a >= 1 && a as usize <= k => a as usize,
        Some(_) => return None,
    };
    Some((k, s))
}

/// `MaxPool` with a square window, no padding or dilation, `ceil_mode = 0`, one output (no
/// indices).
fn plain_max_pool(node: &NodeProto) -> Option<(usize, usize)> {
    let plain = node.output.len() == 1
        && ints_are(node, "pads", &[0, 0, 0, 0])
        && ints_are(node, "dilations", &[1, 1])
        && int_attr(node, "ceil_mode").unwrap_or(0) == 0
        && int_attr(node, "storage_order").unwrap_or(0) == 0
        && no_auto_pad(node);
    if plain { square_window(node) } else { None }
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
    use tract_onnx::pb::attribute_proto;
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

    /// The largest absolute difference between two outputs.
    fn worst_difference(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len(), "output lengths");
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            // A NaN (an output value left unwritten) is the worst difference, not skipped.
            .fold(
                0f32,
                |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
            )
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
        let mut ours = onnx()
            .model_for_proto_model(&routed)
            .and_then(|m| m.into_optimized())
            .expect("our model");
        swap_in_kernels(&mut ours).expect("swap");
        let ours = ours.into_runnable().expect("our plan");
        let names = ours
            .model()
            .nodes()
            .iter()
            .map(|n| n.op.name().to_string())
            .collect();
        (run(&stock), run(&ours), names)
    }

    /// Max-pooling with 2×2/2 (YuNet), 3×3/2 (dlib) and 3×3/1 windows on even and odd planes
    /// (rows and columns a window does not reach are dropped, as ONNX's floor mode does); a
    /// padded pool is left to tract.
    #[test]
    fn max_pool_matches_tract() {
        for (k, stride) in [(2, 2), (3, 2), (3, 1)] {
            for (c, h, w) in [(2, 8, 8), (3, 7, 9), (1, 3, 4), (32, 73, 73), (16, 48, 80)] {
                let (oh, ow) = ((h - k) / stride + 1, (w - k) / stride + 1);
                let graph = GraphProto {
                    node: vec![node(
                        "MaxPool",
                        &["x"],
                        "y",
                        vec![
                            ints("kernel_shape", &[k, k]),
                            ints("strides", &[stride, stride]),
                        ],
                    )],
                    input: vec![value_info("x", &[1, c, h, w])],
                    output: vec![value_info("y", &[1, c, oh, ow])],
                    ..Default::default()
                };
                let dims = [1, c as usize, h as usize, w as usize];
                let x = Tensor::from_shape(&dims, &values(dims.iter().product(), 13)).expect("x");
                let (stock, ours, names) = stock_and_ours(&model(graph), &x);
                assert_eq!(ours.len(), (c * oh * ow) as usize);
                assert_eq!(ours, stock, "{k}x{k}/{stride} on {c}x{h}x{w}");
                assert!(
                    names.iter().any(|n| n == MAX_POOL_OP),
                    "ours ran: {names:?}"
                );
            }
        }
        let mut padded = GraphProto {
            node: vec![node(
                "MaxPool",
                &["x"],
                "y",
                vec![
                    ints("kernel_shape", &[3, 3]),
                    ints("strides", &[2, 2]),
                    ints("pads", &[1, 1, 1, 1]),
                ],
            )],
            ..Default::default()
        };
        assert_eq!(route_to_kernels(&mut padded).max_pool, 0);
    }

    /// Pointwise convolutions of the sizes YuNet, MiniFASNet and MobileFaceNet use (and odd
    /// ones: 5 outputs, a 7×9 plane, no bias), with both block sizes (at most 32 input
    /// channels: the small one; more: the wide one, routed only where AVX-512 runs it), agree
    /// with tract's to float rounding; a stride or padding are left to tract.
    #[test]
    fn pointwise_conv_matches_tract() {
        for (c_in, c_out, h, w, bias) in [
            (16, 16, 12, 20, true),
            (32, 64, 8, 6, true),
            (3, 5, 7, 9, false),
            (32, 1, 5, 5, true),
            (33, 7, 3, 5, true),
            (64, 128, 28, 28, true),
            (512, 128, 7, 7, true),
            (128, 512, 1, 1, false),
            (96, 5, 7, 9, false),
        ] {
            let mut inputs = vec!["x", "w"];
            let mut initializer = vec![float_tensor(
                "w",
                &[c_out, c_in, 1, 1],
                values((c_out * c_in) as usize, 21),
            )];
            if bias {
                inputs.push("b");
                initializer.push(float_tensor("b", &[c_out], values(c_out as usize, 22)));
            }
            let graph = GraphProto {
                node: vec![node("Conv", &inputs, "y", vec![])],
                initializer,
                input: vec![value_info("x", &[1, c_in, h, w])],
                output: vec![value_info("y", &[1, c_out, h, w])],
                ..Default::default()
            };
            let dims = [1, c_in as usize, h as usize, w as usize];
            let x = Tensor::from_shape(&dims, &values(dims.iter().product(), 23)).expect("x");
            let (stock, ours, names) = stock_and_ours(&model(graph), &x);
            assert_eq!(ours.len(), (c_out * h * w) as usize);
            let worst = worst_difference(&stock, &ours);
            // Values are sums of c_in products of numbers below 1 in magnitude.
            assert!(
                worst <= 1e-5 * c_in as f32,
                "{c_in}->{c_out}: off by {worst}"
            );
            let routed = c_in <= 32 || conv1x1::wide_kernel_available();
            assert_eq!(
                names.iter().any(|n| n == CONV1X1_OP),
                routed,
                "ours ran: {names:?}"
            );
        }
        let route = |c_in: i64, attribute: Vec<AttributeProto>| {
            routed_conv(&[4, c_in, 1, 1], attribute).conv1x1
        };
        assert_eq!(route(32, vec![]), 1);
        assert_eq!(
            route(512, vec![]),
            usize::from(conv1x1::wide_kernel_available())
        );
        assert_eq!(route(16, vec![ints("strides", &[2, 2])]), 0);
        assert_eq!(route(16, vec![ints("pads", &[1, 1, 1, 1])]), 0);
    }

    /// A `Clip` with constant bounds (ReLU6, as MobileFaceNet has it: `Constant` nodes feeding
    /// inputs 2 and 3) after a pointwise convolution and a `Relu` after a depthwise one are
    /// folded into the kernels, and the model computes what tract's does; an activation whose
    /// input something else reads too, and a `Clip` with a computed bound, stay.
    #[test]
    fn activations_fold_into_the_convolution_before_them() {
        let (c, h, w) = (8i64, 9i64, 7i64);
        let constant = |name: &str, v: f32| NodeProto {
            output: vec![name.into()],
            op_type: "Constant".into(),
            attribute: vec![AttributeProto {
                name: "value".into(),
                t: Some(float_tensor("", &[], vec![v])),
                r#type: attribute_proto::AttributeType::Tensor as i32,
                ..Default::default()
            }],
            ..Default::default()
        };
        let graph = GraphProto {
            node: vec![
                node("Conv", &["x", "w1", "b1"], "p", vec![]),
                constant("lo", 0.0),
                constant("hi", 0.5),
                node("Clip", &["p", "lo", "hi"], "pa", vec![]),
                node(
                    "Conv",
                    &["pa", "w2"],
                    "d",
                    vec![
                        AttributeProto {
                            name: "group".into(),
                            i: c,
                            r#type: attribute_proto::AttributeType::Int as i32,
                            ..Default::default()
                        },
                        ints("pads", &[1, 1, 1, 1]),
                    ],
                ),
                node("Relu", &["d"], "da", vec![]),
                // Read twice: the Relu stays separate.
                node("Conv", &["da", "w3"], "q", vec![]),
                node("Relu", &["q"], "qa", vec![]),
                node("Add", &["q", "qa"], "y", vec![]),
            ],
            initializer: vec![
                float_tensor("w1", &[c, 3, 1, 1], values(3 * c as usize, 41)),
                float_tensor("b1", &[c], values(c as usize, 42)),
                float_tensor("w2", &[c, 1, 3, 3], values(9 * c as usize, 43)),
                float_tensor("w3", &[c, c, 1, 1], values((c * c) as usize, 44)),
            ],
            input: vec![value_info("x", &[1, 3, h, w])],
            output: vec![value_info("y", &[1, c, h, w])],
            ..Default::default()
        };
        let mut routed = graph.clone();
        let counts = route_to_kernels(&mut routed);
        assert_eq!(
            (counts.conv1x1, counts.depthwise, counts.fused_activations),
            (2, 1, 2)
        );
        let left: Vec<&str> = routed.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(
            left.iter().filter(|&&op| op == "Clip").count(),
            0,
            "{left:?}"
        );
        assert_eq!(
            left.iter().filter(|&&op| op == "Relu").count(),
            1,
            "{left:?}"
        );
        let dims = [1, 3, h as usize, w as usize];
        let x = Tensor::from_shape(&dims, &values(dims.iter().product(), 45)).expect("x");
        let (stock, ours, _) = stock_and_ours(&model(graph.clone()), &x);
        assert_eq!(ours.len(), stock.len());
        let worst = worst_difference(&stock, &ours);
        assert!(worst <= 1e-5, "off by {worst}");
        // The clamp really applies: some values sit on both bounds of the ReLU6-like clip.
        let mut clipped = graph;
        clipped.node.truncate(4);
        clipped.node[3].output[0] = "y".into();
        let (stock, ours, names) = stock_and_ours(&model(clipped), &x);
        assert!(ours.contains(&0.0) && ours.contains(&0.5), "{ours:?}");
        assert!(worst_difference(&stock, &ours) <= 1e-5);
        assert!(
            !names
                .iter()
                .any(|n| n.contains("Clip") || n.contains("Max")),
            "{names:?}"
        );
        // A bound computed by another node is not a constant: that Clip stays.
        let mut computed = GraphProto {
            node: vec![
                node("Conv", &["x", "w1"], "p", vec![]),
                node("Relu", &["lo_in"], "lo", vec![]),
                node("Clip", &["p", "lo"], "y", vec![]),
            ],
            initializer: vec![float_tensor(
                "w1",
                &[c, 3, 1, 1],
                values(3 * c as usize, 41),
            )],
            ..Default::default()
        };
        assert_eq!(route_to_kernels(&mut computed).fused_activations, 0);
    }

    /// What [`route_to_kernels`] makes of one `Conv` with constant weights of `dims`.
    fn routed_conv(dims: &[i64], attribute: Vec<AttributeProto>) -> RoutedNodes {
        let mut graph = GraphProto {
            node: vec![node("Conv", &["x", "w"], "y", attribute)],
            initializer: vec![float_tensor(
                "w",
                dims,
                values(dims.iter().product::<i64>() as usize, 1),
            )],
            ..Default::default()
        };
        route_to_kernels(&mut graph)
    }

    /// A graph of one 3×3 `Conv` (optionally followed by a `Relu`) and an input for it.
    #[derive(Debug, Clone, Copy)]
    struct Conv3x3Case {
        c_in: i64,
        c_out: i64,
        h: i64,
        w: i64,
        stride: i64,
        pad: i64,
        with_bias: bool,
        relu: bool,
    }

    impl Conv3x3Case {
        fn new(
            [c_in, c_out, h, w, stride, pad]: [i64; 6],
            with_bias: bool,
            relu: bool,
        ) -> Conv3x3Case {
            Conv3x3Case {
                c_in,
                c_out,
                h,
                w,
                stride,
                pad,
                with_bias,
                relu,
            }
        }

        fn out(&self, n: i64) -> i64 {
            (n + 2 * self.pad - 3) / self.stride + 1
        }

        fn output_len(&self) -> usize {
            (self.c_out * self.out(self.h) * self.out(self.w)) as usize
        }

        /// The graph (weights, bias and input drawn from `seed`) and the input.
        fn graph(&self, seed: u32) -> (GraphProto, Tensor) {
            let &Conv3x3Case {
                c_in,
                c_out,
                h,
                w,
                stride,
                pad,
                ..
            } = self;
            let mut inputs = vec!["x", "w"];
            let mut initializer = vec![float_tensor(
                "w",
                &[c_out, c_in, 3, 3],
                values((9 * c_in * c_out) as usize, seed),
            )];
            if self.with_bias {
                inputs.push("b");
                initializer.push(float_tensor(
                    "b",
                    &[c_out],
                    values(c_out as usize, seed + 1),
                ));
            }
            let attributes = vec![
                ints("kernel_shape", &[3, 3]),
                ints("strides", &[stride, stride]),
                ints("pads", &[pad, pad, pad, pad]),
            ];
            let conv_out = if self.relu { "p" } else { "y" };
            let mut nodes = vec![node("Conv", &inputs, conv_out, attributes)];
            if self.relu {
                nodes.push(node("Relu", &["p"], "y", vec![]));
            }
            let graph = GraphProto {
                node: nodes,
                initializer,
                input: vec![value_info("x", &[1, c_in, h, w])],
                output: vec![value_info("y", &[1, c_out, self.out(h), self.out(w)])],
                ..Default::default()
            };
            let dims = [1, c_in as usize, h as usize, w as usize];
            let x = Tensor::from_shape(&dims, &values(dims.iter().product(), seed + 2)).expect("x");
            (graph, x)
        }
    }

    /// 3×3 convolutions over 1–4 input channels (the first layers: YuNet 3 → 16 with stride
    /// 2, MobileFaceNet 3 → 64) with stride 1 and 2, padding 1 and 0, with and without bias,
    /// against tract's; five input channels or a group are left to tract.
    #[test]
    fn few_channel_conv3x3_matches_tract() {
        for (stride, pad) in [(1i64, 1i64), (2, 1), (1, 0), (2, 0)] {
            for (c_in, c_out, h, w) in
                [(3, 16, 19, 32), (3, 64, 16, 16), (1, 2, 5, 4), (4, 5, 8, 9)]
            {
                for with_bias in [true, false] {
                    let case = Conv3x3Case::new([c_in, c_out, h, w, stride, pad], with_bias, false);
                    let (graph, x) = case.graph(51);
                    let (stock, ours, names) = stock_and_ours(&model(graph), &x);
                    assert_eq!(ours.len(), case.output_len());
                    let worst = worst_difference(&stock, &ours);
                    assert!(
                        worst <= 1e-5 * (9 * c_in) as f32,
                        "{case:?}: off by {worst}"
                    );
                    assert!(names.iter().any(|n| n == CONV3X3_OP), "ours ran: {names:?}");
                }
            }
        }
        let route = |c_in: i64, group: Option<i64>| {
            let mut attribute = vec![ints("kernel_shape", &[3, 3])];
            if let Some(g) = group {
                attribute.push(AttributeProto {
                    name: "group".into(),
                    i: g,
                    r#type: attribute_proto::AttributeType::Int as i32,
                    ..Default::default()
                });
            }
            let mut graph = GraphProto {
                node: vec![node("Conv", &["x", "w"], "y", attribute)],
                initializer: vec![float_tensor(
                    "w",
                    &[8, c_in, 3, 3],
                    values(72 * c_in as usize, 1),
                )],
                ..Default::default()
            };
            route_to_kernels(&mut graph).conv3x3
        };
        assert_eq!(route(3, None), 1);
        assert_eq!(route(4, Some(1)), 1);
        assert_eq!(route(5, None), 0);
        assert_eq!(route(2, Some(2)), 0);
    }

    /// 3×3 convolutions over more input channels (dlib's shapes: 32 → 32 on 35², 32 → 64 /2,
    /// 128 → 256 /2 on 8², 256 → 256 on 4², 3² and 1²; and odd ones: 5 → 40 channels, a
    /// partial block of output channels, maps narrower than a block of positions) with stride
    /// 1 and 2, padding 1 and 0, with and without bias, a folded `Relu`, against tract's. Routed
    /// only with AVX-512.
    #[test]
    fn blocked_conv3x3_matches_tract() {
        let cases: [[i64; 6]; 9] = [
            [32, 32, 35, 35, 1, 1],
            [32, 64, 35, 35, 2, 0],
            [128, 256, 8, 8, 2, 0],
            [256, 256, 4, 4, 1, 1],
            [256, 256, 3, 3, 1, 1],
            [256, 256, 1, 1, 1, 1],
            [5, 40, 9, 11, 1, 1],
            [6, 33, 10, 7, 2, 1],
            [7, 3, 6, 13, 1, 0],
        ];
        for shape in cases {
            let c_in = shape[0];
            for (with_bias, relu) in [(true, false), (false, false), (true, true)] {
                let case = Conv3x3Case::new(shape, with_bias, relu);
                let (mut graph, x) = case.graph(61);
                let (stock, ours, names) = stock_and_ours(&model(graph.clone()), &x);
                assert_eq!(ours.len(), case.output_len());
                let worst = worst_difference(&stock, &ours);
                let what = format!("{case:?}");
                assert!(worst <= 1e-6 * (9 * c_in) as f32, "{what}: off by {worst}");
                if relu {
                    assert!(ours.contains(&0.0), "{what}: the Relu did not apply");
                }
                let routed = route_to_kernels(&mut graph);
                if avx512_available() {
                    assert_eq!(routed.conv3x3_blocked, 1, "{what}");
                    assert_eq!(routed.fused_activations, usize::from(relu), "{what}");
                    assert!(
                        names.iter().any(|n| n == CONV3X3_BLOCKED_OP),
                        "{what}: ours ran: {names:?}"
                    );
                    assert!(
                        names.iter().all(|n| n != "Relu" && n != "FaceIdPad"),
                        "{what}: {names:?}"
                    );
                } else {
                    assert_eq!(routed.conv3x3_blocked, 0, "{what}");
                }
            }
        }
        // Four input channels are the few-channel kernel's; a group or a dilation stays with
        // tract.
        let route = |c_in: i64, extra: Option<AttributeProto>| {
            let mut attribute = vec![ints("kernel_shape", &[3, 3])];
            attribute.extend(extra);
            let routed = routed_conv(&[8, c_in, 3, 3], attribute);
            (routed.conv3x3, routed.conv3x3_blocked)
        };
        let group = AttributeProto {
            name: "group".into(),
            i: 2,
            r#type: attribute_proto::AttributeType::Int as i32,
            ..Default::default()
        };
        let wide = usize::from(avx512_available());
        assert_eq!(route(4, None), (1, 0));
        assert_eq!(route(5, None), (0, wide));
        assert_eq!(route(16, Some(group)), (0, 0));
        assert_eq!(route(16, Some(ints("dilations", &[2, 2]))), (0, 0));
    }

    /// Packed weights compare by content (tract deduplicates equal ops): a clone shares the
    /// buffers, the same values packed twice are equal, one other bit is not.
    #[test]
    fn packed_weights_compare_by_content() {
        let a = Packed::new(vec![[1.0f32, 2.0], [3.0, 4.0]], vec![0.5]);
        let same = Packed::new(vec![[1.0f32, 2.0], [3.0, 4.0]], vec![0.5]);
        let other = Packed::new(vec![[1.0f32, 2.0], [3.0, -4.0]], vec![0.5]);
        let other_bias = Packed::new(vec![[1.0f32, 2.0], [3.0, 4.0]], vec![-0.5]);
        assert!(Arc::ptr_eq(&a.clone().weights, &a.weights));
        assert_eq!(a, a.clone());
        assert_eq!(a, same);
        assert_ne!(a, other);
        assert_ne!(a, other_bias);
        // -0.0 and 0.0 are different weights' bits: not the same op.
        assert_ne!(
            Packed::new(vec![[0.0f32]], vec![]),
            Packed::new(vec![[-0.0f32]], vec![])
        );
    }

    /// Depthwise 3×3 convolutions with stride 1 and 2, padding 1 and 0, with and without bias,
    /// on even, odd and tiny maps (MobileFaceNet's and YuNet's shapes among them), against
    /// tract's `DepthWiseConv`.
    #[test]
    fn depthwise_matches_tract() {
        for (stride, pad) in [(1i64, 1i64), (2, 1), (1, 0), (2, 0)] {
            for (c, h, w) in [(4, 7, 9), (3, 8, 8), (2, 3, 3), (64, 56, 56), (16, 40, 53)] {
                for with_bias in [true, false] {
                    let o = |n: i64| (n + 2 * pad - 3) / stride + 1;
                    let mut inputs = vec!["x", "w"];
                    let mut initializer =
                        vec![float_tensor("w", &[c, 1, 3, 3], values(9 * c as usize, 31))];
                    if with_bias {
                        inputs.push("b");
                        initializer.push(float_tensor("b", &[c], values(c as usize, 37)));
                    }
                    let graph = GraphProto {
                        node: vec![node(
                            "Conv",
                            &inputs,
                            "y",
                            vec![
                                ints("kernel_shape", &[3, 3]),
                                ints("strides", &[stride, stride]),
                                ints("pads", &[pad; 4]),
                                AttributeProto {
                                    name: "group".into(),
                                    i: c,
                                    r#type: attribute_proto::AttributeType::Int as i32,
                                    ..Default::default()
                                },
                            ],
                        )],
                        initializer,
                        input: vec![value_info("x", &[1, c, h, w])],
                        output: vec![value_info("y", &[1, c, o(h), o(w)])],
                        ..Default::default()
                    };
                    let dims = [1, c as usize, h as usize, w as usize];
                    let x =
                        Tensor::from_shape(&dims, &values(dims.iter().product(), 41)).expect("x");
                    let (stock, ours, names) = stock_and_ours(&model(graph), &x);
                    assert_eq!(ours.len(), (c * o(h) * o(w)) as usize);
                    let worst = worst_difference(&stock, &ours);
                    // Sums of at most ten terms below 1 in magnitude.
                    assert!(
                        worst <= 1e-5,
                        "{c}x{h}x{w} /{stride} pad {pad} bias {with_bias}: off by {worst}"
                    );
                    assert!(
                        names.iter().any(|n| n == DEPTHWISE_OP),
                        "ours ran: {names:?}"
                    );
                }
            }
        }
        let route = |group: i64, mut attribute: Vec<AttributeProto>| {
            attribute.push(AttributeProto {
                name: "group".into(),
                i: group,
                r#type: attribute_proto::AttributeType::Int as i32,
                ..Default::default()
            });
            let mut graph = GraphProto {
                node: vec![node("Conv", &["x", "w"], "y", attribute)],
                initializer: vec![float_tensor("w", &[8, 1, 3, 3], values(72, 1))],
                ..Default::default()
            };
            route_to_kernels(&mut graph).depthwise
        };
        assert_eq!(route(8, vec![ints("pads", &[1, 1, 1, 1])]), 1);
        assert_eq!(route(4, vec![ints("pads", &[1, 1, 1, 1])]), 0);
        assert_eq!(route(8, vec![ints("pads", &[2, 2, 2, 2])]), 0);
        assert_eq!(route(8, vec![ints("pads", &[0, 1, 0, 1])]), 0);
        assert_eq!(route(8, vec![ints("strides", &[3, 3])]), 0);
        assert_eq!(route(8, vec![ints("dilations", &[2, 2])]), 0);
    }

    fn int64_tensor(name: &str, values: &[i64]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: vec![values.len() as i64],
            data_type: tensor_proto::DataType::Int64 as i32,
            int64_data: values.to_vec(),
            ..Default::default()
        }
    }

    /// Constant pads as dlib uses them (zero channels appended; a row and a column appended),
    /// with a non-zero fill value and on every axis, against tract's `Pad`.
    #[test]
    fn pad_matches_tract() {
        let cases: [(&[i64], f32); 5] = [
            (&[0, 0, 0, 0, 0, 32, 0, 0], 0.0),
            (&[0, 0, 0, 0, 0, 0, 1, 1], 0.0),
            (&[1, 2, 3, 4, 0, 1, 2, 0], 0.5),
            (&[0, 0, 0, 0, 0, 0, 0, 0], 0.0),
            (&[0, 0, 0, 0, 0, 0, 1, 1], -2.5),
        ];
        for (pads, value) in cases {
            let (c, h, w) = (4i64, 5i64, 7i64);
            let out: Vec<i64> = (0..4)
                .map(|i| [1, c, h, w][i] + pads[i] + pads[i + 4])
                .collect();
            let graph = GraphProto {
                node: vec![node("Pad", &["x", "pads", "value"], "y", vec![])],
                initializer: vec![
                    int64_tensor("pads", pads),
                    float_tensor("value", &[], vec![value]),
                ],
                input: vec![value_info("x", &[1, c, h, w])],
                output: vec![value_info("y", &out)],
                ..Default::default()
            };
            let dims = [1, c as usize, h as usize, w as usize];
            let x = Tensor::from_shape(&dims, &values(dims.iter().product(), 7)).expect("x");
            let (stock, ours, names) = stock_and_ours(&model(graph), &x);
            assert_eq!(ours.len(), out.iter().product::<i64>() as usize);
            assert_eq!(ours, stock, "pads {pads:?} value {value}");
            // tract drops an all-zero pad altogether.
            let padded = pads.iter().any(|&p| p != 0);
            assert_eq!(
                names.iter().any(|n| n == "FaceIdPad"),
                padded,
                "ours ran: {names:?}"
            );
        }
        // A convolution with padding that none of our kernels takes (5×5): tract pads its input
        // in front of the im2col, and that pad is ours too.
        let graph = GraphProto {
            node: vec![node(
                "Conv",
                &["x", "w"],
                "y",
                vec![ints("kernel_shape", &[5, 5]), ints("pads", &[2, 2, 2, 2])],
            )],
            initializer: vec![float_tensor("w", &[8, 8, 5, 5], values(8 * 8 * 25, 3))],
            input: vec![value_info("x", &[1, 8, 9, 11])],
            output: vec![value_info("y", &[1, 8, 9, 11])],
            ..Default::default()
        };
        let x = Tensor::from_shape(&[1, 8, 9, 11], &values(8 * 9 * 11, 5)).expect("x");
        let (stock, ours, names) = stock_and_ours(&model(graph), &x);
        assert_eq!(ours, stock);
        assert!(
            names.iter().any(|n| n == "FaceIdPad"),
            "ours ran: {names:?}"
        );
        // Reflection is left to tract.
        let reflect = GraphProto {
            node: vec![node(
                "Pad",
                &["x", "pads"],
                "y",
                vec![AttributeProto {
                    name: "mode".into(),
                    s: b"reflect".to_vec(),
                    r#type: attribute_proto::AttributeType::String as i32,
                    ..Default::default()
                }],
            )],
            initializer: vec![int64_tensor("pads", &[0, 0, 1, 1, 0, 0, 1, 1])],
            input: vec![value_info("x", &[1, 4, 5, 7])],
            output: vec![value_info("y", &[1, 4, 7, 9])],
            ..Default::default()
        };
        let x = Tensor::from_shape(&[1, 4, 5, 7], &values(4 * 5 * 7, 9)).expect("x");
        let (stock, ours, names) = stock_and_ours(&model(reflect), &x);
        assert_eq!(ours, stock);
        assert!(
            names.iter().all(|n| n != "FaceIdPad"),
            "ours ran: {names:?}"
        );
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
