//! The neural-network engine: layers, losses, optimiser, gradient check, model files.
//!
//! Everything is generic over the float type so that training runs in `f32` while the
//! numerical gradient check runs the very same code in `f64`.
//!
//! Tensors flow between layers as `[batch x features]` matrices. Layers that see images
//! (convolution, pooling) know their input shape and read each row as a `C x H x W`
//! image in row-major order, so there is one layout everywhere.

pub mod activation;
pub mod batches;
pub mod batchnorm;
pub mod buffer;
pub mod conv;
pub mod dense;
pub mod dropout;
pub mod flatten;
pub mod gemm;
pub mod gemm_f32;
pub mod gradcheck;
pub mod init;
pub mod inspect;
pub mod layer;
pub mod layer_kind;
pub mod layer_list;
pub mod layer_ops;
pub mod limits;
pub mod loss;
pub mod model_file;
pub mod network;
pub mod onnx;
pub mod optim;
pub mod parallel;
pub mod param;
pub mod pool;
pub mod shape;
pub mod spec;
pub mod window;

pub use activation::Activation;
pub use init::Init;
pub use layer::{Layer, LayerSpec};
pub use layer_kind::LayerKind;
pub use layer_ops::LayerOps;
pub use loss::{Loss, softmax_rows};
pub use model_file::SavedModel;
pub use network::Network;
pub use optim::{Optimizer, OptimizerKind, OptimizerSettings};
pub use param::Param;
pub use shape::Shape;
pub use spec::NetworkSpec;

use std::fmt::Debug;

/// The float types the engine runs in (`f32` for training, `f64` for the gradient check).
pub trait Float:
    num_traits::Float
    + num_traits::FromPrimitive
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + Send
    + Sync
    + Debug
    + Default
    + std::iter::Sum
    + 'static
{
    fn from_f64_lossy(v: f64) -> Self {
        <Self as num_traits::FromPrimitive>::from_f64(v).unwrap_or_else(Self::nan)
    }
    fn to_f64_lossy(self) -> f64 {
        num_traits::ToPrimitive::to_f64(&self).unwrap_or(f64::NAN)
    }
}
impl Float for f32 {}
impl Float for f64 {}
