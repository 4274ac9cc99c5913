//! A run split over ranks on the GPU (docs/DESIGN.md section 6.2). Each step
//! that interacts runs in two submits: the first writes this rank's tiles'
//! records of the run's targets (the plain mean's sums, or the weighted mean's
//! sums and `(c_t, W_t)`), which are read back, all-gathered, and every rank's
//! written in; the second adds every tile's records in tile order
//! (`mean_final`, `weighted_final`) and steps. Every rank adds the same f32
//! records in the same order, so the run's targets are the bits one process
//! computes. l1 needs every agent's place in every coordinate: the run's
//! positions are gathered instead, its sign sums computed on every rank, and
//! this rank's agents' copied out for the step.

use super::*;
use crate::engine::SplitRun;

/// The buffers of a group that a split run exchanges through.
pub(super) struct ExchangeBuffers {
    /// The plain mean's tile sums, `[runs * dim][tiles]`.
    pub(super) partial: wgpu::Buffer,
    /// l1: the run's positions, gathered.
    pub(super) run_x: Option<wgpu::Buffer>,
    /// What the targets' second pass writes (l1: the whole run's sign sums).
    pub(super) target: wgpu::Buffer,
    /// What the step kernels read (l1: this rank's agents' sign sums).
    pub(super) step_target: wgpu::Buffer,
}

/// What a split run's ranks exchange every step.
enum Records {
    /// `mean_partial`'s sums, `[dim][tiles]`.
    Mean { partial: wgpu::Buffer },
    /// `weighted_partial`'s sums `[dim][tiles]` and `(c_t, W_t)` `[tiles][2]`.
    Weighted {
        partial: wgpu::Buffer,
        tile_stats: wgpu::Buffer,
    },
    /// The run's positions, and where its sign sums go.
    L1 {
        run_x: wgpu::Buffer,
        signs: wgpu::Buffer,
        own: wgpu::Buffer,
    },
}

/// A part of one run on this engine, its other parts on other ranks.
pub(super) struct Exchange {
    run: SplitRun,
    records: Records,
    /// The run's tiles, and this engine's first tile and tile count.
    tiles: usize,
    first_tile: usize,
    own_tiles: usize,
}

impl Exchange {
    /// The exchange of `run` (held by an engine of `shape`, one run of its
    /// agents) through `buffers` and the group's `targets`.
    pub(super) fn new(
        run: SplitRun,
        buffers: ExchangeBuffers,
        targets: &GroupTargets,
        shape: Shape,
    ) -> Self {
        let records = match (targets, buffers.run_x) {
            (GroupTargets::Weighted { records, .. }, _) => Records::Weighted {
                partial: records.0.clone(),
                tile_stats: records.1.clone(),
            },
            (GroupTargets::L1 { .. }, Some(run_x)) => Records::L1 {
                run_x,
                signs: buffers.target,
                own: buffers.step_target,
            },
            _ => Records::Mean {
                partial: buffers.partial,
            },
        };
        Self {
            tiles: run.run_agents.div_ceil(TILE),
            first_tile: run.first_agent_in_run / TILE,
            own_tiles: shape.agents.div_ceil(TILE),
            run,
            records,
        }
    }

    /// Every rank's records of the run's tiles, each `record` values long,
    /// in tile order: this rank's `own` (`[own tiles][record]`) gathered, and
    /// the run's picked out of every run's.
    fn gather(&self, own: &[f32], record: usize) -> Vec<f32> {
        let all = self.run.ranks.all_gather_f32(own);
        let run = self.run.run * self.tiles * record;
        all[run..run + self.tiles * record].to_vec()
    }
}

