//! Cutting servers into replicas: a replica of `tp × pp` GPUs either packs into one server or
//! spans whole servers.

use crate::perf_model::Parallelism;
use crate::units::BytesPerSec;

/// How the fleet's GPUs form replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FleetLayout {
    /// Servers in the fleet.
    pub servers: u64,
    /// GPUs in one server.
    pub gpus_per_server: u32,
    /// Tensor and pipeline degrees of a replica.
    pub parallelism: Parallelism,
    /// Replicas in the fleet.
    pub replicas: u64,
}

/// The fewest servers a fleet of `gpus_per_server`-GPU servers may grow or shrink by, with
/// replicas of `parallelism`: 1 when replicas pack into a server, else the servers one
/// replica spans.
pub fn servers_step(gpus_per_server: u32, parallelism: Parallelism) -> u64 {
    u64::from(parallelism.gpus()).div_ceil(u64::from(gpus_per_server))
}

impl FleetLayout {
    /// Lays replicas out over `servers`, or names the `fleet` field whose number does not
    /// divide and explains why.
    pub fn new(
        servers: u64,
        gpus_per_server: u32,
        parallelism: Parallelism,
    ) -> Result<FleetLayout, (&'static str, String)> {
        let per_replica = parallelism.gpus();
        let replicas = if per_replica <= gpus_per_server {
            if gpus_per_server % per_replica != 0 {
                return Err((
                    "tensor_parallel",
                    format!(
                        "a replica of tensor_parallel × pipeline_parallel = {per_replica} GPUs \
                         does not divide a server of {gpus_per_server} GPUs"
                    ),
                ));
            }
            servers * u64::from(gpus_per_server / per_replica)
        } else {
            if per_replica % gpus_per_server != 0 {
                return Err((
                    "tensor_parallel",
                    format!(
                        "a replica of {per_replica} GPUs spans servers, so it must be a whole \
                         number of {gpus_per_server}-GPU servers"
                    ),
                ));
            }
            let servers_per_replica = servers_step(gpus_per_server, parallelism);
            if servers % servers_per_replica != 0 {
                return Err((
                    "servers",
                    format!(
                        "a replica spans {servers_per_replica} servers, so the fleet needs a \
                         multiple of {servers_per_replica} servers, got {servers}"
                    ),
                ));
            }
            servers / servers_per_replica
        };
        Ok(FleetLayout {
            servers,
            gpus_per_server,
            parallelism,
            replicas,
        })
    }

    /// GPUs in the fleet.
    pub fn gpus(&self) -> u64 {
        self.servers * u64::from(self.gpus_per_server)
    }

    /// The replica GPU number `gpu` of the fleet belongs to (GPUs are numbered server by
    /// server; replicas take consecutive GPUs).
    pub fn replica_of_gpu(&self, gpu: u64) -> u64 {
        gpu / u64::from(self.parallelism.gpus())
    }

    /// The replicas with a GPU in server number `server`.
    pub fn replicas_of_server(&self, server: u64) -> std::ops::Range<u64> {
        self.replicas_of_servers(server, 1)
    }

    /// The replicas with a GPU in the `count` servers from number `first`.
    pub fn replicas_of_servers(&self, first: u64, count: u64) -> std::ops::Range<u64> {
        let per_server = u64::from(self.gpus_per_server);
        let first_replica = self.replica_of_gpu(first * per_server);
        let last = self.replica_of_gpu((first + count) * per_server - 1);
        first_replica..last + 1
    }

    /// The server holding the first GPU of replica `replica`.
    pub fn server_of_replica(&self, replica: u64) -> u64 {
        replica * u64::from(self.parallelism.gpus()) / u64::from(self.gpus_per_server)
    }

    /// One-direction bandwidth per GPU that tensor-parallel all-reduces get: half the
    /// server's scale-up link (given both directions together) when the tensor group fits in
    /// a server, the NIC (rated per direction) otherwise.
    pub fn tensor_link(&self, scale_up: BytesPerSec, nic: BytesPerSec) -> BytesPerSec {
        if self.parallelism.tensor <= self.gpus_per_server {
            scale_up / 2.0
        } else {
            nic
        }
    }

    /// One-direction bandwidth per GPU between pipeline stages: inside a server when the
    /// whole replica fits in one, over the NIC otherwise.
    pub fn pipeline_link(&self, scale_up: BytesPerSec, nic: BytesPerSec) -> BytesPerSec {
        if self.parallelism.gpus() <= self.gpus_per_server {
            scale_up / 2.0
        } else {
            nic
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn par(tensor: u32, pipeline: u32) -> Parallelism {
        Parallelism { tensor, pipeline }
    }

    #[test]
    fn fleets_step_by_one_server_or_by_a_spanning_replica() {
        assert_eq!(servers_step(8, par(4, 1)), 1);
        assert_eq!(servers_step(8, par(8, 1)), 1);
        assert_eq!(servers_step(8, par(8, 2)), 2);
        assert_eq!(servers_step(4, par(8, 2)), 4);
    }

    #[test]
    fn replicas_pack_into_servers_or_span_them() {
        assert_eq!(FleetLayout::new(3, 8, par(2, 1)).unwrap().replicas, 12);
        assert_eq!(FleetLayout::new(3, 8, par(8, 1)).unwrap().replicas, 3);
        assert_eq!(FleetLayout::new(4, 8, par(8, 2)).unwrap().replicas, 2);
        assert_eq!(FleetLayout::new(4, 8, par(8, 2)).unwrap().gpus(), 32);
        let spanning = FleetLayout::new(4, 8, par(8, 2)).unwrap();
        assert_eq!(spanning.replicas_of_servers(2, 2), 1..2);
        assert_eq!(spanning.server_of_replica(1), 2);
        let packed = FleetLayout::new(3, 8, par(2, 1)).unwrap();
        assert_eq!(packed.replicas_of_servers(1, 2), 4..12);
        assert_eq!(packed.server_of_replica(5), 1);
    }

    #[test]
    fn uneven_layouts_are_explained() {
        let message = |servers, tp| FleetLayout::new(servers, 8, par(tp, 1)).unwrap_err().1;
        assert!(message(3, 3).contains("does not divide"));
        assert!(message(3, 12).contains("whole number"));
        let (field, odd) = FleetLayout::new(3, 8, par(8, 2)).unwrap_err();
        assert_eq!(field, "servers");
        assert!(odd.contains("a multiple of 2 servers, got 3"), "{odd}");
    }

    #[test]
    fn links_follow_where_the_groups_sit() {
        let up = BytesPerSec(900e9);
        let nic = BytesPerSec(50e9);
        let inside = FleetLayout::new(1, 8, par(8, 1)).unwrap();
        assert_eq!(inside.tensor_link(up, nic), BytesPerSec(450e9));
        let across = FleetLayout::new(2, 8, par(8, 2)).unwrap();
        assert_eq!(across.tensor_link(up, nic), BytesPerSec(450e9));
        assert_eq!(across.pipeline_link(up, nic), BytesPerSec(50e9));
    }
}
