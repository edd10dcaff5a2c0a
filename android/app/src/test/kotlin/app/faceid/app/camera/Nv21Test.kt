package app.faceid.app.camera

import org.junit.Assert.assertArrayEquals
import org.junit.Test
import java.nio.ByteBuffer

class Nv21Test {
    @Test
    fun `padded rows and interleaved chroma planes repack as Y then VU`() {
        // 4x2 image, Y rows padded to 6 bytes; U and V share one buffer (pixel stride 2) the
        // way most camera HALs deliver them.
        val y = ByteBuffer.wrap(byteArrayOf(1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 0))
        val uv = byteArrayOf(10, 20, 11, 21)
        val u = ByteBuffer.wrap(uv)
        val v = ByteBuffer.wrap(uv, 1, 3).slice()
        val out = Nv21.fromYuv420(4, 2, Nv21.Plane(y, 6, 1), Nv21.Plane(u, 4, 2), Nv21.Plane(v, 4, 2))
        assertArrayEquals(byteArrayOf(1, 2, 3, 4, 5, 6, 7, 8, 20, 10, 21, 11), out)
    }
}
