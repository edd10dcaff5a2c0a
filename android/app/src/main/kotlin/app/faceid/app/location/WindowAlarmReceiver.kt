package app.faceid.app.location

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import app.faceid.app.FaceIdApplication

/** The alarm at the start of the next tracking window. */
class WindowAlarmReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (FaceIdApplication.of(context).settings.trackingEnabled) LocationService.start(context)
    }
}
