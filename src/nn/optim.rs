//! The optimisers: SGD, momentum, Nesterov, Adam, AdamW and RMSProp, with L2 weight decay.
//!
//! Every rule multiplies its whole step by the learning rate (the PyTorch forms), so a rate
//! changed between two steps scales the very next step while the moment estimates stay.
//! Gradients are the batch sums the losses produce.

use super::{Float, Layer, Network, parallel};
use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

/// Which update rule a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// `w -= lr g`.
    Sgd,
    /// `v = mu v + g; w -= lr v` (with momentum 0 this is plain SGD).
    #[default]
    Momentum,
    /// `v = mu v + g; w -= lr (g + mu v)`.
    Nesterov,
    /// Bias-corrected first and second moments: `w -= lr m^ / (sqrt(s^) + eps)`.
    Adam,
    /// Adam with decoupled weight decay: `w -= lr wd w` before the Adam step.
    AdamW,
    /// `s = rho s + (1 - rho) g^2; w -= lr g / (sqrt(s) + eps)`.
    RmsProp,
}

impl OptimizerKind {
    pub const ALL: [Self; 6] = [
        Self::Sgd,
        Self::Momentum,
        Self::Nesterov,
        Self::Adam,
        Self::AdamW,
        Self::RmsProp,
    ];

    /// The name the command line and config files use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Momentum => "momentum",
            Self::Nesterov => "nesterov",
            Self::Adam => "adam",
            Self::AdamW => "adamw",
            Self::RmsProp => "rmsprop",
        }
    }

    fn first_moment(self) -> bool {
        matches!(
            self,
            Self::Momentum | Self::Nesterov | Self::Adam | Self::AdamW
        )
    }

    fn second_moment(self) -> bool {
        matches!(self, Self::Adam | Self::AdamW | Self::RmsProp)
    }
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown optimizer '{s}' (sgd, momentum, nesterov, adam, adamw, rmsprop)")
            })
    }
}

/// An optimiser's settings; each rule reads the ones it names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimizerSettings {
    pub kind: OptimizerKind,
    /// Momentum and Nesterov's `mu`.
    pub momentum: f64,
    /// Adam's first-moment decay (`beta1`).
    pub beta1: f64,
    /// Adam's second-moment decay (`beta2`).
    pub beta2: f64,
    /// RMSProp's decay of the squared gradients.
    pub rho: f64,
    /// Added to the root of the second moment (Adam, AdamW, RMSProp).
    pub eps: f64,
    /// L2 weight decay on dense and convolution weights (never biases or batch norm):
    /// `wd w` added to the gradient, or for AdamW the decoupled `w -= lr wd w`.
    pub weight_decay: f64,
}

impl OptimizerSettings {
    /// Why these settings cannot train, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        let unit = |name: &str, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} must be in [0, 1), not {v}"))
            }
        };
        unit("the momentum", self.momentum)?;
        unit("beta1", self.beta1)?;
        unit("beta2", self.beta2)?;
        unit("rho", self.rho)?;
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(format!("eps must be a positive number, not {}", self.eps));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(format!(
                "the weight decay must be 0 or more, not {}",
                self.weight_decay
            ));
        }
        Ok(())
    }
}

/// The moment estimates of one parameter tensor (empty when the rule needs none).
#[derive(Clone, Debug)]
struct Moments<F> {
    first: ArrayD<F>,
    second: ArrayD<F>,
}

/// Weights below which a tensor's update stays on one core. (A/b32's 65,536 first-layer
/// weights measured slower shared, 0.031 against 0.026 s per epoch: its step is one core's
/// work and the helper sleeps; the course CNN's 129,792 dense weights faster, 0.383 against
/// 0.396 s.)
const SHARED_UPDATE: usize = 100_000;

/// An optimiser with its state. The rate may change between any two steps.
#[derive(Clone, Debug)]
pub struct Optimizer<F> {
    pub lr: f64,
    pub settings: OptimizerSettings,
    moments: Vec<Moments<F>>,
    /// Steps taken (Adam's bias correction counts them).
    steps: i32,
}

/// Per-step constants of the rule, in the float type of the network.
struct Coefficients<F> {
    lr: F,
    mu: F,
    beta1: F,
    beta2: F,
    rho: F,
    eps: F,
    decay: F,
    /// Adam's `1 - beta^t`.
    correct1: F,
    correct2: F,
}

/// Whether weight decay applies to parameter `name` of `layer`: the weights of dense and
/// convolution layers, not biases, not batch norm's scale.
fn decays<F>(layer: &Layer<F>, name: &str) -> bool {
    name == "weight" && matches!(layer, Layer::Dense(_) | Layer::Conv2d(_))
}

impl<F: Float> Optimizer<F> {
    pub fn new(lr: f64, settings: OptimizerSettings) -> Self {
        Self {
            lr,
            settings,
            moments: Vec::new(),
            steps: 0,
        }
    }

