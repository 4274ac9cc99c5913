//! The paper's section 6.2 experiment, piece by piece: the two concentric
//! ellipses data set ([`data`]) and the width-2 residual network of Haber and
//! Ruthotto (2018) with its hand-written gradient ([`resnet`]), and that
//! gradient in f32 with a minibatch's samples in SIMD lanes ([`lanes`]).

pub mod data;
pub mod experiment;
pub mod lanes;
pub mod loss;
pub mod resnet;
