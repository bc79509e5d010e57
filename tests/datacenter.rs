//! The datacenter around the fleet: server power, cooling, the edge link and the bill.

use fleetsim::cost::{Hardware, Prices, Usage, ledger};
use fleetsim::scenario::{Scenario, from_yaml};
use fleetsim::study::{RunResult, run};
use proptest::prelude::*;

/// A day with no traffic on `servers` servers of two H100s each, with a plain server
/// component list, and the given extra YAML.
fn idle_day(servers: u32, extra: &str) -> Scenario {
    let yaml = format!(
        "
workload: {{rate: 0/s, prompt_tokens: 100, output_tokens: 10}}
model: llama-3.1-8b
hardware:
  gpu: h100-sxm
  gpus_per_server: 2
  server:
    components:
      - {{name: CPU cores, count: 32, static: 4W, dynamic: 6W}}
      - {{name: memory (GB), count: 128, static: 0.375W}}
      - {{name: storage (TB), count: 1, static: 7W}}
      - {{name: NIC, count: 1, static: 25W}}
fleet: {{servers: {servers}}}
failures: {{enabled: false}}
study: {{horizon: 24h, timeseries_interval: 1h}}
{extra}"
    );
    from_yaml(&yaml, "idle").unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

#[test]
fn an_idle_server_draws_its_idle_gpus_and_the_static_component_watts() {
    let result = run(&idle_day(1, ""));
    let e = result.energy;
    // Two H100s idle at 130 W; components 128 + 48 + 7 + 25 = 208 W static; for 24 h.
    assert!(close(e.gpu_kwh, 2.0 * 130.0 * 24.0 / 1e3), "{e:?}");
    assert!(close(e.server_kwh, 208.0 * 24.0 / 1e3), "{e:?}");
    assert!(close(e.it_kwh, (260.0 + 208.0) * 24.0 / 1e3));
    // Provisioned: two GPUs at 700 W plus components at full load (208 + 32·6 = 400 W).
    assert!(close(e.provisioned_it_kw, 1.8));
}

#[test]
fn at_zero_load_doubling_the_fleet_doubles_idle_energy() {
    let (one, two) = (run(&idle_day(1, "")), run(&idle_day(2, "")));
    assert!(close(two.energy.gpu_kwh, 2.0 * one.energy.gpu_kwh));
    assert!(close(two.energy.it_kwh, 2.0 * one.energy.it_kwh));
    assert!(close(
        two.energy.facility_kwh,
        2.0 * one.energy.facility_kwh
    ));
    assert!(close(
        two.summary.gpu_energy.idle_kwh,
        2.0 * one.summary.gpu_energy.idle_kwh
    ));
}

#[test]
fn pue_one_gives_no_cooling() {
    let result = run(&idle_day(1, "facility: {pue: 1}"));
    let e = result.energy;
    assert_eq!(e.cooling_kwh, 0.0);
    assert_eq!(e.other_kwh, 0.0);
    assert!(close(e.facility_kwh, e.it_kwh));
    let split = run(&idle_day(1, "facility: {pue: 1.5, cooling_share: 0.6}")).energy;
    assert!(close(split.cooling_kwh, 0.6 * 0.5 * split.it_kwh));
    assert!(close(split.other_kwh, 0.4 * 0.5 * split.it_kwh));
}

#[test]
fn hot_hours_raise_pue_in_the_temperature_model() {
    let mut temperatures = vec!["20"; 24];
    temperatures[15] = "35";
    let extra = format!(
        "facility:\n  pue: {{temperature: {{base: 1.1, threshold: 25, per_degree: 0.01, \
         low_load: 0}}}}\n  outside_temperature: [{}]",
        temperatures.join(", ")
    );
    let result = run(&idle_day(1, &extra));
    let pue: Vec<f64> = result.power.iter().map(|p| p.pue).collect();
    assert!(close(pue[3], 1.1));
    // 10 °C over the threshold at 0.01 per degree.
    assert!(close(pue[15], 1.2));
}

/// Prices a run's usage at `prices`.
fn bill(result: &RunResult, scenario: &Scenario, prices: &Prices) -> f64 {
    ledger(
        prices,
        &Usage {
            horizon_s: scenario.horizon.0,
            servers: scenario.fleet.servers,
            servers_on_mean: result.summary.utilization.servers_on_mean,
            gpus_per_server: scenario.fleet.gpus_per_server,
            provisioned_it_kw: result.energy.provisioned_it_kw,
            rows: &result.timeseries,
            power: &result.power,
            egress_gb: result.summary.network.edge_egress_gb,
            completed: result.summary.requests.completed,
            output_tokens: result.summary.throughput.output_tokens,
        },
    )
    .total_usd_per_day
}

#[test]
fn an_owned_idle_day_costs_the_hand_computed_bill() {
    let scenario = idle_day(
        1,
        "facility: {pue: 1.25}
costs:
  hardware: {owned: {server_price: 73000, amortization_years: 4, maintenance_rate: 0.05}}
  energy: {price_per_kwh: 0.1}
  colocation_per_kw_month: 100
  fixed_per_day: {staff: 50}
  carbon: {kg_per_kwh: 0.4, price_per_tonne: 100}",
    );
    let result = run(&scenario);
    let cost = &result.cost;
    // Hardware: 73,000/4/365 = 50; maintenance 73,000 · 0.05/365 = 10.
    // Energy: IT 11.232 kWh (468 W for 24 h) × 1.25 = 14.04 kWh at $0.10 = 1.404.
    // Colocation: 1.8 kW × $100 × 12/365 = 5.9178; staff 50.
    // Carbon: 14.04 kWh × 0.4 kg = 5.616 kg at $100/t = 0.5616.
    let expected = 50.0 + 10.0 + 1.404 + 1.8 * 100.0 * 12.0 / 365.0 + 50.0 + 0.5616;
    assert!(
        (cost.total_usd_per_day - expected).abs() < 0.005,
        "{cost:#?}"
    );
    assert!(close(cost.carbon_kg_per_day, 5.616));
    let line = |item: &str| {
        cost.lines
            .iter()
            .find(|l| l.item == item)
            .map(|l| l.usd_per_day)
            .unwrap()
    };
    assert!(close(line("cooling"), 11.232 * 0.25 * 0.7 * 0.1));
    assert!(close(line("depreciation"), 50.0));
    assert_eq!(cost.usd_per_1k_requests, None, "nothing was served");
}

#[test]
fn a_flat_tariff_equals_an_hourly_one_with_the_same_price() {
    let flat = run(&idle_day(1, "costs: {energy: {price_per_kwh: 0.12}}"));
    let hourly = format!(
        "costs: {{energy: {{hourly: [{}]}}}}",
        vec!["0.12"; 24].join(", ")
    );
    let hourly = run(&idle_day(1, &hourly));
    assert!(close(
        flat.cost.total_usd_per_day,
        hourly.cost.total_usd_per_day
    ));
}

#[test]
fn rentals_that_include_the_facility_do_not_bill_it_again() {
    let included = run(&idle_day(1, "costs: {hardware: {rented: {gpu_hour: 2}}}"));
    let apart = run(&idle_day(
        1,
        "costs: {hardware: {rented: {gpu_hour: 2, includes_facility: false}}}",
    ));
    let by = |r: &RunResult, category: &str| {
        r.cost
            .by_category
            .iter()
            .find(|(c, _)| *c == category)
            .unwrap()
            .1
    };
    // Two GPUs for 24 h at $2.
    assert!(close(by(&included, "hardware"), 96.0));
    assert_eq!(by(&included, "energy") + by(&included, "facility"), 0.0);
    assert!(by(&apart, "energy") > 0.0 && by(&apart, "facility") > 0.0);
    assert!(close(
        included.energy.facility_kwh,
        apart.energy.facility_kwh
    ));
}

#[test]
fn egress_is_the_streamed_tokens_times_their_size() {
    let yaml = "
workload: {rate: 2/s, prompt_tokens: 50, output_tokens: 20}
model: gpt2
hardware: {gpu: h100-sxm, gpus_per_server: 1}
fleet: {servers: 1}
failures: {enabled: false}
network: {edge: {response_bytes_per_token: 250, request_bytes_per_token: 4, request_overhead_bytes: 500}}
study: {horizon: 10m}
";
    let scenario = from_yaml(yaml, "egress").unwrap();
    let result = run(&scenario);
    let s = result.summary;
    let tokens = s.throughput.output_tokens as f64;
    assert!(close(s.network.edge_egress_gb, tokens * 250.0 / 1e9));
    let requests = s.requests.arrived as f64;
    assert!(close(
        s.network.edge_ingress_gb,
        requests * (500.0 + 4.0 * 50.0) / 1e9
    ));
}

#[test]
fn a_saturated_edge_adds_queueing_delay() {
    let yaml = |bandwidth: &str| {
        format!(
            "
workload: {{rate: 20/s, prompt_tokens: 50, output_tokens: 50}}
model: gpt2
hardware: {{gpu: h100-sxm, gpus_per_server: 1}}
fleet: {{servers: 1}}
failures: {{enabled: false}}
network: {{edge: {{bandwidth: {bandwidth}, latency: 20ms}}}}
study: {{horizon: 10m}}
"
        )
    };
    let fast = run(&from_yaml(&yaml("100Gb/s"), "fast").unwrap()).summary;
    // 20 requests/s × 50 tokens × 200 B = 200 kB/s of responses over a 1.6 Mb/s link: 100%.
    let slow = run(&from_yaml(&yaml("1.6Mb/s"), "slow").unwrap()).summary;
    let (f, s) = (
        fast.latency.e2e.p50_s.unwrap(),
        slow.latency.e2e.p50_s.unwrap(),
    );
    // Both directions add 20 ms of latency; the saturated one queues far more.
    assert!(fast.latency.ttft.p50_s.unwrap() >= 0.040);
    assert!(s > 2.0 * f, "saturated {s} vs fast {f}");
    assert!(slow.network.edge_egress_busy > 0.9, "{:?}", slow.network);
}

fn arbitrary_prices() -> impl Strategy<Value = Prices> {
    (
        0.0..1e6f64,
        0.0..0.5f64,
        prop::collection::vec(0.0..0.5f64, 24),
        0.0..0.2f64,
        0.0..500.0f64,
        0.0..1e4f64,
        0.0..300.0f64,
    )
        .prop_map(
            |(server, rate, tariff, egress, colo, staff, carbon)| Prices {
                hardware: Hardware::Owned {
                    server_usd: server,
                    amortization_years: 5.0,
                    financing_rate: rate,
                    maintenance_rate: 0.03,
                },
                energy_usd_per_kwh: tariff.try_into().unwrap(),
                egress_usd_per_gb: egress,
                colocation_usd_per_kw_month: colo,
                fixed_usd_per_day: vec![("staff".into(), staff)],
                carbon_kg_per_kwh: [0.39; 24],
                carbon_usd_per_tonne: carbon,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Doubling one price adds exactly what that price contributed: the bill is linear in
    /// each price, whatever the others are.
    #[test]
    fn cost_is_linear_in_each_price(prices in arbitrary_prices(), which in 0usize..6) {
        let scenario = from_yaml(
            "
workload: {rate: 5/s, prompt_tokens: 100, output_tokens: 30}
model: gpt2
hardware: {gpu: h100-sxm, gpus_per_server: 2}
fleet: {servers: 1}
failures: {enabled: false}
study: {horizon: 2h}
",
            "linear",
        )
        .unwrap();
        let result = run(&scenario);
        let scaled = |factor: f64| {
            let mut p = prices.clone();
            match which {
                0 => {
                    if let Hardware::Owned { server_usd, .. } = &mut p.hardware {
                        *server_usd *= factor;
                    }
                }
                1 => p.energy_usd_per_kwh = p.energy_usd_per_kwh.map(|v| v * factor),
                2 => p.egress_usd_per_gb *= factor,
                3 => p.colocation_usd_per_kw_month *= factor,
                4 => p.fixed_usd_per_day[0].1 *= factor,
                _ => p.carbon_usd_per_tonne *= factor,
            }
            bill(&result, &scenario, &p)
        };
        let (zero, one, two) = (scaled(0.0), scaled(1.0), scaled(2.0));
        prop_assert!((two - one - (one - zero)).abs() <= 1e-9 * two.max(1.0));
        prop_assert!(two >= one && one >= zero);
    }
}
