package app.faceid.app.story

import app.faceid.core.CameraFrame
import app.faceid.core.FrameFormat
import app.faceid.core.SecureStore
import org.junit.Assert.fail
import org.junit.Assume.assumeTrue
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.util.UUID
import java.util.concurrent.ConcurrentHashMap

/**
 * The real faceid-server tests/run.d/android.sh started (system properties faceid.server.url,
 * faceid.admin.login, faceid.admin.password, as for the bindings' tests), and plain HTTP as
 * its administrator for the setup the app has no screen for (sites, employees, texts, policy).
 */
class StoryServer private constructor(val url: String, val login: String, val password: String) {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    private val token: String by lazy {
        val device = """{"id":"${UUID.randomUUID()}","name":"admin web","platform":"android","app_version":"test"}"""
        val body = call("POST", "/api/v1/auth/login", """{"login":"$login","password":"$password","device":$device}""", null, 200)
        Regex(""""access_token"\s*:\s*"([^"]+)"""").find(body)!!.groupValues[1]
    }

    /** As the administrator; any other status than [expect] fails the test. */
    fun admin(method: String, path: String, json: String, expect: Int): String = call(method, path, json, token, expect)

    private fun call(method: String, path: String, json: String, bearer: String?, expect: Int): String {
        val request = HttpRequest.newBuilder(URI.create(url + path)).header("content-type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(json))
        bearer?.let { request.header("authorization", "Bearer $it") }
        val answer = http.send(request.build(), HttpResponse.BodyHandlers.ofString())
        if (answer.statusCode() != expect) fail("$method $path: ${answer.statusCode()} ${answer.body()}")
        return answer.body()
    }

    companion object {
        /** Skips without a configured server; fails when one is configured but does not answer. */
        fun require(): StoryServer {
            val url = System.getProperty("faceid.server.url").orEmpty().trimEnd('/')
            assumeTrue("SKIPPED: faceid.server.url not set (tests/run.d/android.sh with DATABASE_URL starts one)", url.isNotBlank())
            val server = StoryServer(url, System.getProperty("faceid.admin.login").orEmpty(), System.getProperty("faceid.admin.password").orEmpty())
            if (server.login.isBlank() || server.password.isBlank()) fail("faceid.server.url is set but the admin credentials are not")
            try {
                val health = server.http.send(HttpRequest.newBuilder(URI.create("$url/healthz")).build(), HttpResponse.BodyHandlers.ofString())
                if (health.statusCode() != 200) fail("$url/healthz answered ${health.statusCode()}")
            } catch (e: java.io.IOException) {
                fail("faceid.server.url=$url is set but unreachable: $e")
            }
            return server
        }

        fun idOf(json: String): String =
            Regex(""""id"\s*:\s*"([0-9a-fA-F-]{36})"""").find(json)?.groupValues?.get(1) ?: throw AssertionError("no id in $json")

        fun photo(relative: String): File {
            val file = File(System.getProperty("faceid.faces.dir").orEmpty(), relative)
            assumeTrue("SKIPPED: $file missing (../shared/faces)", file.isFile)
            return file
        }

        fun modelDir(): String {
            val dir = File(System.getProperty("faceid.model.dir").orEmpty())
            assumeTrue("SKIPPED: no face models in $dir", File(dir, "face_detection_yunet_2026may.onnx").isFile)
            return dir.path
        }

        /** A photo as the RGBA frame the camera path hands the capture. */
        fun frame(relative: String): CameraFrame {
            val img = javax.imageio.ImageIO.read(photo(relative))
            val bytes = ByteArray(img.width * img.height * 4)
            var i = 0
            for (y in 0 until img.height) for (x in 0 until img.width) {
                val argb = img.getRGB(x, y)
                bytes[i++] = (argb shr 16).toByte(); bytes[i++] = (argb shr 8).toByte(); bytes[i++] = argb.toByte(); bytes[i++] = -1
            }
            return CameraFrame(bytes, img.width.toUInt(), img.height.toUInt(), (img.width * 4).toUInt(), FrameFormat.RGBA8, 0u, System.currentTimeMillis().toULong())
        }
    }
}

/** The secrets the Keystore store would hold, in memory (the story runs on a plain JVM). */
class MemoryStore : SecureStore {
    private val map = ConcurrentHashMap<String, ByteArray>()
    override fun get(key: String): ByteArray? = map[key]
    override fun set(key: String, value: ByteArray) { map[key] = value }
    override fun delete(key: String) { map.remove(key) }
}
