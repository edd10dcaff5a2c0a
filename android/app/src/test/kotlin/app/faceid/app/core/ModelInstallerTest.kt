package app.faceid.app.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.ByteArrayInputStream
import java.nio.file.Files

/** The shipped models reach files/models verified, once, and a bad copy never lands under a model's name. */
class ModelInstallerTest {
    private fun sha(bytes: ByteArray) = ModelInstaller.sha256(ByteArrayInputStream(bytes))

    @Test
    fun `installs verified models once, replaces a corrupt copy and refuses a bad asset`() {
        val good = "weights of a detector".toByteArray()
        val other = ByteArray(100_000) { (it % 251).toByte() }
        val assets = mutableMapOf(
            "models/det.onnx" to good,
            "models/emb.onnx" to other,
            "models/manifest.tsv" to ("# file sha256 bytes\n" +
                "det.onnx\t${sha(good)}\t${good.size}\nemb.onnx\t${sha(other)}\t${other.size}\n").toByteArray(),
        )
        val dir = Files.createTempDirectory("models").toFile()
        val installer = ModelInstaller(dir) { name -> assets[name]?.let(::ByteArrayInputStream) }

        val first = installer.install()
        assertEquals(listOf("det.onnx", "emb.onnx"), first.installed)
        assertTrue(first.failed.isEmpty())
        assertTrue(dir.resolve("emb.onnx").readBytes().contentEquals(other))

        assertEquals(listOf("det.onnx", "emb.onnx"), installer.install().present)

        dir.resolve("det.onnx").writeText("truncated")
        assertEquals(listOf("det.onnx"), installer.install().installed)
        assertTrue(dir.resolve("det.onnx").readBytes().contentEquals(good))

        // An APK whose asset does not match its manifest: nothing installed under that name.
        dir.resolve("emb.onnx").delete()
        assets["models/emb.onnx"] = other.copyOf(99_999)
        val bad = installer.install()
        assertTrue(bad.failed.getValue("emb.onnx"), bad.failed.getValue("emb.onnx").startsWith("expected ${sha(other)}"))
        assertFalse(dir.resolve("emb.onnx").exists())
        assertTrue("no temporary file left", dir.listFiles()!!.none { it.name.endsWith(".part") })
    }

    @Test
    fun `an APK without models installs nothing`() {
        val dir = Files.createTempDirectory("models").toFile()
        val r = ModelInstaller(dir) { null }.install()
        assertTrue(r.installed.isEmpty() && r.failed.isEmpty())
    }
}
