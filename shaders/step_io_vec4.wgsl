// How the block kernel reads and writes its agent's block of 4 coordinates of X
// and Y when d is a multiple of 4 (SGLD_SWARM_GPU_VEC4=1): the block is one
// aligned vec4, so a warp moves consecutive 16-byte elements with one access
// each, where step_io_scalar makes four strided 4-byte accesses. Both move the
// same values; the host composes this version only when 4 divides d.

@group(0) @binding(3) var<storage, read_write> xs_buf: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> ys_buf: array<vec4<f32>>;

fn load_x(g: u32, b: u32, d: u32) -> vec4<f32> {
    return xs_buf[g * (d / 4u) + b];
}

fn load_y(g: u32, b: u32, d: u32) -> vec4<f32> {
    return ys_buf[g * (d / 4u) + b];
}

fn store_x(g: u32, b: u32, d: u32, v: vec4<f32>) {
    xs_buf[g * (d / 4u) + b] = v;
}

fn store_y(g: u32, b: u32, d: u32, v: vec4<f32>) {
    ys_buf[g * (d / 4u) + b] = v;
}
