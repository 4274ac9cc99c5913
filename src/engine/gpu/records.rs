//! Records: the diagnostics computed on the device (per agent, per run, a
//! bitonic sort for the median), kept there between readbacks and moved into the
//! history in one read.

use super::*;

/// The twin of `DiagParams` in shaders/diag_params.wgsl (layouts compared by a test).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct DiagParams {
    pub(super) runs: u32,
    pub(super) agents: u32,
    pub(super) pow2: u32,
    pub(super) ref_count: u32,
    pub(super) record_base: u32,
    pub(super) agent_offset: u32,
    pub(super) part_agents: u32,
    pub(super) _pad: u32,
}
const _: () = assert!(std::mem::size_of::<DiagParams>() == 32);

/// Records kept on the device between readbacks (each `runs x 5` f32).
pub(super) const RECORDS_CAP: u64 = 256;

/// A group's bind groups and grids for the per-run diagnostics (`diag_run`, the
/// sort, `diag_median`).
pub(super) struct GroupDiag {
    pub(super) run_bind: wgpu::BindGroup,
    pub(super) sort_bind: wgpu::BindGroup,
    pub(super) median_bind: wgpu::BindGroup,
    pub(super) run_grid: (u32, u32),
    pub(super) sort_grid: (u32, u32),
    pub(super) median_grid: (u32, u32),
    pub(super) pow2: u32,
}

/// The twin of `Stage` in shaders/sort_stage.wgsl (layouts compared by a test).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct SortStage {
    size: u32,
    stride: u32,
    _pad: [u32; 2],
}
const _: () = assert!(std::mem::size_of::<SortStage>() == 16);

/// The (size, stride) stages of a bitonic sort of `pow2` elements, in order.
pub(super) fn sort_stages(pow2: u64) -> Vec<SortStage> {
    let mut stages = Vec::new();
    let mut size = 2;
    while size <= pow2 {
        let mut stride = size / 2;
        while stride > 0 {
            stages.push(SortStage {
                size: size as u32,
                stride: stride as u32,
                _pad: [0; 2],
            });
            stride /= 2;
        }
        size *= 2;
    }
    stages
}

impl<P: Potential> GpuEngine<P> {
    /// Records `step` (the positions now). With device diagnostics the
    /// statistics are computed on the GPU and kept there until
    /// [`Self::flush_records`]; otherwise (a user's WGSL potential) on the host
    /// from the positions read back into `history`.
    pub(super) fn record_at(&mut self, step: u64, history: &mut History) -> Result<()> {
        let (runs, agents) = (self.shape.runs as u32, self.shape.agents as u32);
        if self.pipelines.diag.is_none() {
            let x = self.read_x()?;
            let s = self.shape;
            let stats = run_stats(&self.potential, &x, s.runs, s.agents, s.dim);
            history.push(step, stats, self.keep_snapshots.then_some(&x[..]));
            return Ok(());
        }
        if self.pending.len() as u64 == self.records_cap {
            self.flush_records(history)?;
        }
        let slot = self.pending.len() as u32;
        let ctx = self.ctx.clone();
        let Some(diag) = &self.pipelines.diag else {
            unreachable!("device diagnostics have their pipelines")
        };
        ctx.scoped(|| {
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            for group in &self.groups {
                let Some(d) = &group.diag else {
                    continue;
                };
                for part in &group.parts {
                    let Some((params, _, _)) = &part.diag_agent else {
                        continue;
                    };
                    let p = DiagParams {
                        runs: group.runs.len() as u32,
                        agents,
                        pow2: d.pow2,
                        ref_count: self.ref_count,
                        record_base: slot * runs + group.runs.start as u32,
                        agent_offset: part.group_offset as u32,
                        part_agents: part.agents as u32,
                        _pad: 0,
                    };
                    ctx.queue.write_buffer(params, 0, bytemuck::bytes_of(&p));
                }
                let mut pass = enc.begin_compute_pass(&Default::default());
                // The run means of the positions now, for the spread.
                self.encode_mean_partials(&mut pass, group);
                self.encode_mean_final(&mut pass, group);
                pass.set_pipeline(&diag[0].0);
                for part in &group.parts {
                    if let Some((_, b, g)) = &part.diag_agent {
                        pass.set_bind_group(0, b, &[]);
                        pass.dispatch_workgroups(g.0, g.1, 1);
                    }
                }
                pass.set_pipeline(&diag[1].0);
                pass.set_bind_group(0, &d.run_bind, &[]);
                pass.dispatch_workgroups(d.run_grid.0, d.run_grid.1, 1);
                pass.set_pipeline(&diag[2].0);
                for s in 0..self.pipelines.sort_stages {
                    pass.set_bind_group(0, &d.sort_bind, &[(s as u64 * PARAMS_STRIDE) as u32]);
                    pass.dispatch_workgroups(d.sort_grid.0, d.sort_grid.1, 1);
                }
                pass.set_pipeline(&diag[3].0);
                pass.set_bind_group(0, &d.median_bind, &[]);
                pass.dispatch_workgroups(d.median_grid.0, d.median_grid.1, 1);
            }
            ctx.queue.submit([enc.finish()]);
        })?;
        let snapshot = if self.keep_snapshots {
            Some(self.read_x()?)
        } else {
            None
        };
        self.pending.push((step, snapshot));
        Ok(())
    }

    /// Reads back the records kept on the device into the history.
    pub(super) fn flush_records(&mut self, history: &mut History) -> Result<()> {
        let Some(records) = &self.records else {
            return Ok(());
        };
        if self.pending.is_empty() {
            return Ok(());
        }
        let runs = self.shape.runs;
        let bytes = self
            .ctx
            .read_buffer(records, (self.pending.len() * runs * 5 * 4) as u64)?;
        let values: &[f32] = bytemuck::cast_slice(&bytes);
        for (i, (step, snapshot)) in std::mem::take(&mut self.pending).into_iter().enumerate() {
            let stats = (0..runs)
                .map(|r| {
                    let v = &values[(i * runs + r) * 5..(i * runs + r + 1) * 5];
                    RunStats {
                        best: v[0] as f64,
                        worst: v[1] as f64,
                        median: v[2] as f64,
                        best_phi: v[3] as f64,
                        spread: v[4] as f64,
                    }
                })
                .collect();
            history.push(step, stats, snapshot.as_deref());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{DiagParams, SortStage};
    use crate::gpu::shader::{assert_twin, twin_fields};

    #[test]
    fn diagnostic_blocks_match_their_wgsl_twins() {
        assert_twin::<DiagParams>(
            "diag_run",
            "DiagParams",
            twin_fields!(
                DiagParams: runs,
                agents,
                pow2,
                ref_count,
                record_base,
                agent_offset,
                part_agents
            ),
        );
        assert_twin::<SortStage>("sort_stage", "Stage", twin_fields!(SortStage: size, stride));
    }
}
