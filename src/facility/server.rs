//! Power of the rest of a server: CPUs, memory, storage, NICs, switches, fans.
//!
//! Each component line is `count × (static + dynamic · load)` watts, where `load` is the
//! share of the server's GPU-time spent in steps. The sum is linear in `load`, so the mean
//! power over an interval is the power at the interval's mean load, exactly.

use crate::units::Watts;

/// One line of a server's bill of materials.
#[derive(Clone, Debug, PartialEq)]
pub struct Component {
    /// What it is: `cpu`, `memory (GB)`, `nvme`, `nic`.
    pub name: String,
    /// How many (or how many units: GB of memory, TB of storage).
    pub count: f64,
    /// Watts per unit drawn whatever the load.
    pub static_power: Watts,
    /// Watts per unit added at full load.
    pub dynamic_power: Watts,
}

/// The non-GPU power of one server.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ServerPower {
    /// Its components.
    pub components: Vec<Component>,
}

impl ServerPower {
    /// Power at `load` (0–1).
    pub fn power(&self, load: f64) -> Watts {
        let load = load.clamp(0.0, 1.0);
        self.components
            .iter()
            .map(|c| (c.static_power + c.dynamic_power * load) * c.count)
            .sum()
    }
}

impl ServerPower {
    /// A DGX/HGX-class server of `gpus` GPUs of `gpu_tdp` each, when a scenario lists no
    /// components (⚠ figures from secondary pages; the last line is calibrated):
    ///
    /// - 2 CPUs, 130 W idle + 220 W at load (Xeon Platinum 8480C, 350 W TDP; idle per
    ///   package as AnandTech measured for EPYC);
    /// - 32 DDR5 RDIMMs (2 TB), 1.5 W + 1 W each (1–2.5 W per DDR5 RDIMM);
    /// - 10 NVMe drives, 8 W + 14 W each (22 W TDP of an enterprise U.2 drive);
    /// - `gpus + 2` NICs at 25 W (a ConnectX-7 card plus its 9 W 400G transceiver, NVIDIA);
    /// - `gpus / 2` switch chips (NVSwitch or PCIe), 60 W + 40 W (first NVSwitch: 100 W);
    /// - fans, power conversion and board, per GPU 6.59% of its TDP idle + 46.09% at load,
    ///   chosen so that 8 × H100 at full load draw the 10.2 kW maximum of the DGX H100
    ///   datasheet. The same rule gives 6.54 kW for 8 × A100 (DGX A100 datasheet: 6.5 kW).
    pub fn hgx_class(gpus: u32, gpu_tdp: Watts) -> ServerPower {
        let gpus = f64::from(gpus);
        let line = |name: &str, count: f64, static_w: f64, dynamic_w: f64| Component {
            name: name.to_string(),
            count,
            static_power: Watts(static_w),
            dynamic_power: Watts(dynamic_w),
        };
        ServerPower {
            components: vec![
                line("CPU", 2.0, 130.0, 220.0),
                line("DDR5 DIMM (64 GB)", 32.0, 1.5, 1.0),
                line("NVMe drive", 10.0, 8.0, 14.0),
                line("NIC", gpus + 2.0, 25.0, 0.0),
                line("switch chip", gpus / 2.0, 60.0, 40.0),
                line(
                    "fans, power conversion, board (per GPU)",
                    gpus,
                    0.0659 * gpu_tdp.0,
                    0.4609 * gpu_tdp.0,
                ),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, count: f64, static_w: f64, dynamic_w: f64) -> Component {
        Component {
            name: name.into(),
            count,
            static_power: Watts(static_w),
            dynamic_power: Watts(dynamic_w),
        }
    }

    #[test]
    fn a_component_list_gives_the_hand_computed_watts() {
        // 32 cores × (4 + 6·load) W, 128 GB × 0.375 W, 1 TB × 7 W, one 25 W NIC.
        let server = ServerPower {
            components: vec![
                line("cpu cores", 32.0, 4.0, 6.0),
                line("memory (GB)", 128.0, 0.375, 0.0),
                line("storage (TB)", 1.0, 7.0, 0.0),
                line("nic", 1.0, 25.0, 0.0),
            ],
        };
        // Idle: 128 + 48 + 7 + 25 = 208 W; full load adds 32·6 = 192 W; half load 96 W.
        assert_eq!(server.power(0.0), Watts(208.0));
        assert_eq!(server.power(1.0), Watts(400.0));
        assert_eq!(server.power(0.5), Watts(304.0));
        assert_eq!(server.power(7.0), Watts(400.0), "load is a share");
    }

    #[test]
    fn the_default_server_matches_the_dgx_datasheets_at_full_load() {
        let h100 = ServerPower::hgx_class(8, Watts(700.0)).power(1.0) + Watts(8.0 * 700.0);
        assert!((h100.0 - 10_200.0).abs() < 5.0, "DGX H100: {h100:?}");
        let a100 = ServerPower::hgx_class(8, Watts(400.0)).power(1.0) + Watts(8.0 * 400.0);
        assert!((a100.0 - 6_500.0).abs() < 60.0, "DGX A100: {a100:?}");
    }
}
