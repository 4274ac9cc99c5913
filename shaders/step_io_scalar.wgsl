// How the block kernel reads and writes its agent's block of 4 coordinates of X
// and Y: one float at a time, for any d. Where d is a multiple of 4 and
// SGLD_SWARM_GPU_VEC4=1, the host composes step_io_vec4 instead, which moves
// the same values as one vec4.

@group(0) @binding(3) var<storage, read_write> xs_buf: array<f32>;
@group(0) @binding(4) var<storage, read_write> ys_buf: array<f32>;

// Coordinates 4b .. 4b + 3 of agent g, each below d; 0 past d.
fn load_x(g: u32, b: u32, d: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var w = 0u; w < 4u; w++) {
        if 4u * b + w < d {
            v[w] = xs_buf[g * d + 4u * b + w];
        }
    }
    return v;
}

fn load_y(g: u32, b: u32, d: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var w = 0u; w < 4u; w++) {
        if 4u * b + w < d {
            v[w] = ys_buf[g * d + 4u * b + w];
        }
    }
    return v;
}

// Stores the coordinates of the block that are below d.
fn store_x(g: u32, b: u32, d: u32, v: vec4<f32>) {
    for (var w = 0u; w < 4u; w++) {
        if 4u * b + w < d {
            xs_buf[g * d + 4u * b + w] = v[w];
        }
    }
}

fn store_y(g: u32, b: u32, d: u32, v: vec4<f32>) {
    for (var w = 0u; w < 4u; w++) {
        if 4u * b + w < d {
            ys_buf[g * d + 4u * b + w] = v[w];
        }
    }
}
