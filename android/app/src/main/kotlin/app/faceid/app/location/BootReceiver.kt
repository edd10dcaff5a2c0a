package app.faceid.app.location

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import app.faceid.app.FaceIdApplication

/** After a reboot or an app update: restart tracking, only if the employee switched it on. */
class BootReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (intent.action != Intent.ACTION_BOOT_COMPLETED && intent.action != Intent.ACTION_MY_PACKAGE_REPLACED) return
        if (FaceIdApplication.of(context).settings.trackingEnabled) LocationService.start(context)
    }
}
