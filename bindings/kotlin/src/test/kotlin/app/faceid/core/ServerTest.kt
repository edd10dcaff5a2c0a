package app.faceid.core

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.CopyOnWriteArrayList

/** The client against the real faceid-server the harness started on loopback. */
class ServerTest {
    private val refreshToken = Regex(""""refresh_token"\s*:\s*"([^"]+)"""")

    @Test
    fun `login stores the tokens in the Kotlin SecureStore`(): Unit = runBlocking {
        val server = TestServer.require()
        val store = MapSecureStore()
        newClient(server.url, store).use { client ->
            assertNull(client.currentUser())
            val user = client.login(server.login, server.password)
            assertEquals(server.login, user.login)
            assertEquals(UserRole.ADMIN, user.role)
            val saved = store.text("session").orEmpty()
            assertNotNull(refreshToken.find(saved), "the refresh token is in the Kotlin map: $saved")
            assertEquals(user, client.currentUser())
        }
        // Another client over the same store is logged in without a password.
        newClient(server.url, store).use { assertTrue(it.isLoggedIn()) }
    }

    @Test
    fun `wrong password is FaceIdException Unauthorized`() {
        val server = TestServer.require()
        newClient(server.url, MapSecureStore()).use { client ->
            val e = assertThrows<FaceIdException.Unauthorized> {
                runBlocking { client.login(server.login, server.password + "x") }
            }
            assertTrue(e.reason.contains("invalid_credentials"), e.reason)
            assertFalse(runBlocking { client.isLoggedIn() })
        }
    }

    @Test
    fun `session expired listener fires after the refresh family is revoked`(): Unit = runBlocking {
        val server = TestServer.require()
        val store = MapSecureStore()
        newClient(server.url, store).use { client ->
            val expired = CompletableDeferred<String>()
            client.setSessionExpiredListener(object : SessionExpiredListener {
                override fun onSessionExpired(employeeId: String) {
                    expired.complete(employeeId)
                }
            })
            val user = client.login(server.login, server.password)
            val stolen = refreshToken.find(store.text("session")!!)!!.groupValues[1]
            // Someone else uses the refresh token twice: the server takes the reuse as theft
            // and revokes the whole family, this client's session included.
            val body = """{"refresh_token":"$stolen"}"""
            assertEquals(200, server.post("/api/v1/auth/refresh", body).statusCode())
            assertEquals(401, server.post("/api/v1/auth/refresh", body).statusCode())

            assertThrows<FaceIdException.SessionExpired> { runBlocking { client.currentUser() } }
            assertEquals(user.id, withTimeout(5_000) { expired.await() })
            assertNull(store.text("session"), "the ended session is deleted from the store")
            assertFalse(client.isLoggedIn())
        }
    }

    @Test
    fun `a sync subscription stops on cancel and when closed`(): Unit = runBlocking {
        val server = TestServer.require()
        newClient(server.url, MapSecureStore()).use { client ->
            client.login(server.login, server.password)
            val first = Recorder()
            val handle = client.startSync(first, 3600u)
            first.await(SyncStatus.Idle)
            handle.cancel()
            assertTrue(handle.isCancelled())
            first.await(SyncStatus.Stopped)
            handle.close()

            val second = Recorder()
            client.startSync(second, 3600u).use { second.await(SyncStatus.Idle) }
            second.await(SyncStatus.Stopped)
            assertEquals(SyncStatus.Stopped, second.states.last())
        }
    }

    @Test
    fun `outbox status counts a consent queued for the next sync`(): Unit = runBlocking {
        val server = TestServer.require()
        newClient(server.url, MapSecureStore()).use { client ->
            assertThrows<FaceIdException.SessionExpired> { client.outboxStatus() }
            client.login(server.login, server.password)
            client.grantConsent(ConsentType.LOCATION)
            val status = client.outboxStatus()
            assertEquals(1uL, status.consent)
            assertEquals(0uL, status.punch)
            assertTrue(status.deadLetters.isEmpty())
        }
    }

    private class Recorder : SyncStateListener {
        val states = CopyOnWriteArrayList<SyncStatus>()
        override fun onState(state: SyncStatus) {
            states.add(state)
        }
        override fun onProgress(progress: SyncProgressInfo) {}

        suspend fun await(state: SyncStatus) = withTimeout(10_000) {
            while (state !in states) kotlinx.coroutines.delay(20)
        }
    }
}
