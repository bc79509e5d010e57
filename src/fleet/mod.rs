//! The fleet: servers cut into replicas, and the router in front of them.

pub mod layout;
pub mod router;

pub use layout::FleetLayout;
pub use router::{Router, RouterPolicy};
