package app.faceid.app.camera

import java.nio.ByteBuffer

/**
 * Camera2's YUV_420_888 planes (any row / pixel stride) repacked as NV21, the layout the core
 * reads (`FrameFormat.NV21`: the Y plane, then interleaved V/U at half resolution).
 */
object Nv21 {
    class Plane(val buffer: ByteBuffer, val rowStride: Int, val pixelStride: Int)

    fun fromYuv420(width: Int, height: Int, y: Plane, u: Plane, v: Plane): ByteArray {
        val out = ByteArray(width * height * 3 / 2)
        var o = 0
        for (row in 0 until height) {
            val base = row * y.rowStride
            for (col in 0 until width) out[o++] = y.buffer.get(base + col * y.pixelStride)
        }
        for (row in 0 until height / 2) {
            for (col in 0 until width / 2) {
                out[o++] = v.buffer.get(row * v.rowStride + col * v.pixelStride)
                out[o++] = u.buffer.get(row * u.rowStride + col * u.pixelStride)
            }
        }
        return out
    }
}
