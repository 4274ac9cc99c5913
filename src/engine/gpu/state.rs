//! The state read back and written: X and Y, part by part (every part holds
//! consecutive agents, so the parts' buffers concatenate to the engines' layout).

use super::*;

impl<P: Potential> GpuEngine<P> {
    /// X, part by part.
    pub(super) fn read_x(&self) -> Result<Vec<f32>> {
        let d = self.shape.dim;
        let mut x = Vec::with_capacity(self.shape.runs * self.shape.agents * d);
        for part in self.groups.iter().flat_map(|g| &g.parts) {
            debug_assert_eq!(x.len(), part.agent_base as usize * d);
            let bytes = self
                .ctx
                .read_buffer(&part.x, (part.agents * d * 4) as u64)?;
            x.extend_from_slice(bytemuck::cast_slice(&bytes));
        }
        Ok(x)
    }

    /// Y, part by part, or `None` without a homogenized scheme.
    pub(super) fn read_y(&self) -> Result<Option<Vec<f32>>> {
        if !self.consts.homogenized {
            return Ok(None);
        }
        let d = self.shape.dim;
        let mut y = Vec::with_capacity(self.shape.runs * self.shape.agents * d);
        for part in self.groups.iter().flat_map(|g| &g.parts) {
            if let Some(buf) = &part.y {
                let bytes = self.ctx.read_buffer(buf, (part.agents * d * 4) as u64)?;
                y.extend_from_slice(bytemuck::cast_slice(&bytes));
            }
        }
        Ok(Some(y))
    }

    /// Writes X (and Y, `X` when `None`) into every part's buffers.
    pub(super) fn write_state(&self, x: &[f32], y: Option<&[f32]>) {
        let d = self.shape.dim;
        for part in self.groups.iter().flat_map(|g| &g.parts) {
            let range = part.agent_base as usize * d..(part.agent_base as usize + part.agents) * d;
            self.ctx
                .queue
                .write_buffer(&part.x, 0, bytemuck::cast_slice(&x[range.clone()]));
            if let Some(buf) = &part.y {
                let y = y.unwrap_or(x);
                self.ctx
                    .queue
                    .write_buffer(buf, 0, bytemuck::cast_slice(&y[range]));
            }
        }
    }
}
