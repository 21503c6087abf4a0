//! Limits on a network description, which may come from outside (a model file, a run
//! configuration): generous for what the lab trains, small enough that building the
//! network can never exhaust memory. [`super::NetworkSpec::shapes`] checks them before
//! anything is allocated.

/// Layers in one network.
pub const MAX_LAYERS: usize = 256;
/// Units of a dense layer, or output channels of a convolution.
pub const MAX_UNITS: usize = 1 << 16;
/// Any image side, kernel, stride or padding.
pub const MAX_SIDE: usize = 4096;
/// Values of one sample after any layer (64 MB as f32).
pub const MAX_VALUES: usize = 1 << 24;
/// Trained values of the whole network (256 MB as f32).
pub const MAX_PARAMETERS: usize = 1 << 26;

/// `value` if it is at most `max`, else an error naming `what` and the limit.
pub fn at_most(what: &str, value: usize, max: usize) -> Result<usize, String> {
    if value > max {
        Err(format!("{what} is {value}, at most {max} are accepted"))
    } else {
        Ok(value)
    }
}
