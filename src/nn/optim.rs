//! Stochastic gradient descent with (optional) momentum.

use super::{Float, Network};
use ndarray::ArrayD;

/// `v = momentum * v - lr * grad; w += v`. Velocities persist across steps, so the
/// learning rate may change between any two steps without losing state.
#[derive(Clone, Debug)]
pub struct Sgd<F> {
    pub lr: f64,
    pub momentum: f64,
    velocity: Vec<ArrayD<F>>,
}

impl<F: Float> Sgd<F> {
    pub fn new(lr: f64, momentum: f64) -> Self {
        Self {
            lr,
            momentum,
            velocity: Vec::new(),
        }
    }

    /// Applies the gradients stored in `net` (skipping frozen parameters).
    pub fn step(&mut self, net: &mut Network<F>) {
        let lr = F::from_f64_lossy(self.lr);
        let mu = F::from_f64_lossy(self.momentum);
        let velocity = &mut self.velocity;
        let mut k = 0;
        net.for_each_param(|_, _, p| {
            if velocity.len() == k {
                velocity.push(ArrayD::zeros(p.value.raw_dim()));
            }
            // A frozen tensor (fine-tuning) keeps its value.
            if p.trainable {
                let w = p.value.as_slice_mut().expect("parameters are contiguous");
                let g = p.grad.as_slice().expect("gradients are contiguous");
                if mu == F::zero() {
                    // Plain SGD needs no pass over the velocity.
                    for (w, &g) in w.iter_mut().zip(g) {
                        *w -= lr * g;
                    }
                } else {
                    let v = velocity[k].as_slice_mut().expect("owned");
                    for ((w, v), &g) in w.iter_mut().zip(v).zip(g) {
                        *v = mu * *v - lr * g;
                        *w += *v;
                    }
                }
            }
            k += 1;
        });
    }
}
