package app.faceid.core

import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Assumptions.assumeTrue
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.time.Duration
import java.util.UUID
import java.util.concurrent.ConcurrentHashMap

/** What an app's Keystore-backed store does, in memory: the map is what Rust wrote through it. */
class MapSecureStore : SecureStore {
    val map = ConcurrentHashMap<String, ByteArray>()
    @Volatile var failWith: FaceIdException? = null

    override fun get(key: String): ByteArray? {
        failWith?.let { throw it }
        return map[key]
    }

    override fun set(key: String, value: ByteArray) {
        failWith?.let { throw it }
        map[key] = value
    }

    override fun delete(key: String) {
        failWith?.let { throw it }
        map.remove(key)
    }

    fun text(key: String): String? = map[key]?.toString(Charsets.UTF_8)
}

fun testDevice() = DeviceDescription(
    id = UUID.randomUUID().toString(),
    name = "JVM test device",
    platform = DevicePlatform.ANDROID,
    appVersion = "1.0.0-test",
)

fun newClient(url: String, store: SecureStore): FaceIdClient =
    FaceIdClient(url, Files.createTempDirectory("faceid-state").toString(), testDevice(), store)

private val firstId = Regex(""""id"\s*:\s*"([0-9a-fA-F-]{36})"""")
private val accessToken = Regex(""""access_token"\s*:\s*"([^"]+)"""")

/** The `id` of a created resource (the first field of the server's answer). */
fun idOf(json: String): String = firstId.find(json)?.groupValues?.get(1) ?: fail("no id in $json")

/**
 * Plain HTTP as the administrator, for the setup the app has no function for (sites,
 * employees, consent texts, the attendance policy): what the web admin would do.
 */
class AdminHttp(private val server: TestServer) {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
    private val token: String by lazy {
        val device = """{"id":"${UUID.randomUUID()}","name":"admin web","platform":"android","app_version":"test"}"""
        val answer = server.post(
            "/api/v1/auth/login",
            """{"login":"${server.login}","password":"${server.password}","device":$device}""",
        )
        check(answer.statusCode() == 200) { "admin login: ${answer.statusCode()} ${answer.body()}" }
        accessToken.find(answer.body())!!.groupValues[1]
    }

    /** Sends `json` and returns the body; any status but [expect] fails the test. */
    fun send(method: String, path: String, json: String, expect: Int): String {
        val answer = http.send(
            HttpRequest.newBuilder(URI.create(server.url + path))
                .header("content-type", "application/json")
                .header("authorization", "Bearer $token")
                .method(method, HttpRequest.BodyPublishers.ofString(json))
                .build(),
            HttpResponse.BodyHandlers.ofString(),
        )
        if (answer.statusCode() != expect) fail<Unit>("$method $path: ${answer.statusCode()} ${answer.body()}")
        return answer.body()
    }
}

/** The backend tests/run.d/bindings.sh started, with its administrator. */
data class TestServer(val url: String, val login: String, val password: String) {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    fun post(path: String, json: String): HttpResponse<String> = http.send(
        HttpRequest.newBuilder(URI.create(url + path))
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build(),
        HttpResponse.BodyHandlers.ofString(),
    )

    companion object {
        /**
         * Skips the test when no server was configured; FAILS it when one was configured but
         * does not answer (a broken harness must not look like a green run).
         */
        fun require(): TestServer {
            val url = System.getProperty("faceid.server.url").orEmpty()
            assumeTrue(url.isNotBlank()) {
                "faceid.server.url not set: run tests/run.d/bindings.sh (with DATABASE_URL) for the server tests"
            }
            val login = System.getProperty("faceid.admin.login").orEmpty()
            val password = System.getProperty("faceid.admin.password").orEmpty()
            if (login.isBlank() || password.isBlank()) {
                fail<Unit>("faceid.server.url is set but faceid.admin.login / faceid.admin.password are not")
            }
            val server = TestServer(url.trimEnd('/'), login, password)
            try {
                val answer = server.http.send(
                    HttpRequest.newBuilder(URI.create("${server.url}/healthz")).GET().build(),
                    HttpResponse.BodyHandlers.ofString(),
                )
                if (answer.statusCode() != 200) fail<Unit>("$url/healthz answered ${answer.statusCode()}")
            } catch (e: java.io.IOException) {
                fail<Unit>("faceid.server.url=$url is set but unreachable: $e")
            }
            return server
        }
    }
}
