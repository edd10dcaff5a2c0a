package app.faceid.app

import android.net.ConnectivityManager
import app.faceid.app.core.NetworkMonitor
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(application = TestApplication::class, sdk = [35])
class NetworkTest {
    private val app: FaceIdApplication get() = RuntimeEnvironment.getApplication() as FaceIdApplication

    @Test
    fun `the connectivity callback reports the network back to the sync`() {
        val connectivity = shadowOf(app.getSystemService(ConnectivityManager::class.java))
        assertTrue("the application registers its callback", connectivity.networkCallbacks.isNotEmpty())
        var calls = 0
        val monitor = NetworkMonitor(app) { calls++ }
        val before = connectivity.networkCallbacks.toSet()
        monitor.start()
        val mine = connectivity.networkCallbacks - before
        assertEquals(1, mine.size)
        mine.single().onAvailable(org.robolectric.shadows.ShadowNetwork.newInstance(7))
        assertEquals(1, calls)
        monitor.stop()
        assertEquals(before, connectivity.networkCallbacks.toSet())
    }
}
