//! Fits the GPU power model's activity weights to the ML.ENERGY v3 measurements.
//!
//! For each measured configuration (model, GPU, tensor parallelism, batch size B, mean output
//! length O), the steady-state step decodes B sequences at a mean context of
//! `PROMPT + O/2` tokens and prefills the prompts of the B/O requests that replace those
//! finishing, `PROMPT` tokens each. The perf model gives that step's activity (achieved
//! shares of peak FLOPs and memory bandwidth); the power model turns activity into watts.
//! This program searches the weights `(w_c, w_m)` that minimise the squared relative error of
//! the predicted mean GPU power, per GPU, and prints every row.
//!
//! Run: `cargo run --release --example fit_gpu_power`

use fleetsim::catalog::{Catalog, Precision};
use fleetsim::facility::GpuPowerModel;
use fleetsim::perf_model::{Activity, DEFAULTS, Parallelism, PerfModel, ReplicaSetup, StepWork};
use fleetsim::units::Watts;

/// Mean prompt tokens of the lm-arena-chat requests: an assumption (the dataset card gives
/// no input lengths); chat turns with some history.
const PROMPT: f64 = 500.0;

struct Row {
    model: String,
    gpu: String,
    tp: u32,
    batch: f64,
    output_len: f64,
    power_per_gpu: f64,
    activity: Activity,
}

fn read_rows() -> Vec<Row> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/validation/mlenergy_v3_lm_arena_chat.csv"
    );
    let mut reader =
        csv::Reader::from_path(path).expect("the validation file is in the repository");
    let headers = reader.headers().expect("a header").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (model_c, gpu_c, tp_c) = (column("model"), column("gpu"), column("tensor_parallel"));
    let (batch_c, out_c, power_c) = (
        column("avg_batch_size"),
        column("avg_output_len"),
        column("avg_gpu_power_w"),
    );
    let catalog = Catalog::builtin();
    reader
        .records()
        .map(|record| {
            let r = record.expect("a well-formed row");
            let number = |i: usize| -> f64 { r[i].parse().expect("a number") };
            let model_id = if r[model_c].contains("70B") {
                "llama-3.1-70b"
            } else {
                "llama-3.1-8b"
            };
            let gpu_id = if &r[gpu_c] == "H100" {
                "h100-sxm"
            } else {
                "b200"
            };
            let tp = number(tp_c) as u32;
            let gpu = catalog.gpu(gpu_id).unwrap().clone();
            let setup = ReplicaSetup {
                model: catalog.model(model_id).unwrap().clone(),
                tensor_link: gpu.scale_up_link / 2.0,
                pipeline_link: gpu.scale_up_link / 2.0,
                gpu,
                weights: Precision::Bf16,
                kv_cache: Precision::Bf16,
                parallelism: Parallelism {
                    tensor: tp,
                    pipeline: 1,
                },
                efficiencies: DEFAULTS.efficiencies,
                overheads: DEFAULTS.overheads,
            };
            let perf = PerfModel::new(&setup);
            let (batch, output_len) = (number(batch_c), number(out_c));
            let mut work = StepWork::default();
            let context = (PROMPT + output_len / 2.0) as u64;
            for _ in 0..batch.round() as u64 {
                work.add_sequence(context, 1, true);
            }
            let prefill = (batch / output_len * PROMPT).round() as u64;
            if prefill > 0 {
                work.add_sequence(0, prefill, false);
            }
            let cost = perf.step(&work);
            Row {
                model: model_id.into(),
                gpu: gpu_id.into(),
                tp,
                batch,
                output_len,
                power_per_gpu: number(power_c) / f64::from(tp),
                activity: perf.activity(&cost, cost.time),
            }
        })
        .collect()
}

fn model_for(
    gpu: &str,
    floor_share: f64,
    compute_weight: f64,
    memory_weight: f64,
) -> GpuPowerModel {
    let g = Catalog::builtin().gpu(gpu).unwrap();
    GpuPowerModel {
        active_floor: Watts(g.idle_power.0.max(g.tdp.0 * floor_share)),
        compute_weight,
        memory_weight,
        ..GpuPowerModel::for_gpu(g)
    }
}

fn relative_errors(rows: &[&Row], power: &GpuPowerModel) -> Vec<f64> {
    rows.iter()
        .map(|r| (power.power(r.activity).0 - r.power_per_gpu) / r.power_per_gpu)
        .collect()
}

fn main() {
    let rows = read_rows();
    for gpu in ["h100-sxm", "b200"] {
        let subset: Vec<&Row> = rows.iter().filter(|r| r.gpu == gpu).collect();
        let mut best = (f64::MAX, 0.0, 0.0, 0.0);
        for f in 0..=50 {
            for c in 0..=100 {
                for m in 0..=100 {
                    let (floor, wc, wm) = (f as f64 / 50.0, c as f64 / 50.0, m as f64 / 50.0);
                    let sse: f64 = relative_errors(&subset, &model_for(gpu, floor, wc, wm))
                        .iter()
                        .map(|e| e * e)
                        .sum();
                    if sse < best.0 {
                        best = (sse, floor, wc, wm);
                    }
                }
            }
        }
        let (_, floor, wc, wm) = best;
        let power = model_for(gpu, floor, wc, wm);
        let errors = relative_errors(&subset, &power);
        let mut absolute: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
        absolute.sort_by(f64::total_cmp);
        println!(
            "\n{gpu}: floor {:.0} W ({floor:.2} of TDP), w_compute = {wc:.2}, w_memory = {wm:.2}",
            power.active_floor.0
        );
        println!(
            "  median |error| {:.1}%, worst {:.1}% over {} rows",
            absolute[absolute.len() / 2] * 100.0,
            absolute.last().unwrap() * 100.0,
            absolute.len()
        );
        println!("  model          tp  batch  out   u_c    u_m   measured W  predicted W  error");
        for (r, e) in subset.iter().zip(&errors) {
            println!(
                "  {:<14} {:>2} {:>6.0} {:>4.0} {:>5.3} {:>6.3} {:>11.0} {:>12.0} {:>+6.1}%",
                r.model,
                r.tp,
                r.batch,
                r.output_len,
                r.activity.compute,
                r.activity.memory,
                r.power_per_gpu,
                power.power(r.activity).0,
                e * 100.0
            );
        }
        let rms = (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt();
        println!("  rms error {:.1}%", rms * 100.0);
    }
}
