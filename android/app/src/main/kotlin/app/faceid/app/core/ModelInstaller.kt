package app.faceid.app.core

import android.content.Context
import java.io.File
import java.io.FileNotFoundException
import java.io.InputStream
import java.security.MessageDigest

/**
 * Installs the face models shipped in the APK (`assets/models/`, listed with their SHA-256 and
 * size in `assets/models/manifest.tsv`, both written by the build from `models/manifest.toml`)
 * into the app's `files/models`, where the check-in and kiosk screens load them. A file already
 * there with the right size and hash is left alone; anything else is copied to a temporary
 * name, verified and only then renamed into place, so a fresh install needs no manual copy and
 * an interrupted one never leaves a bad model under a model's name.
 */
class ModelInstaller(private val dest: File, private val open: (String) -> InputStream?) {
    /** One line of the manifest: file name, lower-case hex SHA-256, size in bytes. */
    data class Entry(val file: String, val sha256: String, val bytes: Long)

    /** What [install] did. */
    data class Result(val installed: List<String>, val present: List<String>, val failed: Map<String, String>)

    fun manifest(): List<Entry> {
        val text = open(MANIFEST)?.use { it.readBytes().toString(Charsets.UTF_8) } ?: return emptyList()
        return text.lineSequence().map { it.trim() }.filter { it.isNotEmpty() && !it.startsWith("#") }.map { line ->
            val (file, sha, bytes) = line.split('\t').also { require(it.size == 3) { "bad manifest line: $line" } }
            require(!file.contains('/') && !file.startsWith(".")) { "bad file name: $file" }
            Entry(file, sha.lowercase(), bytes.toLong())
        }.toList()
    }

    fun install(): Result {
        dest.mkdirs()
        val installed = mutableListOf<String>()
        val present = mutableListOf<String>()
        val failed = mutableMapOf<String, String>()
        for (e in manifest()) {
            val target = File(dest, e.file)
            if (target.length() == e.bytes && sha256(target.inputStream()) == e.sha256) {
                present += e.file
                continue
            }
            val temp = File(dest, ".${e.file}.part")
            try {
                val input = open("$DIR/${e.file}") ?: throw FileNotFoundException("$DIR/${e.file}")
                input.use { src -> temp.outputStream().use { src.copyTo(it) } }
                val actual = sha256(temp.inputStream())
                check(temp.length() == e.bytes && actual == e.sha256) {
                    "expected ${e.sha256} (${e.bytes} bytes), got $actual (${temp.length()} bytes)"
                }
                check(temp.renameTo(target)) { "cannot rename into $target" }
                installed += e.file
            } catch (x: Exception) {
                temp.delete()
                failed[e.file] = x.message ?: x.toString()
            }
        }
        return Result(installed, present, failed)
    }

    companion object {
        const val DIR = "models"
        const val MANIFEST = "$DIR/manifest.tsv"

        /** The app's installer: from the APK's assets into `files/models`. */
        fun of(context: Context): ModelInstaller = ModelInstaller(File(context.filesDir, DIR)) { name ->
            try {
                context.assets.open(name)
            } catch (e: java.io.IOException) {
                null
            }
        }

        fun sha256(input: InputStream): String = input.use { s ->
            val digest = MessageDigest.getInstance("SHA-256")
            val buffer = ByteArray(64 * 1024)
            while (true) {
                val n = s.read(buffer)
                if (n < 0) break
                digest.update(buffer, 0, n)
            }
            digest.digest().joinToString("") { "%02x".format(it) }
        }
    }
}
