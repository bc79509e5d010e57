//! Built-in GPUs and models, as data with a source for every figure.
//!
//! The catalog is two YAML files compiled into the binary (`gpus.yaml`, `models.yaml`),
//! read with the same types a scenario uses to define its own GPU or model inline.

mod gpu;
mod model;
mod precision;

pub use gpu::{Gpu, GpuSpec, StepPower, TensorPeak};
pub use model::{Mla, Mlp, Model, ModelSpec, Moe};
pub use precision::Precision;

use crate::error::InputError;
use crate::suggest;
use crate::uncertain::Drawer;
use std::sync::OnceLock;

/// Every built-in GPU and model.
#[derive(Debug)]
pub struct Catalog {
    /// GPUs, in the order of `gpus.yaml`.
    pub gpus: Vec<Gpu>,
    /// Models, in the order of `models.yaml`.
    pub models: Vec<Model>,
}

const GPUS_YAML: &str = include_str!("gpus.yaml");
const MODELS_YAML: &str = include_str!("models.yaml");

impl Catalog {
    /// The catalog compiled into this binary.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        // The files are part of the source; unit tests parse, validate and check them.
        CATALOG.get_or_init(|| {
            let mut fixed = Drawer::new(0, 0);
            let gpus: Vec<GpuSpec> =
                serde_yaml::from_str(GPUS_YAML).expect("catalog/gpus.yaml parses");
            let models: Vec<ModelSpec> =
                serde_yaml::from_str(MODELS_YAML).expect("catalog/models.yaml parses");
            Catalog {
                gpus: gpus
                    .iter()
                    .map(|g| {
                        g.resolve("gpu", &mut fixed)
                            .expect("catalog GPUs are valid")
                    })
                    .collect(),
                models: models
                    .iter()
                    .map(|m| {
                        m.resolve("model", &mut fixed)
                            .expect("catalog models are valid")
                    })
                    .collect(),
            }
        })
    }

    /// The GPU called `id`, or an error listing the known ones.
    pub fn gpu(&self, id: &str) -> Result<&Gpu, InputError> {
        find(&self.gpus, id, |g| &g.id, "GPU")
    }

    /// The model called `id`, or an error listing the known ones.
    pub fn model(&self, id: &str) -> Result<&Model, InputError> {
        find(&self.models, id, |m| &m.id, "model")
    }
}

/// Looks `id` up case-insensitively, or explains what exists.
fn find<'a, T>(
    items: &'a [T],
    id: &str,
    key: impl Fn(&T) -> &String,
    what: &str,
) -> Result<&'a T, InputError> {
    items
        .iter()
        .find(|item| key(item).eq_ignore_ascii_case(id))
        .ok_or_else(|| {
            let ids: Vec<&str> = items.iter().map(|item| key(item).as_str()).collect();
            InputError::general(format!(
                "unknown {what} `{id}`{}; the catalog has: {} (or define one inline)",
                suggest::did_you_mean(id, ids.iter().copied()),
                ids.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf_model::ModelShape;

    #[test]
    fn every_entry_is_valid_sourced_and_certain() {
        let mut drawer = Drawer::new(0, 0);
        let gpus: Vec<GpuSpec> = serde_yaml::from_str(GPUS_YAML).unwrap();
        let models: Vec<ModelSpec> = serde_yaml::from_str(MODELS_YAML).unwrap();
        for gpu in &gpus {
            gpu.resolve("gpu", &mut drawer).unwrap();
        }
        for model in &models {
            model.resolve("model", &mut drawer).unwrap();
        }
        assert!(drawer.drawn().is_empty(), "catalog figures are fixed");
        let catalog = Catalog::builtin();
        assert!(!catalog.gpus.is_empty() && !catalog.models.is_empty());
        for gpu in &catalog.gpus {
            gpu.validate().unwrap_or_else(|e| panic!("{}: {e}", gpu.id));
            assert!(!gpu.source.trim().is_empty(), "{} has no source", gpu.id);
        }
        for model in &catalog.models {
            model
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", model.id));
            assert!(
                !model.source.trim().is_empty(),
                "{} has no source",
                model.id
            );
        }
    }

    #[test]
    fn ids_are_unique() {
        let catalog = Catalog::builtin();
        let mut ids: Vec<String> = catalog.gpus.iter().map(|g| g.id.to_lowercase()).collect();
        ids.extend(catalog.models.iter().map(|m| m.id.to_lowercase()));
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }

    #[test]
    fn derived_parameter_counts_match_published_ones() {
        for model in &Catalog::builtin().models {
            let shape = ModelShape::of(model);
            let pairs = [
                (model.reported_params, shape.total_params(), "total"),
                (
                    model.reported_active_params,
                    shape.active_params(),
                    "active",
                ),
            ];
            for (reported, derived, what) in pairs {
                if let Some(reported) = reported {
                    let error = (derived - reported).abs() / reported;
                    assert!(
                        error < 0.02,
                        "{}: derived {what} {derived:.4e} vs published {reported:.4e}",
                        model.id
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_ids_suggest_the_nearest() {
        let err = Catalog::builtin().gpu("h100").unwrap_err().to_string();
        assert!(err.contains("did you mean `h100-sxm`"), "{err}");
        assert!(Catalog::builtin().gpu("H100-SXM").is_ok());
    }
}