    /// Applies the gradients stored in `net` (skipping frozen parameters).
    pub fn step(&mut self, net: &mut Network<F>) {
        self.steps = self.steps.saturating_add(1);
        let s = self.settings;
        let c = Coefficients {
            lr: F::from_f64_lossy(self.lr),
            mu: F::from_f64_lossy(s.momentum),
            beta1: F::from_f64_lossy(s.beta1),
            beta2: F::from_f64_lossy(s.beta2),
            rho: F::from_f64_lossy(s.rho),
            eps: F::from_f64_lossy(s.eps),
            decay: F::from_f64_lossy(s.weight_decay),
            correct1: F::from_f64_lossy(1.0 - s.beta1.powi(self.steps)),
            correct2: F::from_f64_lossy(1.0 - s.beta2.powi(self.steps)),
        };
        // In the visiting order of `for_each_param`.
        let decaying: Vec<bool> = net
            .params()
            .iter()
            .map(|&(layer, name, _)| decays(&net.layers()[layer], name))
            .collect();
        let moments = &mut self.moments;
        let mut k = 0;
        net.for_each_param(|_, _, p| {
            if moments.len() == k {
                let state = |needed: bool| {
                    if needed {
                        ArrayD::zeros(p.value.raw_dim())
                    } else {
                        ArrayD::zeros(ndarray::IxDyn(&[0]))
                    }
                };
                moments.push(Moments {
                    first: state(s.kind.first_moment()),
                    second: state(s.kind.second_moment()),
                });
            }
            // A frozen tensor (fine-tuning) keeps its value.
            if p.trainable {
                let w = p.value.as_slice_mut().expect("parameters are contiguous");
                let g = p.grad.as_slice().expect("gradients are contiguous");
                let decay = decaying[k] && s.weight_decay > 0.0;
                let m = &mut moments[k];
                let per = if w.len() < SHARED_UPDATE {
                    w.len().max(1)
                } else {
                    parallel::per_core(w.len())
                };
                let parts = w
                    .chunks_mut(per)
                    .zip(g.chunks(per))
                    .zip(parts_of(m.first.as_slice_mut().expect("owned"), per))
                    .zip(parts_of(m.second.as_slice_mut().expect("owned"), per));
                parallel::for_each(parts, |(((w, g), first), second)| {
                    // Elementwise over every weight each step: 16 or 8 wide where the CPU can.
                    super::gemm::vectorised(
                        #[inline(always)]
                        || update(s.kind, &c, decay, w, g, first, second),
                    );
                });
            }
            k += 1;
        });
    }
}

/// `per`-long parts of a moment, or empty ones without end for a rule that keeps none.
fn parts_of<F>(moment: &mut [F], per: usize) -> impl Iterator<Item = &mut [F]> {
    moment
        .chunks_mut(per)
        .chain(std::iter::repeat_with(|| &mut [] as &mut [F]))
}

/// One rule's update of the weights `w` with gradients `g` (inlined into its caller's
/// instruction set).
#[inline(always)]
fn update<F: Float>(
    kind: OptimizerKind,
    c: &Coefficients<F>,
    decay: bool,
    w: &mut [F],
    g: &[F],
    first: &mut [F],
    second: &mut [F],
) {
    // Coupled L2 adds `wd w` to the gradient; AdamW's decay is its own step instead.
    let coupled = if decay && kind != OptimizerKind::AdamW {
        c.decay
    } else {
        F::zero()
    };
    if decay && kind == OptimizerKind::AdamW {
        let shrink = F::one() - c.lr * c.decay;
        w.iter_mut().for_each(|w| *w *= shrink);
    }
    match kind {
        OptimizerKind::Sgd => {
            for (w, &g) in w.iter_mut().zip(g) {
                *w -= c.lr * (g + coupled * *w);
            }
        }
        OptimizerKind::Momentum | OptimizerKind::Nesterov => {
            let nesterov = kind == OptimizerKind::Nesterov;
            for ((w, v), &g) in w.iter_mut().zip(first).zip(g) {
                let g = g + coupled * *w;
                *v = c.mu * *v + g;
                let step = if nesterov { g + c.mu * *v } else { *v };
                *w -= c.lr * step;
            }
        }
        OptimizerKind::Adam | OptimizerKind::AdamW => {
            let one = F::one();
            for (((w, m), s), &g) in w.iter_mut().zip(first).zip(second).zip(g) {
                let g = g + coupled * *w;
                *m = c.beta1 * *m + (one - c.beta1) * g;
                *s = c.beta2 * *s + (one - c.beta2) * g * g;
                let m_hat = *m / c.correct1;
                let s_hat = *s / c.correct2;
                *w -= c.lr * m_hat / (s_hat.sqrt() + c.eps);
            }
        }
        OptimizerKind::RmsProp => {
            let one = F::one();
            for ((w, s), &g) in w.iter_mut().zip(second).zip(g) {
                let g = g + coupled * *w;
                *s = c.rho * *s + (one - c.rho) * g * g;
                *w -= c.lr * g / (s.sqrt() + c.eps);
            }
        }
    }
}
