//! The fleet: servers cut into replicas, the router in front of them, the edge link to the
//! users, the failures that take replicas down, and the autoscaler that switches servers
//! on and off.

pub mod autoscaler;
pub mod edge;
pub mod failures;
pub mod layout;
pub mod router;

pub use autoscaler::{Autoscaling, Change, Gauge, Pool, ScaleTarget};
pub use edge::{EdgeConfig, EdgeLink};
pub use failures::{FailureModel, Failures, Part};
pub use layout::FleetLayout;
pub use router::{ReplicaLoad, Router, RouterPolicy};
