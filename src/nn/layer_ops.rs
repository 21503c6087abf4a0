//! What every kind of layer does, one trait: [`super::Layer`] dispatches to it. A new kind
//! of layer is its own file implementing [`LayerOps`] on the layer and
//! [`super::LayerKind`] on its spec, plus one registration line in [`super::layer`].

use super::Float;
use super::param::Param;
use ndarray::ArrayView2;

/// One step of the network. Each layer owns its output and input-gradient buffers, so a
/// training step reuses memory instead of allocating it.
pub trait LayerOps<F: Float> {
    /// Computes this layer's output for the batch `x` (read it with [`LayerOps::output`]).
    /// `train` selects training behaviour for layers that differ (batch norm, dropout).
    fn forward(&mut self, x: ArrayView2<F>, train: bool);

    fn output(&self) -> ArrayView2<'_, F>;

    /// Given dLoss/dOutput, stores parameter gradients and, if `need_grad_in`,
    /// dLoss/dInput (read it with [`LayerOps::grad_input`]). `x` is the forward input.
    fn backward(&mut self, x: ArrayView2<F>, grad_out: ArrayView2<F>, need_grad_in: bool);

    fn grad_input(&self) -> ArrayView2<'_, F>;

    /// The parameter tensors with their names (`weight`, `bias`, ...), in the order model
    /// files, `Network::cast` and the gradient check index them. Write both this and
    /// [`LayerOps::params_mut`] with [`layer_params!`], so the two orders are one list.
    fn params(&self) -> Vec<(&'static str, &Param<F>)> {
        Vec::new()
    }

    fn params_mut(&mut self) -> Vec<(&'static str, &mut Param<F>)> {
        Vec::new()
    }
}

/// Writes [`LayerOps::params`] and [`LayerOps::params_mut`] from one list of the layer's
/// `Param` fields, named as the fields are.
macro_rules! layer_params {
    ($($field:ident),+ $(,)?) => {
        fn params(&self) -> Vec<(&'static str, &Param<F>)> {
            vec![$((stringify!($field), &self.$field)),+]
        }

        fn params_mut(&mut self) -> Vec<(&'static str, &mut Param<F>)> {
            vec![$((stringify!($field), &mut self.$field)),+]
        }
    };
}
pub(crate) use layer_params;
