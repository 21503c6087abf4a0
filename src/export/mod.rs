//! Taking a model or a data set out of the lab: PyTorch weights with a script that
//! keeps training ([`torch`]), and the data splits as plain tensors ([`data`]).
//! (ONNX files are model files: [`crate::nn::onnx`].)

pub mod data;
pub mod torch;
