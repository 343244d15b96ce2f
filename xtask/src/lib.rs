//! `cargo xtask`: the operator's tool. A library too, so the end-to-end tests drive exactly what users drive.

pub mod aws;
pub mod checks;
pub mod cli;
pub mod demo;
pub mod deployment;
pub mod ecs_host;
pub mod invoke;
pub mod lambda_build;
pub mod local_stack;
pub mod moto;
pub mod paths;
pub mod plan_render;
pub mod process;
pub mod progress;
pub mod secret;
pub mod system_packages;
pub mod terraform;
pub mod test_suite;
pub mod tools;
pub mod venv;
