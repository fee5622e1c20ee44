//! Integration tests of the public protocol API, one module per capability, linked once.

mod props;
mod schemas;
mod wire;