impl<P: Potential> GpuEngine<P> {
    /// Dispatches `0..n` of the parameters written for this batch, each
    /// exchanging the run's targets' records with the other ranks.
    pub(super) fn exchanging_batch(&self, n: usize) -> Result<()> {
        let Some(exchange) = &self.exchange else {
            unreachable!("only a split run exchanges");
        };
        let ctx = self.ctx.clone();
        let group = &self.groups[0];
        let l1 = matches!(exchange.records, Records::L1 { .. });
        // A failed submit is agreed with the next readback, so that no rank
        // leaves the exchange while the others wait in it; the last step's
        // is returned, and the segment's report agrees it.
        let mut stepped: Result<()> = Ok(());
        for i in 0..n {
            let recorded = stepped.and_then(|()| {
                if l1 {
                    return Ok(());
                }
                ctx.scoped(|| {
                    let mut enc = ctx.device.create_command_encoder(&Default::default());
                    {
                        let mut pass = enc.begin_compute_pass(&Default::default());
                        self.encode_tile_records(&mut pass, group, i);
                    }
                    ctx.queue.submit([enc.finish()]);
                })
                .map_err(Error::Gpu)
            });
            self.exchange_records(exchange, recorded)?;
            stepped = ctx
                .scoped(|| {
                    let mut enc = ctx.device.create_command_encoder(&Default::default());
                    {
                        let mut pass = enc.begin_compute_pass(&Default::default());
                        self.encode_targets_from_records(&mut pass, group);
                    }
                    if let Records::L1 { signs, own, .. } = &exchange.records {
                        let d = self.shape.dim as u64;
                        enc.copy_buffer_to_buffer(
                            signs,
                            exchange.run.first_agent_in_run as u64 * d * 4,
                            own,
                            0,
                            self.shape.agents as u64 * d * 4,
                        );
                    }
                    {
                        let mut pass = enc.begin_compute_pass(&Default::default());
                        self.encode_step(&mut pass, group, i);
                    }
                    ctx.queue.submit([enc.finish()]);
                })
                .map_err(Error::Gpu);
        }
        stepped
    }

    /// Reads this rank's records back (agreed, with `recorded`, how the
    /// submit that wrote them went: a rank that failed ends every rank at this
    /// step, none waits in the gather), gathers every rank's, and writes the
    /// run's into the buffers the second pass reads.
    fn exchange_records(&self, exchange: &Exchange, recorded: Result<()>) -> Result<()> {
        let ranks = &exchange.run.ranks;
        let (d, tiles) = (self.shape.dim, exchange.tiles);
        let own_tiles = exchange.first_tile..exchange.first_tile + exchange.own_tiles;
        let read = |buffer: &wgpu::Buffer, values: usize| -> Result<Vec<f32>> {
            let bytes = self.ctx.read_buffer(buffer, values as u64 * 4)?;
            Ok(bytemuck::cast_slice(&bytes).to_vec())
        };
        match &exchange.records {
            Records::Mean { partial } => {
                // [dim][tiles] on the device; [tile][dim] on the wire.
                let sums = ranks.agree(recorded.and_then(|()| read(partial, d * tiles)))?;
                let own: Vec<f32> = own_tiles
                    .flat_map(|t| (0..d).map(move |k| (k, t)))
                    .map(|(k, t)| sums[k * tiles + t])
                    .collect();
                let run = exchange.gather(&own, d);
                let mut sums = vec![0.0f32; d * tiles];
                for (t, record) in run.chunks_exact(d).enumerate() {
                    for (k, &v) in record.iter().enumerate() {
                        sums[k * tiles + t] = v;
                    }
                }
                self.ctx
                    .queue
                    .write_buffer(partial, 0, bytemuck::cast_slice(&sums));
            }
            Records::Weighted {
                partial,
                tile_stats,
            } => {
                // A tile's record on the wire: c_t, W_t, then its d sums.
                let both = recorded
                    .and_then(|()| Ok((read(partial, d * tiles)?, read(tile_stats, 2 * tiles)?)));
                let (sums, stats) = ranks.agree(both)?;
                let own: Vec<f32> = own_tiles
                    .flat_map(|t| {
                        let sums = &sums;
                        [stats[2 * t], stats[2 * t + 1]]
                            .into_iter()
                            .chain((0..d).map(move |k| sums[k * tiles + t]))
                    })
                    .collect();
                let run = exchange.gather(&own, d + 2);
                let (mut sums, mut stats) = (vec![0.0f32; d * tiles], vec![0.0f32; 2 * tiles]);
                for (t, record) in run.chunks_exact(d + 2).enumerate() {
                    stats[2 * t..2 * t + 2].copy_from_slice(&record[..2]);
                    for (k, &v) in record[2..].iter().enumerate() {
                        sums[k * tiles + t] = v;
                    }
                }
                self.ctx
                    .queue
                    .write_buffer(partial, 0, bytemuck::cast_slice(&sums));
                self.ctx
                    .queue
                    .write_buffer(tile_stats, 0, bytemuck::cast_slice(&stats));
            }
            Records::L1 { run_x, .. } => {
                let x = ranks.agree(recorded.and_then(|()| self.read_x()))?;
                let all = ranks.all_gather_f32(&x);
                let n = exchange.run.run_agents * d;
                let run = exchange.run.run * n;
                self.ctx
                    .queue
                    .write_buffer(run_x, 0, bytemuck::cast_slice(&all[run..run + n]));
            }
        }
        Ok(())
    }
}
