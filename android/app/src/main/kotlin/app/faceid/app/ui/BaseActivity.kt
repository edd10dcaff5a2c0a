package app.faceid.app.ui

import android.app.Activity
import android.content.Context
import android.content.res.Configuration
import android.view.View
import android.widget.TextView
import app.faceid.app.FaceIdApplication
import app.faceid.app.R
import app.faceid.app.core.MainThreadSyncListener
import app.faceid.app.vm.StatusViewModel
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import java.util.Locale

/**
 * What every screen shares: the chosen language, a coroutine scope on the main thread that
 * ends with the screen, and the offline / queued indicator (view_status) when the layout has it.
 */
abstract class BaseActivity : Activity() {
    protected val scope: CoroutineScope = MainScope()
    protected val app: FaceIdApplication get() = FaceIdApplication.of(this)
    private var status: StatusViewModel? = null
    private var unsubscribe: (() -> Unit)? = null

    /** A view of this screen's layout (the layout declares it: missing is a bug). */
    protected fun <T : View> view(id: Int): T = requireNotNull(findViewById<T>(id)) { "no view ${resources.getResourceName(id)}" }

    override fun attachBaseContext(base: Context) {
        super.attachBaseContext(localized(base))
    }

    override fun onStart() {
        super.onStart()
        val network = findViewById<TextView?>(R.id.status_network) ?: return
        val queue = view<TextView>(R.id.status_queue)
        val client = runCatching { app.core.client() }.getOrNull() ?: return
        val vm = StatusViewModel(client).also { status = it }
        unsubscribe = vm.state.observe { s ->
            network.setText(if (s.online) R.string.status_online else R.string.status_offline)
            network.setTextColor(if (s.online) network.currentTextColor else getColor(R.color.offline))
            queue.text = if (s.queued > 0) getString(R.string.status_queued, s.queued.toInt()) else ""
            queue.visibility = if (s.queued > 0) View.VISIBLE else View.GONE
        }
        runCatching { vm.refresh() }
        app.core.startSync(MainThreadSyncListener(onState = { vm.onSync(it) }))
    }

    override fun onStop() {
        unsubscribe?.invoke()
        unsubscribe = null
        super.onStop()
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        val LANGUAGES = listOf("ru", "tg", "en")

        /** The context in the language chosen in the settings (the system's when none). */
        fun localized(base: Context): Context {
            val tag = base.getSharedPreferences("faceid.settings", MODE_PRIVATE).getString("language", null) ?: return base
            val config = Configuration(base.resources.configuration)
            config.setLocale(Locale.forLanguageTag(tag))
            return base.createConfigurationContext(config)
        }
    }
}
